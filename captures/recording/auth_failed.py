#!/usr/bin/env python3
"""Brute-force-like AUTH against aiosmtpd 127.0.0.1:2587: wrong passwords (PLAIN and
LOGIN) in one connection, a second connection with another wrong password, then a third
connection that succeeds and sends a message."""
import base64
import time
from smtpclient import Client


def plain(user, pw):
    return base64.b64encode(f"\0{user}\0{pw}".encode()).decode()


def b64(s):
    return base64.b64encode(s.encode()).decode()


# connection 1: three failures
c = Client("127.0.0.1", 2587)
c.reply()
c.cmd("EHLO scanner.client.test", 250)
c.cmd("AUTH PLAIN " + plain("alice", "123456"), 535)
c.cmd("AUTH PLAIN " + plain("alice", "password"), 535)
c.cmd("AUTH LOGIN", 334)
c.cmd(b64("alice"), 334)
c.cmd(b64("alice1"), 535)
c.cmd("QUIT", 221)
c.close()
time.sleep(0.3)

# connection 2: one more failure (PLAIN with initial response in a second line)
c = Client("127.0.0.1", 2587)
c.reply()
c.cmd("EHLO scanner.client.test", 250)
c.cmd("AUTH PLAIN", 334)
c.cmd(plain("alice", "qwerty"), 535)
c.cmd("QUIT", 221)
c.close()
time.sleep(0.3)

# connection 3: success, then a message
c = Client("127.0.0.1", 2587)
c.reply()
c.cmd("EHLO scanner.client.test", 250)
c.cmd("AUTH PLAIN " + plain("alice", "wonderland"), 235)
c.cmd("MAIL FROM:<alice@example.org>", 250)
c.cmd("RCPT TO:<bob@example.net>", 250)
c.cmd("DATA", 354)
c.data("From: alice@example.org\nTo: bob@example.net\nSubject: got in\n"
       "Message-ID: <auth-failed-3@client.test>\n\nFinally.\n")
c.cmd("QUIT", 221)
c.close()
