#!/usr/bin/env python3
"""8BITMIME + SMTPUTF8: UTF-8 envelope sender, RFC 2047 encoded subject, UTF-8 body
(Postfix 127.0.0.1:2525)."""
import base64
from smtpclient import Client

subject = "Grüße aus Köln – 東京 ✓"
enc_subject = "=?UTF-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
msg = ("From: =?UTF-8?Q?Zo=C3=AB_M=C3=BCller?= <zoë@client.test>\n"
       "To: Alice <alice@example.test>\n"
       f"Subject: {enc_subject}\n"
       "Message-ID: <utf8-1@client.test>\n"
       "MIME-Version: 1.0\n"
       "Content-Type: text/plain; charset=UTF-8\n"
       "Content-Transfer-Encoding: 8bit\n\n"
       "Hallo Alice,\n\nviele Grüße aus Köln! Ça va? Привет! こんにちは 🌍\n"
       "Zoë\n")

c = Client("127.0.0.1", 2525)
c.reply()
c.cmd("EHLO client.example.test", 250)
c.cmd("MAIL FROM:<zoë@client.test> BODY=8BITMIME SMTPUTF8", 250)
c.cmd("RCPT TO:<alice@example.test>", 250)
c.cmd("DATA", 354)
c.data(msg)
c.cmd("QUIT", 221)
c.close()
