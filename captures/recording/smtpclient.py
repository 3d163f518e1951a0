"""Tiny raw SMTP client used by the recording scripts (loopback only).

Each call to send() is one socket send(); what goes into one TCP segment is decided by
the caller, which is the point: pipelined groups, BDAT chunks and DATA bodies are sent
exactly as written.
"""
import socket
import sys


class Client:
    def __init__(self, host="127.0.0.1", port=2525, verbose=True):
        assert host in ("127.0.0.1", "::1"), "loopback only"
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(20)
        self.sock.connect((host, port))
        self.rfile = self.sock.makefile("rb")
        self.verbose = verbose

    def log(self, prefix, data):
        if self.verbose:
            for line in data.decode("utf-8", "replace").splitlines():
                print(f"{prefix} {line}", file=sys.stderr)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.log(" ->", data if len(data) < 2000 else data[:200] + b"...")
        self.sock.sendall(data)

    def reply(self):
        """Read one (possibly multi-line) reply; return (code, [lines])."""
        lines = []
        while True:
            line = self.rfile.readline()
            if not line:
                raise EOFError("server closed the connection")
            self.log("<- ", line)
            lines.append(line.rstrip(b"\r\n").decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                return int(lines[-1][:3]), lines

    def cmd(self, line, expect=None):
        self.send(line + "\r\n")
        code, lines = self.reply()
        if expect is not None and code != expect:
            raise RuntimeError(f"{line!r}: expected {expect}, got {lines}")
        return code, lines

    def pipeline(self, lines):
        """Send several commands in one send() and read one reply per command."""
        self.send("".join(l + "\r\n" for l in lines))
        return [self.reply() for _ in lines]

    def data(self, message):
        """Send a message body after 354, dot-stuffed, and the terminating <CRLF>.<CRLF>."""
        if isinstance(message, str):
            message = message.encode("utf-8")
        body = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        stuffed = b"\r\n".join(b"." + l if l.startswith(b".") else l
                               for l in body.split(b"\r\n"))
        self.send(stuffed + b".\r\n")
        return self.reply()

    def bdat(self, chunk, last=False):
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        self.send(f"BDAT {len(chunk)}{' LAST' if last else ''}\r\n".encode() + chunk)
        return self.reply()

    def close(self):
        self.rfile.close()
        self.sock.close()


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n")
