#!/usr/bin/env python3
"""Write captures/tshark-follow.tsv and captures/tshark-smtp.tsv from the real captures.

Follow bytes come from `tshark -q -z follow,tcp,raw,N` (lines indented with a tab are
data sent by "Node 1", the others by "Node 0"); they are cross-checked against the sum of
tcp.len of non-retransmitted segments per direction.  The client is the SYN sender.
Usage: make_tsv.py [CAPTURES_DIR]
"""
import collections
import os
import subprocess
import sys

DIR = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                      os.path.join(os.path.dirname(__file__), ".."))
# real captures and the SMTP port used for -d tcp.port==P,smtp
CAPTURES = [
    ("postfix-plain-delivery.pcap", 2525),
    ("postfix-rset-multi-transaction.pcap", 2525),
    ("postfix-rcpt-rejected.pcap", 2525),
    ("postfix-pipelining.pcap", 2525),
    ("postfix-starttls.pcap", 2525),
    ("aiosmtpd-auth-plain.pcap", 2587),
    ("aiosmtpd-auth-login.pcap", 2587),
    ("aiosmtpd-auth-failed.pcap", 2587),
    ("postfix-bdat.pcap", 2525),
    ("postfix-utf8-subject.pcap", 2525),
    ("postfix-attachment.pcap", 2525),
    ("postfix-ipv6.pcap", 2525),
    ("tour.pcap", 2526),
    ("sll2-any-interface.pcap", 2525),
    ("sll-any-interface.pcap", 2525),
]
FOLLOW_CMD = "tshark -r FILE -q -z follow,tcp,raw,N"
SMTP_FIELDS = ["frame.number", "tcp.stream", "smtp.req.command", "smtp.req.parameter",
               "smtp.response.code"]
SMTP_CMD = ("tshark -r FILE -d tcp.port==P,smtp -Y smtp -T fields "
            + " ".join("-e " + f for f in SMTP_FIELDS))


def tshark(*args):
    return subprocess.run(["tshark", *args], check=True, capture_output=True,
                          text=True).stdout


def endpoint(ip, port):
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def follow(path, stream):
    out = tshark("-r", path, "-q", "-z", f"follow,tcp,raw,{stream}")
    nodes, counts = {}, [0, 0]
    for line in out.splitlines():
        if line.startswith("Node "):
            n, addr = line[5], line.split(": ", 1)[1]
            host, port = addr.rsplit(":", 1)
            nodes[int(n)] = endpoint(host.strip("[]"), port)
        elif line.startswith("\t") and line.strip():
            counts[1] += len(line.strip()) // 2
        elif line and all(c in "0123456789abcdef" for c in line):
            counts[0] += len(line) // 2
    return nodes, counts


def segment_sums(path):
    """stream -> (client endpoint, server endpoint, {src endpoint: bytes})"""
    out = tshark("-r", path, "-Y", "!tcp.analysis.retransmission", "-T", "fields",
                 "-E", "separator=\t", "-e", "tcp.stream", "-e", "ip.src", "-e", "ipv6.src",
                 "-e", "tcp.srcport", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "tcp.dstport",
                 "-e", "tcp.len", "-e", "tcp.flags.syn", "-e", "tcp.flags.ack")
    info = {}
    for line in out.splitlines():
        s, ip4, ip6, sp, dip4, dip6, dp, ln, syn, ack = line.split("\t")
        src, dst = endpoint(ip4 or ip6, sp), endpoint(dip4 or dip6, dp)
        st = info.setdefault(int(s), [None, None, collections.Counter()])
        st[2][src] += int(ln or 0)
        if syn in ("1", "True") and ack in ("0", "False"):
            st[0], st[1] = src, dst
    return info


def main():
    rows_f, rows_s = [], []
    for name, port in CAPTURES:
        path = os.path.join(DIR, name)
        for stream, (client, server, sums) in sorted(segment_sums(path).items()):
            assert client, f"{name}: stream {stream} has no SYN"
            nodes, counts = follow(path, stream)
            by_ep = {nodes[0]: counts[0], nodes[1]: counts[1]}
            assert set(by_ep) == {client, server}, (name, nodes, client, server)
            c2s, s2c = by_ep[client], by_ep[server]
            assert (c2s, s2c) == (sums[client], sums[server]), (name, stream, by_ep, sums)
            rows_f.append([name, stream, client, server, c2s, s2c])
        out = tshark("-r", path, "-d", f"tcp.port=={port},smtp", "-Y", "smtp", "-T",
                     "fields", "-E", "separator=\t", *sum((["-e", f] for f in SMTP_FIELDS), []))
        for line in out.splitlines():
            rows_s.append([name, *line.split("\t")])
    with open(os.path.join(DIR, "tshark-follow.tsv"), "w") as f:
        f.write(f"# {FOLLOW_CMD}   (tshark 4.0.17; N = each tcp.stream; bytes = hex digits / 2;"
                " tab-indented lines = Node 1; cross-checked with the sum of tcp.len of"
                " !tcp.analysis.retransmission segments per direction)\n")
        f.write("file\tstream\tclient\tserver\tclient_to_server_bytes\tserver_to_client_bytes\n")
        for r in rows_f:
            f.write("\t".join(map(str, r)) + "\n")
    with open(os.path.join(DIR, "tshark-smtp.tsv"), "w") as f:
        f.write(f"# {SMTP_CMD} -E separator=/t   (tshark 4.0.17; P = 2525, 2526 for tour.pcap,"
                " 2587 for aiosmtpd-*; a cross-check, not truth: tshark's SMTP dissector view)\n")
        f.write("file\tframe\tstream\tcommand\tparameter\tresponse_code\n")
        for r in rows_s:
            f.write("\t".join(r) + "\n")
    print(f"{len(rows_f)} streams, {len(rows_s)} smtp rows")


if __name__ == "__main__":
    main()
