"""Where notifications go: any Apprise URL, two webhooks of our own, or a log file for offline workshops.

Apprise turns one URL into a client for Slack, Microsoft Teams, email over SMTP, generic
JSON webhooks and dozens more, so most channels need no code of their own here::

    SMART_FACTORY_ALERT_DESTINATIONS="slack://T000/B000/XXXX mailtos://user:pass@smtp.example.com?to=ops@example.com"

Two webhooks are ours, because Apprise has no equivalent: ``databricks+https://host/path``
POSTs the JSON a Databricks SQL alert sends to a webhook (see :mod:`.payloads`), and
``slack+https://hooks.slack.com/services/…`` posts a Slack message to the full incoming-webhook
URL — which, unlike Apprise's ``slack://``, may also be a receiver on 127.0.0.1.

URLs carry credentials, so they come only from the environment or from a git-ignored
``.env`` file at the checkout root (the environment wins); never from a notebook or a
committed file. With nothing configured, notifications are appended to
``<storage root>/alerts/notifications.log`` and printed, so an offline workshop still
shows them. ``file://`` (that default log) or ``file:///some/path.log`` adds a log file to
other destinations.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import logging
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

import apprise
from dotenv import dotenv_values

from smart_factory.alerts.messages import IDEMPOTENCY_HEADER, Notification
from smart_factory.alerts.payloads import databricks_alert_payload, slack_message_payload
from smart_factory.errors import AlertDestinationError
from smart_factory.lakehouse.paths import StoragePaths, checkout_root

DESTINATIONS_ENV = "SMART_FACTORY_ALERT_DESTINATIONS"
DEFAULT_ENV_FILE = (checkout_root() or Path.cwd()) / ".env"
LOG_FILE_SCHEME = "file://"
WEBHOOK_TIMEOUT_SECONDS = 10.0


class DeliveryFailed(Exception):
    """A destination did not take a notification; the message says why (without secrets)."""


class Destination(Protocol):
    @property
    def id(self) -> str:
        """Stable and secret-free: the outbox's key for this destination."""

    @property
    def label(self) -> str:
        """For people: the destination with its secrets masked."""

    def send(self, notification: Notification) -> None:
        """Deliver, or raise :class:`DeliveryFailed`."""


@dataclass(frozen=True)
class AppriseDestination:
    """Any channel Apprise has a URL for: ``slack://…``, ``mailto://…``, ``msteams://…``, ``json://…``."""

    url: str

    def __post_init__(self) -> None:
        if apprise.Apprise.instantiate(self.url) is None:
            scheme = self.url.split("://", 1)[0] if "://" in self.url else self.url[:12]
            raise AlertDestinationError(
                f"{DESTINATIONS_ENV}: '{scheme}://…' is not a URL Apprise understands "
                "(the URL is not shown: it may hold a secret). Check it with `apprise --dry-run URL`."
            )

    @property
    def id(self) -> str:
        # A digest, so the outbox never stores the URL's secret.
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        # Without the query string: Apprise spells out every default there, which only hides the address.
        return _service(self.url).url(privacy=True).split("?", 1)[0]

    def send(self, notification: Notification) -> None:
        # A fresh client per message: the header below belongs to this message alone.
        service = _service(self.url)
        if isinstance(getattr(service, "headers", None), dict):  # JSON/XML/form webhooks and email
            service.headers[IDEMPOTENCY_HEADER] = notification.idempotency_key
        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as log:
            try:
                sent = service.notify(
                    title=notification.subject, body=notification.body, body_format=apprise.NotifyFormat.TEXT
                )
            except Exception as error:  # a client bug must leave the message pending, not lose the run
                raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
        if not sent:
            problems = [line for line in log.getvalue().splitlines() if line.strip()]
            raise DeliveryFailed(problems[-1] if problems else f"{self.label} refused the notification")


@dataclass(frozen=True)
class JsonWebhookDestination:
    """POSTs one JSON object per notification to a full ``http(s)`` URL written after a prefix.

    The base of :class:`DatabricksWebhookDestination` and :class:`SlackWebhookDestination`:
    the URL is checked when the destination is made, the idempotency key goes in a header,
    ``user:password@`` becomes HTTP basic authentication, and a refusal, a timeout or an
    unreachable host raises :class:`DeliveryFailed`, so the outbox retries as for any channel.
    """

    url: str
    timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS
    prefix: ClassVar[str] = ""
    build_payload: ClassVar[Callable[[Notification], dict[str, Any]]]

    def __post_init__(self) -> None:
        self._target()

    @property
    def id(self) -> str:
        # A digest, so the outbox never stores the URL's secret.
        return hashlib.sha256(self.url.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        # Host and port only: a webhook's path or query is often its secret (Slack's always is).
        target = self._target()
        credentials = "****@" if target.username or target.password else ""
        path = "/…" if target.path.strip("/") or target.query else ""
        return f"{self.prefix}{target.scheme}://{credentials}{_host_and_port(target)}{path}"

    def send(self, notification: Notification) -> None:
        target = self._target()
        address = urllib.parse.urlunsplit((target.scheme, _host_and_port(target), target.path, target.query, ""))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "smart-factory-alerts",
            IDEMPOTENCY_HEADER: notification.idempotency_key,
        }
        if target.username or target.password:
            user = urllib.parse.unquote(target.username or "")
            secret = f"{user}:{urllib.parse.unquote(target.password or '')}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(secret).decode()}"
        body = json.dumps(type(self).build_payload(notification), ensure_ascii=False).encode()
        request = urllib.request.Request(address, data=body, headers=headers, method="POST")
        # Messages name the masked label, never the address: it may hold a token.
        try:
            # Built per message, so proxy settings in the environment (as Apprise honours) are read now.
            with urllib.request.build_opener(_NoRedirects).open(request, timeout=self.timeout_seconds) as answer:
                answer.read()
                status, reason = answer.status, answer.reason
        except urllib.error.HTTPError as error:
            status, reason = error.code, error.reason
            error.close()
        except (OSError, http.client.HTTPException) as error:  # URLError (connecting) is an OSError too
            cause = error.reason if isinstance(error, urllib.error.URLError) else error
            if isinstance(cause, TimeoutError):
                raise DeliveryFailed(f"{self.label} did not answer within {self.timeout_seconds:g} s") from None
            raise DeliveryFailed(f"cannot reach {self.label}: {_reason(cause)}") from None
        if not 200 <= status < 300:
            moved = " (redirects are not followed: configure the final URL)" if 300 <= status < 400 else ""
            raise DeliveryFailed(f"{self.label} answered HTTP {status} {reason}{moved}".rstrip())

    def _target(self) -> urllib.parse.SplitResult:
        return webhook_target(self.url, self.prefix)


@dataclass(frozen=True)
class DatabricksWebhookDestination(JsonWebhookDestination):
    """A generic webhook receiving what a Databricks SQL alert sends to one: ``databricks+https://host:port/path``.

    >>> DatabricksWebhookDestination("databricks+https://hooks.example.com/factory").label
    'databricks+https://hooks.example.com/…'
    """

    prefix: ClassVar[str] = "databricks+"
    build_payload = staticmethod(databricks_alert_payload)


@dataclass(frozen=True)
class SlackWebhookDestination(JsonWebhookDestination):
    """A Slack incoming webhook, by its full URL: ``slack+https://hooks.slack.com/services/T…/B…/…``.

    >>> SlackWebhookDestination("slack+https://hooks.slack.com/services/T0/B0/SECRET").label
    'slack+https://hooks.slack.com/…'
    """

    prefix: ClassVar[str] = "slack+"
    build_payload = staticmethod(slack_message_payload)


WEBHOOK_DESTINATIONS: tuple[type[JsonWebhookDestination], ...] = (DatabricksWebhookDestination, SlackWebhookDestination)


def webhook_target(url: str, prefix: str) -> urllib.parse.SplitResult:
    """The ``http(s)`` URL after ``prefix``, checked; errors name the setting, never the URL."""
    rest = url[len(prefix) :] if url.lower().startswith(prefix) else url
    scheme, has_scheme, _ = rest.partition("://")
    fix = (
        f"write {prefix}https://host[:port]/path ({prefix}http:// for a receiver on this machine); "
        "the URL is not shown: it may hold a secret"
    )
    if scheme.lower() not in ("http", "https"):
        # Echo what was written only when it looks like a scheme: a mistyped URL may begin with its token.
        looks_like_scheme = has_scheme and re.fullmatch(r"[A-Za-z][A-Za-z0-9.+-]{0,15}", scheme)
        shown = f"{prefix}{scheme}://…" if looks_like_scheme else prefix
        raise AlertDestinationError(
            f"{DESTINATIONS_ENV}: '{shown}' is not a webhook URL: after '{prefix}' comes http or https; {fix}."
        )
    target = urllib.parse.urlsplit(rest)
    if not target.hostname:
        raise AlertDestinationError(f"{DESTINATIONS_ENV}: a '{prefix}{scheme}://' URL has no host; {fix}.")
    try:
        target.port  # noqa: B018 - reading it is the check
    except ValueError:
        raise AlertDestinationError(
            f"{DESTINATIONS_ENV}: a '{prefix}{scheme}://' URL has a port that is not a number from 0 to 65535; {fix}."
        ) from None
    return target


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would repeat a redirected POST as a GET without its body; a 3xx is reported instead.
    def redirect_request(self, *_: Any) -> None:
        return None



def _host_and_port(target: urllib.parse.SplitResult) -> str:
    host = f"[{target.hostname}]" if ":" in (target.hostname or "") else str(target.hostname)
    return f"{host}:{target.port}" if target.port is not None else host


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return str(reason) or type(reason).__name__


@dataclass(frozen=True)
class LogFileDestination:
    """Appends each notification to a text file and prints it: the offline workshop's channel."""

    path: Path
    echo: bool = True

    @property
    def id(self) -> str:
        return hashlib.sha256(f"file://{self.path}".encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        return f"file://{self.path}"

    def send(self, notification: Notification) -> None:
        text = f"=== {notification.created_at:%Y-%m-%d %H:%M:%S} UTC  {notification.subject}\n{notification.body}\n\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as log:
                log.write(text)
        except OSError as error:
            raise DeliveryFailed(f"cannot append to {self.path}: {error.strerror}") from None
        if self.echo:
            print(text, end="", flush=True)


def destination_settings(env_file: Path | None = DEFAULT_ENV_FILE) -> dict[str, str]:
    """The alerting settings: the ``.env`` file's, overridden by the process environment's."""
    from_file = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file else {}
    return {**from_file, **os.environ}


AnyDestination = AppriseDestination | JsonWebhookDestination | LogFileDestination


def configured_destinations(storage: StoragePaths, settings: Mapping[str, str] | None = None) -> list[AnyDestination]:
    """The destinations ``$SMART_FACTORY_ALERT_DESTINATIONS`` lists; the default log file if none.

    >>> configured_destinations(storage, {})  # doctest: +SKIP
    [LogFileDestination(path=PosixPath('data/alerts/notifications.log'), echo=True)]
    """
    settings = destination_settings() if settings is None else settings
    urls = split_urls(settings.get(DESTINATIONS_ENV, ""))
    if not urls:
        return [default_log_destination(storage)]
    return [destination_for_url(url, storage) for url in urls]


def split_urls(text: str) -> list[str]:
    """The URLs in a setting, separated by spaces, commas or semicolons.

    A separator counts only before the next ``scheme://``, so ``?to=a@x.com,b@x.com`` stays in
    its URL, as with Apprise's own splitter, which however drops the ``databricks+`` of a scheme.

    >>> split_urls("json://h/hook, slack+https://hooks.slack.com/services/T/B/X file://")
    ['json://h/hook', 'slack+https://hooks.slack.com/services/T/B/X', 'file://']
    """
    urls = []
    for part in _BEFORE_A_URL.split(text.strip(_SEPARATORS)):
        # Something that is no URL at all is kept word by word, to be refused with a clear error.
        urls += [part] if "://" in part else [word for word in re.split(f"[{_SEPARATORS}]+", part) if word]
    return urls


_SEPARATORS = " \t\r\n,;"
_BEFORE_A_URL = re.compile(f"[{_SEPARATORS}]+(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def default_log_destination(storage: StoragePaths) -> LogFileDestination:
    return LogFileDestination(storage.root / "alerts" / "notifications.log")


def destination_for_url(url: str, storage: StoragePaths) -> AnyDestination:
    """One destination: ``file://`` (the default log), ``file:///a/path.log``, ``databricks+https://…``,
    ``slack+https://…``, or any Apprise URL.

    >>> destination_for_url("slack+https://hooks.slack.com/services/T0/B0/SECRET", storage).label  # doctest: +SKIP
    'slack+https://hooks.slack.com/…'
    """
    if url.startswith(LOG_FILE_SCHEME):
        path = url.removeprefix(LOG_FILE_SCHEME)
        return LogFileDestination(Path(path)) if path else default_log_destination(storage)
    for webhook in WEBHOOK_DESTINATIONS:
        if url.lower().startswith(webhook.prefix):
            return webhook(url)
    return AppriseDestination(url)


def _service(url: str) -> apprise.plugins.NotifyBase:
    service = apprise.Apprise.instantiate(url)
    if service is None:  # checked when the destination was made; only a changed Apprise gets here
        raise DeliveryFailed("Apprise no longer understands this destination's URL")
    return service
