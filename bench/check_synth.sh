#!/usr/bin/env bash
# Cross-check a capture written by `examples/synth` against its ground truth
# with tshark, an independent decoder.
#
#   bench/check_synth.sh FILE [TRUTH]      (TRUTH defaults to FILE.truth.json)
#
# Meant for small captures (say --bytes 20M): tshark keeps per-stream state
# and is slow on a gigabyte. Exits non-zero if a hard check fails.
#
# Hard checks: frame, SYN, IPv6 and UDP counts equal the truth; every TCP
# direction's bytes cover its sequence space with no hole (no data lost).
# tshark flags each out-of-order segment's predecessor as "previous segment
# not captured" at the moment it jumps ahead, so lost_segment is expected to
# be about the number of swaps, not zero: the hole check is what proves that
# nothing is missing.
# Informational: tshark's SMTP counts. Wireshark's SMTP dissector loses track
# of a session after BDAT chunks, so its MAIL/RCPT counts run a little low.
set -euo pipefail

file=${1:?usage: bench/check_synth.sh FILE [TRUTH]}
truth=${2:-$file.truth.json}
for tool in tshark python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "missing $tool: apt-get install tshark python3" >&2
        exit 2
    fi
done
[[ -r $truth ]] || { echo "no ground truth at $truth" >&2; exit 2; }

fields=(frame.number tcp.stream tcp.srcport tcp.dstport tcp.seq tcp.len
    tcp.flags.syn tcp.flags.ack tcp.flags.fin tcp.flags.reset ipv6.src udp.srcport
    tcp.analysis.lost_segment tcp.analysis.out_of_order tcp.analysis.retransmission
    smtp.req.command smtp.response.code smtp.rsp.parameter)
args=()
for f in "${fields[@]}"; do args+=(-e "$f"); done

tshark -r "$file" -d tcp.port==2525,smtp -T fields -E occurrence=f -E separator=/t \
    "${args[@]}" 2>/dev/null |
    python3 -c '
import json, sys
truth = json.load(open(sys.argv[1]))
SMTP = {25, 587, 2525}
n = 0
syn_smtp = syn_other = syn_smtp6 = udp = 0
lost = ooo = retx = 0
mail = rcpt = queued = 0
segs = {}   # (stream, srcport) -> list of (seq, end)
fin_at = {}
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    (frame, stream, sport, dport, seq, ln, syn, ack, fin, rst, ip6, usport,
     lo, oo, re, cmd, code, param) = f
    n += 1
    if usport:
        udp += 1
        continue
    if not stream:
        continue
    sport, dport, seq, ln = int(sport), int(dport), int(seq), int(ln)
    if syn == "1" and ack == "0":
        if dport in SMTP:
            syn_smtp += 1
            syn_smtp6 += bool(ip6)
        else:
            syn_other += 1
    lost += lo == "1"
    ooo += oo == "1"
    retx += re == "1"
    mail += cmd == "MAIL"
    rcpt += cmd == "RCPT"
    queued += code == "250" and "queued" in param
    key = (stream, sport)
    if ln > 0:
        segs.setdefault(key, []).append((seq, seq + ln))
    if fin == "1":
        fin_at[key] = seq
holes = 0
for key, iv in segs.items():
    iv.sort()
    reach = 1  # relative sequence numbers: data starts at 1
    for a, b in iv:
        if a > reach:
            holes += 1
        reach = max(reach, b)
    if key in fin_at and fin_at[key] != reach:
        holes += 1

ok = True
def check(name, got, want, hard=True):
    global ok
    good = got == want
    if hard and not good:
        ok = False
    mark = "ok" if good else ("FAIL" if hard else "differs")
    print(f"{name:<44} tshark {got:>9}  truth {want:>9}  {mark}")

check("frames", n, truth["packets"])
check("SMTP SYNs (sessions)", syn_smtp, truth["smtp_sessions"])
check("SMTP SYNs over IPv6", syn_smtp6, truth["ipv6_sessions"])
check("other TCP SYNs (non-SMTP flows)", syn_other, truth["non_smtp_tcp_flows"])
check("UDP datagrams", udp, truth["udp_datagrams"])
check("holes in any TCP direction", holes, 0)
check("MAIL commands (accepted + rejected)", mail, truth["transactions"] + truth["mail_rejected"], False)
check("RCPT commands", rcpt, truth["rcpt_total"], False)
check("250 ... queued (messages)", queued, truth["messages"], False)
check("lost_segment flags vs swapped pairs", lost, truth["out_of_order_segments"], False)
check("out_of_order flags vs swapped pairs", ooo, truth["out_of_order_segments"], False)
check("retransmission flags vs duplicates", retx, truth["retransmitted_segments"], False)
sys.exit(0 if ok else 1)
' "$truth"
