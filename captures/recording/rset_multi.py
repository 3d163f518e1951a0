#!/usr/bin/env python3
"""One connection, several transactions separated by RSET (Postfix 127.0.0.1:2525)."""
from smtpclient import Client

c = Client("127.0.0.1", 2525)
c.reply()                                            # 220 greeting
c.cmd("EHLO client.example.test", 250)

# transaction 1: complete
c.cmd("MAIL FROM:<newsletter@client.test>", 250)
c.cmd("RCPT TO:<alice@example.test>", 250)
c.cmd("DATA", 354)
c.data("From: newsletter@client.test\nTo: alice@example.test\n"
       "Subject: first message\nMessage-ID: <rset-1@client.test>\n\nFirst message.\n")
c.cmd("RSET", 250)

# transaction 2: aborted with RSET after the recipients
c.cmd("MAIL FROM:<newsletter@client.test>", 250)
c.cmd("RCPT TO:<bob@example.test>", 250)
c.cmd("RCPT TO:<carol@example.test>", 250)
c.cmd("RSET", 250)

# transaction 3: two recipients, complete
c.cmd("MAIL FROM:<newsletter@client.test> SIZE=180", 250)
c.cmd("RCPT TO:<bob@example.test>", 250)
c.cmd("RCPT TO:<carol@example.test>", 250)
c.cmd("DATA", 354)
c.data("From: newsletter@client.test\nTo: bob@example.test, carol@example.test\n"
       "Subject: second message\nMessage-ID: <rset-2@client.test>\n\nSecond message.\n")
c.cmd("RSET", 250)

# transaction 4: null reverse path (bounce-like), complete
c.cmd("MAIL FROM:<>", 250)
c.cmd("RCPT TO:<postmaster@example.test>", 250)
c.cmd("DATA", 354)
c.data("From: MAILER-DAEMON@client.test\nTo: postmaster@example.test\n"
       "Subject: third message\nMessage-ID: <rset-3@client.test>\n\nThird message.\n")
c.cmd("QUIT", 221)
c.close()
