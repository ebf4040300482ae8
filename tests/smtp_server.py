"""A small real SMTP server for tests (the standard library's socketserver; aiosmtpd is not in
the environment): it speaks enough of RFC 5321 for smtplib — EHLO/HELO, MAIL, RCPT, DATA (with
dot-unstuffing), RSET, NOOP, QUIT — on 127.0.0.1, stores each message with its envelope, and can
be told to refuse recipients or every connection."""
from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return part.get_content()


@dataclass
class Behaviour:
    refuse_connections: bool = False  # answer 421 at once and hang up
    refuse_recipients: set[str] = field(default_factory=set)  # answer 550 to RCPT TO these


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        behaviour = self.server.behaviour
        if behaviour.refuse_connections:
            self.reply("421 test server refuses service")
            return
        self.reply("220 localhost test SMTP")
        sender, recipients = "", []
        while True:
            raw = self.rfile.readline()
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                self.reply("250-localhost")
                self.reply("250-8BITMIME")
                self.reply("250 SMTPUTF8")
            elif verb == "HELO":
                self.reply("250 localhost")
            elif verb == "MAIL":
                sender, recipients = line.split(":", 1)[1].split()[0].strip("<>"), []
                self.reply("250 OK")
            elif verb == "RCPT":
                address = line.split(":", 1)[1].split()[0].strip("<>")
                if address in behaviour.refuse_recipients:
                    self.reply("550 no such mailbox")
                else:
                    recipients.append(address)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while True:
                    chunk = self.rfile.readline()
                    if chunk in (b".\r\n", b".\n", b""):
                        break
                    lines.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                with self.server.lock:
                    self.server.received.append(Received(sender, list(recipients), b"".join(lines)))
                self.reply("250 OK queued")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "NOOP":
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.behaviour = Behaviour()


class SmtpServer:
    """Started on a free port; `received` holds every message accepted."""

    def __init__(self) -> None:
        self._server = _Server()
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-smtp", daemon=True)

    @property
    def received(self) -> list[Received]:
        with self._server.lock:
            return list(self._server.received)

    @property
    def behaviour(self) -> Behaviour:
        return self._server.behaviour

    def start(self) -> SmtpServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
