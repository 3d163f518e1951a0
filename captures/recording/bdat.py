#!/usr/bin/env python3
"""CHUNKING: BDAT in two chunks + BDAT 0 LAST, then a DATA transaction with dot-stuffed
lines (Postfix 127.0.0.1:2525)."""
from smtpclient import Client, crlf

msg1 = crlf("From: sender@client.test\nTo: alice@example.test\n"
            "Subject: sent with BDAT\nMessage-ID: <bdat-1@client.test>\n\n"
            "This message was sent in chunks with BDAT (RFC 3030).\n"
            ".A line starting with a dot is NOT dot-stuffed in BDAT.\n"
            "The last chunk is empty: BDAT 0 LAST.\n")
msg2 = crlf("From: sender@client.test\nTo: bob@example.test\n"
            "Subject: sent with BDAT LAST\nMessage-ID: <bdat-2@client.test>\n\n"
            "Second chunked message, the second chunk carries LAST.\n")
msg3 = ("From: sender@client.test\nTo: alice@example.test\n"
        "Subject: sent with DATA\nMessage-ID: <data-3@client.test>\n\n"
        "This one uses DATA; the next lines start with a dot and are dot-stuffed:\n"
        ".hidden line\n"
        "..two dots\n"
        ".\n"
        "end of message.\n")

c = Client("127.0.0.1", 2525)
c.reply()
c.cmd("EHLO client.example.test", 250)
# 1: BDAT n, BDAT n, BDAT 0 LAST
c.cmd("MAIL FROM:<sender@client.test>", 250)
c.cmd("RCPT TO:<alice@example.test>", 250)
half = len(msg1) // 2
c.bdat(msg1[:half])
c.bdat(msg1[half:])
c.bdat("", last=True)
# 2: BDAT n, BDAT n LAST
c.cmd("MAIL FROM:<sender@client.test> BODY=8BITMIME", 250)
c.cmd("RCPT TO:<bob@example.test>", 250)
c.bdat(msg2[:100])
c.bdat(msg2[100:], last=True)
# 3: DATA with dot-stuffing
c.cmd("MAIL FROM:<sender@client.test>", 250)
c.cmd("RCPT TO:<alice@example.test>", 250)
c.cmd("DATA", 354)
c.data(msg3)
c.cmd("QUIT", 221)
c.close()
