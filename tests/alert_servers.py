"""Real notification receivers on 127.0.0.1 for alert tests: an SMTP server and a JSON webhook."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from smart_factory.alerts.receiver import LocalReceiver


@contextmanager
def webhook_server() -> Iterator[LocalReceiver]:
    """A JSON webhook on 127.0.0.1: the package's own receiver (``fail_next`` queues error statuses)."""
    with LocalReceiver() as receiver:
        yield receiver


@dataclass
class SmtpServer:
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=alerts@factory.test&to=ops@factory.test&mode=insecure"


@contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server that accepts every message and parses it."""
    server_state = SmtpServer()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            content = envelope.content  # type: ignore[attr-defined]
            server_state.messages.append(message_from_bytes(content, policy=policy.default))
            return "250 Message accepted for delivery"

    # aiosmtpd checks it is up by connecting to its port, so it needs a real one, not 0.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        server_state.port = probe.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=server_state.port)
    controller.start()
    try:
        yield server_state
    finally:
        controller.stop()
