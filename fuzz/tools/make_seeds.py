#!/usr/bin/env python3
"""Rebuild the seeds in fuzz/corpus/ from captures/ (run from the repository
root; needs tshark). Files other than these seeds (a minimized share of long
runs) are left alone.

pcap_file: small captures copied as they are.
pipeline: small captures, two with their last byte set to 0x0f (all output
options on).
packet: single frames, prefixed with the link-type pick byte the target uses.
smtp_session: each capture's TCP payloads in the target's control-byte format.
mime: message bodies cut out of the DATA phase of those dialogues.
reassembly, explain, data: hand-made.
eml_export: messages with hostile attachment names, and whole messages.
"""
import base64, os, re, shutil, struct, subprocess

S = "fuzz/corpus"
PCAPS = ["postfix-plain-delivery.pcap", "postfix-plain-delivery.pcapng",
         "postfix-plain-delivery.pcap.gz", "postfix-ipv6.pcap", "postfix-bdat.pcap",
         "sll2-any-interface.pcap", "sll-any-interface.pcap", "aiosmtpd-auth-plain.pcap"]
DIALOGUES = ["postfix-plain-delivery.pcap", "postfix-bdat.pcap", "postfix-pipelining.pcap",
             "aiosmtpd-auth-login.pcap", "postfix-starttls.pcap", "postfix-utf8-subject.pcap",
             "postfix-rcpt-rejected.pcap"]
# Index into the packet target's LINKS list.
PICK = {0: 0, 1: 1, 12: 2, 14: 3, 101: 4, 108: 5, 113: 6, 228: 7, 229: 8, 276: 9}

def w(target, name, data):
    os.makedirs(os.path.join(S, target), exist_ok=True)
    with open(os.path.join(S, target, name), "wb") as f:
        f.write(data)

for p in PCAPS:
    shutil.copy(os.path.join("captures", p), os.path.join(S, "pcap_file", p))

# The whole run: the last byte of the file picks the output options.
for p in ["aiosmtpd-auth-login.pcap", "postfix-starttls.pcap", "postfix-bdat.pcap",
          "postfix-pipelining.pcap", "postfix-rcpt-rejected.pcap",
          "postfix-rset-multi-transaction.pcap", "postfix-ipv6.pcap", "tour.pcap",
          "postfix-plain-delivery.pcapng", "sll2-any-interface.pcap"]:
    raw = open(os.path.join("captures", p), "rb").read()
    w("pipeline", p, raw)
    if p in ("aiosmtpd-auth-login.pcap", "postfix-rset-multi-transaction.pcap"):
        w("pipeline", p.split(".")[0] + "-all-options.pcap", raw[:-1] + b"\x0f")

# Frames of classic pcap files: a few per link type.
for p in ["postfix-plain-delivery.pcap", "postfix-ipv6.pcap", "sll-any-interface.pcap",
          "sll2-any-interface.pcap"]:
    raw = open(os.path.join("captures", p), "rb").read()
    endian = "<" if raw[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    link = struct.unpack(endian + "I", raw[20:24])[0] & 0x0FFFFFFF
    off, n = 24, 0
    while off + 16 <= len(raw) and n < 4:
        incl = struct.unpack(endian + "I", raw[off + 8:off + 12])[0]
        frame = raw[off + 16:off + 16 + incl]
        off += 16 + incl
        n += 1
        if n in (1, 4):  # the SYN and the first data segment
            w("packet", f"{p.split('.')[0]}-frame{n}", bytes([PICK[link]]) + frame)

def payloads(p):
    out = subprocess.run(["tshark", "-r", os.path.join("captures", p), "-Y", "tcp.len>0",
                          "-T", "fields", "-e", "tcp.dstport", "-e", "tcp.payload"],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        port, hexdata = line.split("\t")
        yield int(port) in (25, 465, 587, 2525, 8025), bytes.fromhex(hexdata.replace(":", ""))

for p in DIALOGUES:
    script = bytearray()
    client_bytes = bytearray()
    for to_server, data in payloads(p):
        if to_server:
            client_bytes += data
        while data:
            chunk, data = data[:127], data[127:]
            script.append(len(chunk) | (0 if to_server else 0x80))
            script += chunk
    w("smtp_session", p.split(".")[0], bytes(script))
    # The message: after "DATA\r\n" up to the terminating dot line.
    i = client_bytes.find(b"DATA\r\n")
    if i >= 0:
        body = client_bytes[i + 6:]
        end = body.find(b"\r\n.\r\n")
        if end >= 0:
            body = body[:end + 2]
        w("mime", p.split(".")[0] + ".eml", bytes([len(body) // 2 % 256]) + bytes(body))

# Hand-made seeds.
def rec(d, syn=False, fin=False, rst=False, noack=False, jump=False, off=0, ln=0, ack=0):
    b = d | syn << 1 | fin << 2 | rst << 3 | noack << 4 | jump << 5
    return bytes([b]) + struct.pack(">HBH", off, ln, ack)

isn = struct.pack(">II", 0xFFFFFF00, 0x10)  # client ISN wraps inside the stream
w("reassembly", "in-order", b"\x00" + isn + rec(1, off=0, ln=40) + rec(0, off=0, ln=20, ack=40)
  + rec(1, off=40, ln=30, ack=20) + rec(0, off=20, ln=255, ack=70) + rec(0, fin=True, off=275, ack=70)
  + rec(1, fin=True, off=70, ack=276))
w("reassembly", "out-of-order-overlap-v6", b"\x01" + isn + rec(0, off=100, ln=50) + rec(0, off=0, ln=60)
  + rec(0, off=50, ln=100) + rec(0, off=30, ln=10) + rec(1, off=0, ln=10, ack=150) + rec(1, rst=True, off=10))
w("reassembly", "hole-then-ack", b"\x00" + isn + rec(0, off=500, ln=100) + rec(1, off=0, ln=5, ack=600)
  + rec(0, off=600, ln=10, jump=True) + rec(0, syn=True, off=0))

def script(steps):
    out = bytearray()
    for d, data in steps:
        while data:
            c, data = data[:127], data[127:]
            out.append(len(c) | (0x80 if d else 0))
            out += c
    return bytes(out)

w("smtp_session", "hand-auth-plain-escapes", script([
    (1, b"220 mx.example ESMTP \x1b[31mred\x1b[0m\r\n"),
    (0, b"EHLO client\r\n"),
    (1, b"250-mx.example\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250-CHUNKING\r\n250 8BITMIME\r\n"),
    (0, b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n"), (1, b"235 2.7.0 ok\r\n"),
    (0, b"MAIL FROM:<a@x\xe2\x80\xae.example> BODY=8BITMIME\r\nRCPT TO:<b@y.example>\r\n"),
    (1, b"250 2.1.0 ok\r\n250 2.1.5 ok\r\n"), (0, b"DATA\r\n"), (1, b"354 go\r\n"),
    (0, b"Subject: =?UTF-8?B?4oCuZXZpbA==?=\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
        b"Content-Type: text/plain\r\n\r\nhi\n.\n\r\n..dot\r\n--XX\r\nContent-Type: application/octet-stream; name=a.exe\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA//8AALgAAAA=\r\n--XX--\r\n.\r\n"),
    (1, b"250 2.0.0 queued\r\n"), (0, b"BDAT 5 LAST\r\nhello"), (1, b"503 5.5.1 no\r\n"),
    (0, b"STARTTLS\r\n"), (1, b"220 2.0.0 go ahead\r\n"), (0, b"\x16\x03\x01\x00\x05hello"),
]))
w("smtp_session", "hand-gap-and-bare-lf", script([(1, b"220 hi\n"), (0, b"HELO x\n")])
  + b"\x00\x20" + script([(0, b"QUIT\r\n"), (1, b"221-bye\r\n221 bye\r\n")]))

w("mime", "hand-nested.eml", b"\x40" + b"From: =?ISO-8859-1?Q?Andr=E9?= <a@x>\r\nTo: b@y, c@z\r\n"
  b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\npreamble\r\n--outer\r\n"
  b"Content-Type: multipart/alternative; boundary=inner\r\n\r\n--inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
  b"Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe =\r\nsoft\r\n--inner\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n"
  b"--inner--\r\n--outer\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nbody\r\n--outer\r\n"
  b"Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n"
  b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--outer--\r\nepilogue\r\n")

# data: DATA contents as the client sends them (dot-stuffed, ended by
# CRLF.CRLF, a command after), each after three chunk-size picks: one
# large chunk, single bytes, and mixed sizes.
def dot_stuff(m):
    out, line_start = bytearray(), True
    for b in m:
        if line_start and b == ord("."):
            out.append(b)
        out.append(b)
        line_start = b == 10 and len(out) >= 2 and out[-2] == 13
    return bytes(out)

B64 = base64.b64encode(bytes(range(256)) * 9)
ATTACHMENT = b"".join(B64[i:i + 76] + b"\r\n" for i in range(0, len(B64), 76))
DATA = {
    "multipart-base64": b"Subject: hi\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\npre\r\n--b1\r\n"
    b"Content-Type: text/plain\r\n\r\n.dot\r\n-- sig\r\nline\r\n--b1\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + ATTACHMENT + b"--b1--\r\n",
    "base64-body": b"Content-Transfer-Encoding: base64\r\n\r\n" + ATTACHMENT,
    "bare-breaks-nul-smuggling": b"Subject: bare\r\n\r\nline\nbare lf\rbare cr\r\n\x00nul\r\n"
    b"\n.\r\nafter a smuggling-like end\r\n",
    "qp-8bit": b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nsoft\r\n\xc3\xa9 8bit\r\n",
}
for name, message in DATA.items():
    wire = dot_stuff(message) + b".\r\nQUIT\r\n"
    for tag, sizes in (("whole", [255]), ("bytes", [0]), ("mixed", [90, 3, 250])):
        w("data", f"hand-{name}-{tag}", bytes([len(sizes) - 1]) + bytes(sizes) + wire)

for term in ["EHLO", "250", "5.7.1", "STARTTLS", "8BITMIME", "auth-cleartext", "RCPT TO:<a@b>",
             "550 5.1.1 <x@y>: Recipient address rejected", "pipelining", "\u202eLIAM"]:
    w("explain", re.sub(r"[^A-Za-z0-9.-]", "_", term) or "x", term.encode())

# eml_export: flag byte (bit 0: wrap a name and content; bit 1: RFC 2231
# name; bit 2: base64 content), then the name, "\n", the content.
HOSTILE_NAMES = {
    "dotdot-etc-passwd": b"../../etc/passwd",
    "absolute-etc-shadow": b"/etc/shadow",
    "windows-drive": b"C:\\x",
    "windows-drive-backslashes": b"C:\\\\Windows\\\\System32\\\\x.dll",
    "device-con": b"CON",
    "device-nul-txt": b"NUL.txt",
    "device-com1-superscript": "COM\u00b9.txt".encode(),
    "10000-chars": b"A" * 10000 + b".pdf",
    "dots-only": b"..",
    "trailing-dot-space": b"invoice.exe. .",
    "bidi-rlo": "invoice\u202egpj.exe".encode(),
    "escape-sequence": b"\x1b]8;;http://evil\x07x\x1b[2J.txt",
    "crlf-header-injection": b"a.txt\"\r\nContent-Type: text/html\r\nX: \"",
    "empty": b"",
}
for name, fname in HOSTILE_NAMES.items():
    w("eml_export", "name-" + name, b"\x01" + fname + b"\nhello\r\n")
w("eml_export", "name-rfc2231-dotdot", b"\x03..%2F..%2Fetc%2Fpasswd\nhello\r\n")
w("eml_export", "name-rfc2231-utf8-bidi", b"\x03r%C3%A9sum%E2%80%AEfdp.exe\nhello\r\n")
w("eml_export", "name-base64-content", b"\x05../x.bin\naGVsbG8gd29ybGQ=\r\n")
# Whole messages (flag bit 0 clear): several attachments with one name
# (collision suffixes), a nested message, and the mime seed with the most parts.
w("eml_export", "message-same-name-thrice", b"\x00" + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
  + b"".join(b"--b\r\nContent-Disposition: attachment; filename=\"../same.txt\"\r\n\r\n%d\r\n" % i
             for i in range(3)) + b"--b--\r\n")
w("eml_export", "message-nested-rfc822", b"\x00" + b"Content-Type: multipart/mixed; boundary=o\r\n\r\n"
  b"--o\r\nContent-Type: message/rfc822\r\n\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n"
  b"--i\r\nContent-Disposition: attachment; filename=\"/inner/../../x\"\r\n\r\ninner\r\n--i--\r\n"
  b"--o\r\nContent-Disposition: attachment; filename=\"\\\\server\\share\\y\"\r\n\r\nouter\r\n--o--\r\n")
w("eml_export", "message-hand-nested", b"\x00" + open(os.path.join(S, "mime", "hand-nested.eml"), "rb").read()[1:])

# gate: data[0] = flags and budget, then records (conn | kind << 2), a
# length byte and the bytes for payloads. conn 0..3 = ports 25, 2626, 1080,
# 8080; kind 0 client, 1 server, 2 hole, 3 close.
def ev(conn, kind, data=b""):
    head = bytes([conn | kind << 2])
    return head + bytes([len(data)]) + data if kind < 2 else head

SOCKS_TO_25 = [ev(2, 0, b"\x05\x01\x00"), ev(2, 1, b"\x05\x00"),
               ev(2, 0, b"\x05\x01\x00\x01\xc0\x00\x02\x07\x00\x19"),
               ev(2, 1, b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00220 mx ESMTP\r\n")]
GATE = {
    "smtp-on-2626": b"\x04" + ev(1, 1, b"220 mx ESMTP\r\n") + ev(1, 0, b"EHLO c\r\n") + ev(1, 3),
    "http-on-8080": b"\x04" + ev(3, 0, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") + ev(3, 3),
    "socks5-to-25": b"\x04" + b"".join(SOCKS_TO_25) + ev(2, 0, b"EHLO c\r\n"),
    "budget-spent": b"\x00" + ev(3, 1, b"220 " + b"a" * 56) + ev(1, 1, b"220 " + b"b" * 56)
                    + ev(3, 3) + ev(1, 1, b"220 c\r\n"),
    "hole-in-handshake": b"\x04" + ev(2, 0, b"\x05\x01\x00") + ev(2, 2) + ev(2, 1, b"\x05\x00"),
    "only-ports": b"\x05" + ev(0, 1, b"220 mx\r\n") + ev(1, 1, b"220 mx\r\n") + ev(3, 0, b"EHLO c\r\n"),
    "extra-port": b"\x06" + ev(1, 0, b"\x00\x01binary") + ev(1, 1, b"220 mx\r\n") + ev(1, 3),
}
for name, data in GATE.items():
    w("gate", name, data)
