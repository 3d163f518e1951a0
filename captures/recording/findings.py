#!/usr/bin/env python3
"""Raw clients that make real Postfix / aiosmtpd sessions raise smtpscope's security
findings (issue 4).  One case per capture; loopback only.

Usage: findings.py CASE        (record-findings.sh runs each case under tcpdump)

Every case sends exactly what it needs and reads every reply, so the capture holds the
server's real answers.  One send() is one TCP segment (TCP_NODELAY, loopback MTU 65536).
"""
import ssl
import sys
import time

from smtpclient import Client, crlf

DATE = "Date: Thu, 01 Jan 2026 12:00:00 +0000"
PF = 2525
AIO = 2587


def headers(msgid, subject, frm="sender@client.test"):
    return (f"From: {frm}\r\nTo: alice@example.test\r\n{DATE}\r\n"
            f"Message-Id: <{msgid}@client.test>\r\nSubject: {subject}\r\n\r\n")


def replies(c, n=None):
    """Read n replies, or (n=None) every reply until the server closes."""
    got = []
    try:
        while n is None or len(got) < n:
            got.append(c.reply())
    except EOFError:
        pass
    return got


def start(port=PF, ehlo="client.example.test"):
    c = Client("127.0.0.1", port)
    c.reply()
    c.cmd(f"EHLO {ehlo}", 250)
    return c


def envelope(c, to="alice@example.test", mail="MAIL FROM:<sender@client.test>"):
    c.cmd(mail, 250)
    c.cmd(f"RCPT TO:<{to}>", 250)
    c.cmd("DATA", 354)


def quit(c):
    c.cmd("QUIT")
    c.close()


def smtp_smuggling():
    # <CR><LF>.<LF> ends DATA for Postfix 3.7 (smtpd_forbid_bare_newline = no), so the
    # second MAIL/RCPT/DATA inside the "message" become a second, smuggled transaction.
    c = start()
    envelope(c)
    c.send(headers("smuggling-1", "first message")
           + "This is the visible message.\r\n.\n"
           "MAIL FROM:<admin@example.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\n"
           f"From: admin@example.test\r\nTo: bob@example.test\r\n{DATE}\r\n"
           "Subject: smuggled\r\n\r\nThis message was smuggled.\r\n.\r\n")
    replies(c, 5)  # 250 queued, 250, 250, 354, 250 queued: two messages
    quit(c)


def bare_line_ending():
    c = start()
    envelope(c)
    c.send(headers("bare-lf-1", "bare LF")
           + "line one ends in CRLF\r\nline two ends in a bare LF\nline three\r\n.\r\n")
    c.reply()
    quit(c)


def nul_byte():
    c = start()
    envelope(c)
    c.send(headers("nul-1", "NUL byte") + "before the NUL\x00after the NUL\r\n.\r\n")
    c.reply()
    quit(c)


def pregreet():
    # EHLO right after connect, before Postfix's 220 greeting.
    c = Client("127.0.0.1", PF)
    c.send("EHLO client.example.test\r\n")
    c.reply()
    c.reply()
    quit(c)


def pipelining_violation():
    # aiosmtpd 1.4.6 does not advertise PIPELINING; MAIL and RCPT go in one segment.
    c = start(AIO)
    c.pipeline(["MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.net>"])
    c.cmd("RSET", 250)
    quit(c)


def starttls_injection():
    # CVE-2011-0411 style: a plaintext RSET behind STARTTLS in the same segment.
    # Postfix discards it (fixed in 2.8.0) and starts TLS.
    c = start()
    c.send("STARTTLS\r\nRSET\r\n")
    code, _ = c.reply()
    assert code == 220
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock, server_hostname="mx.example.test")
    c.rfile = c.sock.makefile("rb")
    c.cmd("EHLO client.example.test", 250)
    quit(c)


def vrfy_expn():
    c = start()
    for u in ["alice", "bob", "nobody", "root"]:
        c.cmd(f"VRFY <{u}@example.test>")
    c.cmd("EXPN postmaster")
    quit(c)


def user_enum_rcpt():
    c = start()
    c.cmd("MAIL FROM:<probe@client.test>", 250)
    for u in ["admin", "root", "test", "info", "sales", "support", "webmaster", "john",
              "jane", "guest"]:
        c.cmd(f"RCPT TO:<{u}@example.test>")
    quit(c)


def unknown_command():
    # An HTTP request to the SMTP port: Postfix drops it (smtpd_forbidden_commands).
    c = Client("127.0.0.1", PF)
    c.reply()
    c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1:2525\r\n\r\n")
    replies(c)
    c.close()


def line_too_long():
    c = start()
    c.cmd("NOOP " + "x" * 600)
    envelope(c)
    c.data(headers("long-1", "a long text line") + "y" * 1200 + "\r\nshort line\r\n")
    quit(c)


def bad_command_sequence():
    c = start()
    c.cmd("RCPT TO:<alice@example.test>")
    quit(c)


def helo_anomaly():
    c = start(ehlo="localhost")
    quit(c)


def etrn():
    c = start()
    c.cmd("ETRN example.test")
    quit(c)


def dangerous_verbs():
    c = start()
    for v in ["XEXCH50 1024 2", "DEBUG", "WIZ", "TURN"]:
        c.cmd(v)
    quit(c)


def envelope_injection():
    # CVE-2020-7247 shape (OpenSMTPD); harmless here: Postfix never runs a shell on it.
    c = start()
    c.cmd("MAIL FROM:<;sleep 1;@client.test>")
    c.cmd("RSET")
    quit(c)


def size_mismatch():
    c = start()
    envelope(c, mail="MAIL FROM:<sender@client.test> SIZE=200")
    body = "".join(f"line {i:03} of a message much larger than its SIZE=200\r\n"
                   for i in range(100))
    c.data(headers("size-1", "larger than declared") + body)
    quit(c)


def data_before_354():
    # DATA and the message in one segment, without waiting for 354.
    c = start()
    c.cmd("MAIL FROM:<sender@client.test>", 250)
    c.cmd("RCPT TO:<alice@example.test>", 250)
    c.send("DATA\r\n" + headers("early-1", "sent before 354") + "Too early.\r\n.\r\n")
    c.reply()
    c.reply()
    quit(c)


def starttls_rejected():
    # aiosmtpd without a TLS context answers STARTTLS 454; the client goes on in clear.
    c = start(AIO)
    c.cmd("STARTTLS")
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    c.data(headers("tls-rejected-1", "sent in clear after 454", "alice@example.org"))
    quit(c)


def open_relay():
    # aiosmtpd accepts any recipient domain from anyone (no AUTH here).
    c = start(AIO)
    c.cmd("MAIL FROM:<spammer@client.test>", 250)
    c.cmd("RCPT TO:<victim@elsewhere.example>", 250)
    c.cmd("RSET", 250)
    quit(c)


def relay_probe():
    # Postfix refuses relaying (reject_unauth_destination): 554 5.7.1.
    c = start()
    c.cmd("MAIL FROM:<probe@client.test>", 250)
    for to in ["a@relay-test-1.example", "b@relay-test-2.example", "c@relay-test-3.example",
               "victim%relay-test-4.example@example.test"]:
        c.cmd(f"RCPT TO:<{to}>")
    c.cmd("RSET")
    quit(c)


def bdat_zero():
    # RFC 3030 §2: only the LAST chunk may be empty.  Postfix takes `BDAT 0` anyway.
    c = start()
    c.cmd("MAIL FROM:<sender@client.test>", 250)
    c.cmd("RCPT TO:<alice@example.test>", 250)
    c.cmd("BDAT 0")
    c.bdat(crlf(headers("bdat0-1", "empty first chunk") + "Hello.\n"), last=True)
    quit(c)


def mass_recipients():
    # 101 RCPT in one pipelined segment (Postfix offers PIPELINING; recipient limit 1000).
    c = start()
    c.cmd("MAIL FROM:<sender@client.test>", 250)
    c.pipeline([f"RCPT TO:<{['alice', 'bob', 'carol'][i % 3]}@example.test>"
                for i in range(101)])
    c.cmd("RSET", 250)
    quit(c)


def mime_malformed():
    c = start()
    envelope(c)
    c.data(headers("mime-1", "broken base64")
           .replace("\r\n\r\n", "\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
                    "Content-Transfer-Encoding: base64\r\n\r\n")
           + "JVBERi0xLjQK!!!not*base64***\r\n")
    quit(c)


def too_many_received():
    # Postfix counts the hops itself (hop_count_limit = 50) and refuses the message.
    c = start()
    envelope(c)
    hops = "".join(f"Received: from hop{i}.client.test by hop{i + 1}.client.test; "
                   "Thu, 01 Jan 2026 12:00:00 +0000\r\n" for i in range(100))
    c.data(hops + headers("loop-1", "mail loop"))
    quit(c)


def non_ascii():
    # 8-bit body text without BODY=8BITMIME on MAIL.
    c = start()
    envelope(c)
    c.data(headers("8bit-1", "8-bit body") + "Grüße aus Köln\r\n")
    quit(c)


def tls_fallback():
    # STARTTLS accepted, then the client gives up before any TLS byte and retries the
    # same server in clear, as an opportunistic client that fails its handshake does.
    c = start()
    c.cmd("STARTTLS", 220)
    c.close()
    time.sleep(0.5)
    c = start()
    envelope(c)
    c.data(headers("fallback-1", "sent in clear after a failed STARTTLS"))
    quit(c)


def implicit_tls_cleartext():
    # aiosmtpd_server.py on 465 (submissions) speaks plaintext SMTP: a misconfigured
    # listener, and a client that goes along with it.
    c = start(465)
    c.cmd("MAIL FROM:<alice@example.org>", 250)
    c.cmd("RCPT TO:<bob@example.org>", 250)
    c.cmd("DATA", 354)
    c.data(headers("port465-1", "plaintext on 465", "alice@example.org"))
    quit(c)


CASES = {n: f for n, f in globals().items() if callable(f) and f.__module__ == "__main__"
         and n not in ("headers", "replies", "start", "envelope", "quit", "main")}


def main():
    CASES[sys.argv[1]]()
    time.sleep(0.2)


if __name__ == "__main__":
    main()
