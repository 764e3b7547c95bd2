"""A small real SMTP server for tests (aiosmtpd on 127.0.0.1): records what it receives, refuses on demand.

    with LocalSMTPServer() as server:
        server.refuse.add("bounce@partner.example")      # 550 on RCPT for this address
        server.close_after = 1                           # answer 421 to the DATA of the second message
        ...send...
        [message] = server.messages_to("a@lab.example")  # parsed with policy=default
        server.received[0].envelope_from, server.received[0].data

`users={"name": "secret"}` turns on AUTH (LOGIN and PLAIN, without TLS since it is loopback only).
"""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Received:
    envelope_from: str
    recipients: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class _Handler:
    server: LocalSMTPServer

    async def handle_RCPT(self, smtp: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        with self.server.lock:
            if address.lower() in {a.lower() for a in self.server.refuse}:
                self.server.refused.append(address)
                return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        with self.server.lock:
            if self.server.close_after is not None and len(self.server.received) >= self.server.close_after:
                return "421 4.3.2 Service shutting down"
            received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content)
            self.server.received.append(received)
        return "250 OK: queued"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalSMTPServer:
    host: str = "127.0.0.1"
    users: dict[str, str] | None = None
    refuse: set[str] = field(default_factory=set)
    close_after: int | None = None
    received: list[Received] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0
    _controller: Controller | None = None

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and self.users is not None:
            login, password = data.login.decode(), data.password.decode()
            if self.users.get(login) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def start(self) -> LocalSMTPServer:
        self.port = _free_port(self.host)
        options: dict[str, Any] = {}
        if self.users is not None:
            options = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> LocalSMTPServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def messages_to(self, address: str) -> list[EmailMessage]:
        """Messages whose envelope went to this address, parsed."""
        with self.lock:
            wanted = address.lower()
            return [r.message() for r in self.received if wanted in (a.lower() for a in r.recipients)]

    def envelope_recipients(self) -> list[str]:
        """Every envelope recipient, in the order received."""
        with self.lock:
            return [a for r in self.received for a in r.recipients]
