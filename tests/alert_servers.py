"""Real notification receivers on 127.0.0.1 for alert tests: an SMTP server and a JSON webhook."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


@dataclass
class WebhookRequest:
    headers: dict[str, str]
    payload: dict
    status: int  # what the server answered


@dataclass
class WebhookServer:
    """Answers POSTs with 200, or with ``failures`` queued statuses first; keeps every request."""

    port: int = 0
    failures: list[int] = field(default_factory=list)
    requests: list[WebhookRequest] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    @property
    def delivered(self) -> list[WebhookRequest]:
        return [request for request in self.requests if request.status == 200]

    def fail_next(self, *statuses: int) -> None:
        self.failures.extend(statuses)


@contextmanager
def webhook_server() -> Iterator[WebhookServer]:
    server_state = WebhookServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = server_state.failures.pop(0) if server_state.failures else 200
                server_state.requests.append(WebhookRequest(dict(self.headers), json.loads(body or b"{}"), status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()


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
