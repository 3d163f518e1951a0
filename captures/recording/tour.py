#!/usr/bin/env python3
"""Teaching tour: one plaintext session against Postfix 127.0.0.1:2526 (AUTH offered in
clear, STARTTLS advertised but not used).

greeting, EHLO (13 extensions), VRFY known/unknown, AUTH PLAIN, pipelined
MAIL+RCPT(550 5.1.1)+RCPT(250)+DATA, DATA body with dot-stuffed lines, second
transaction with BDAT (two chunks, the second LAST), RSET, NOOP, HELP (Postfix: 500 5.5.2, not recognized),
QUIT."""
import base64
import time
from smtpclient import Client

c = Client("127.0.0.1", 2526)
c.reply()                                                   # 220
c.cmd("EHLO client.example.test", 250)
c.cmd("VRFY <bob@example.test>")                            # 252
c.cmd("VRFY <nobody@example.test>")                         # 550 5.1.1
c.cmd("AUTH PLAIN " + base64.b64encode(b"\0alice\0wonderland").decode(), 235)

# transaction 1, pipelined (RFC 2920): MAIL, two RCPTs and DATA in one segment
replies = c.pipeline(["MAIL FROM:<alice@example.test> SIZE=420",
                      "RCPT TO:<nobody@example.test>",
                      "RCPT TO:<bob@example.test>",
                      "DATA"])
assert [r[0] for r in replies] == [250, 550, 250, 354], replies
c.data("From: Alice <alice@example.test>\n"
       "To: Bob <bob@example.test>\n"
       "Subject: SMTP tour\n"
       "Date: Thu, 01 Jan 2026 12:00:00 +0000\n"
       "Message-ID: <tour-1@example.test>\n"
       "\n"
       "Hi Bob,\n"
       "\n"
       "the next line starts with a dot, so the client sends it dot-stuffed:\n"
       "...and the receiver removes one dot again.\n"
       ".\n"
       "(a line holding a single dot is sent as \"..\" and does not end the message)\n"
       "Alice\n")
time.sleep(0.2)

# transaction 2, CHUNKING (RFC 3030): BDAT, no dot-stuffing, no end marker
c.cmd("MAIL FROM:<alice@example.test> BODY=8BITMIME", 250)
c.cmd("RCPT TO:<carol@example.test>", 250)
msg = ("From: Alice <alice@example.test>\r\n"
       "To: Carol <carol@example.test>\r\n"
       "Subject: SMTP tour, part 2\r\n"
       "Date: Thu, 01 Jan 2026 12:01:00 +0000\r\n"
       "Message-ID: <tour-2@example.test>\r\n"
       "\r\n"
       "Hi Carol,\r\n"
       "this message travels in two BDAT chunks.\r\n"
       ".A leading dot is sent as is with BDAT.\r\n"
       "Alice\r\n")
cut = msg.index("this message")
c.bdat(msg[:cut])
c.bdat(msg[cut:], last=True)
time.sleep(0.2)

c.cmd("RSET", 250)
c.cmd("NOOP", 250)
c.cmd("HELP")                                               # Postfix: 500 5.5.2 (no HELP)
c.cmd("QUIT", 221)
c.close()
