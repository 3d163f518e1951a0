#!/usr/bin/env python3
"""aiosmtpd server on 127.0.0.1:PORT (default 2587) that offers AUTH PLAIN/LOGIN in clear.

Accepts exactly one credential, alice / wonderland; messages are accepted and discarded
(their size is printed).  Runs until SIGTERM/SIGINT.  Usage: aiosmtpd_server.py [PORT]
"""
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    async def handle_DATA(self, server, session, envelope):
        print(f"message from {envelope.mail_from} to {envelope.rcpt_tos}: "
              f"{len(envelope.content)} bytes, authenticated={session.authenticated}", flush=True)
        return "250 2.0.0 Message accepted for delivery"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword)
          and auth_data.login == b"alice" and auth_data.password == b"wonderland")
    return AuthResult(success=ok, handled=False)


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 2587
    controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                            server_hostname="relay.example.test",
                            authenticator=authenticator, auth_require_tls=False,
                            auth_exclude_mechanism=["CRAM-MD5"])
    controller.start()
    print(f"aiosmtpd listening on 127.0.0.1:{port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
