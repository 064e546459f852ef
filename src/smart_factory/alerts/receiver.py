"""An operator's inbox on 127.0.0.1: a webhook receiver for offline workshops, demos and tests.

Apprise's ``json://`` destination POSTs each notification as a JSON object (``title``,
``message``, ``type``) with the message's idempotency key as a header; ``databricks+http://``
and ``slack+http://`` post Databricks' alert payload and a Slack message, which it reads as
well. This server keeps every request in order, so a notebook can show what an operator's
phone would have shown, without any account or network::

    with LocalReceiver() as inbox:
        evaluate_alerts(spark, destinations=[AppriseDestination(inbox.url)])
        print(inbox.delivered[0].title)

``smart-factory alerts receive`` runs one in a terminal and prints each notification as it
arrives: a second window for a live workshop. ``fail_next(503)`` makes it refuse the next
requests, to show retries and the outbox at work.
"""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from smart_factory.alerts.messages import IDEMPOTENCY_HEADER

LOCALHOST = "127.0.0.1"


@dataclass(frozen=True)
class ReceivedRequest:
    """One POST: its headers, its JSON body (``{}`` if it had none or not JSON), the status answered
    and the path it was sent to."""

    headers: dict[str, str]
    payload: dict
    status: int
    path: str = ""

    @property
    def title(self) -> str:
        """The subject, from Apprise's ``title``, Databricks' ``alert.title`` or a Slack message's first line."""
        return self._title_and_body()[0]

    @property
    def body(self) -> str:
        return self._title_and_body()[1]

    def _title_and_body(self) -> tuple[str, str]:
        alert = self.payload.get("alert")
        if isinstance(alert, dict) and "title" in alert:  # Databricks' alert payload
            return str(alert["title"]), str(alert.get("description", ""))
        if "text" in self.payload and "title" not in self.payload:  # a Slack message: subject, blank line, body
            title, _, body = html.unescape(str(self.payload["text"])).partition("\n\n")
            return title, body
        return str(self.payload.get("title", "")), str(self.payload.get("message", ""))

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get(IDEMPOTENCY_HEADER)


@dataclass
class LocalReceiver:
    """A threaded HTTP server answering POSTs with 200 (or a status queued by :meth:`fail_next`).

    ``port=0`` takes any free port; ``on_request`` is called for each request (the CLI prints).
    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    port: int = 0
    path: str = "/hook"
    on_request: Callable[[ReceivedRequest], None] | None = None
    requests: list[ReceivedRequest] = field(default_factory=list)
    _failures: list[int] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _server: ThreadingHTTPServer | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """The Apprise URL that sends here."""
        return f"json://{LOCALHOST}:{self.port}{self.path}"

    @property
    def delivered(self) -> list[ReceivedRequest]:
        """The requests that were answered 200: the notifications the operator got."""
        return [request for request in self.requests if request.status == 200]

    def fail_next(self, *statuses: int) -> None:
        """Answer the next requests with these statuses (e.g. 503), one each, then 200 again."""
        with self._lock:
            self._failures.extend(statuses)

    def start(self) -> LocalReceiver:
        self._server = ThreadingHTTPServer((LOCALHOST, self.port), self._handler())
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="alert-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> LocalReceiver:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    def _receive(self, headers: dict[str, str], body: bytes, path: str) -> int:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        with self._lock:
            status = self._failures.pop(0) if self._failures else 200
            request = ReceivedRequest(headers, payload if isinstance(payload, dict) else {}, status, path)
            self.requests.append(request)
        if self.on_request is not None:
            self.on_request(request)
        return status

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the name http.server calls
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._receive(dict(self.headers), body, self.path)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: object) -> None:  # the receiver reports through on_request
                pass

        return Handler
