"""Where notifications go: any Apprise URL, or a log file for offline workshops.

Apprise turns one URL into a client for Slack, Microsoft Teams, email over SMTP, generic
JSON webhooks and dozens more, so no channel needs code of its own here::

    SMART_FACTORY_ALERT_DESTINATIONS="slack://T000/B000/XXXX mailtos://user:pass@smtp.example.com?to=ops@example.com"

URLs carry credentials, so they come only from the environment or from a git-ignored
``.env`` file at the checkout root (the environment wins); never from a notebook or a
committed file. With nothing configured, notifications are appended to
``<storage root>/alerts/notifications.log`` and printed, so an offline workshop still
shows them. ``file://`` (that default log) or ``file:///some/path.log`` adds a log file to
other destinations.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import apprise
from apprise.utils.parse import parse_urls
from dotenv import dotenv_values

from smart_factory.alerts.messages import IDEMPOTENCY_HEADER, Notification
from smart_factory.errors import AlertDestinationError
from smart_factory.lakehouse.paths import StoragePaths, checkout_root

DESTINATIONS_ENV = "SMART_FACTORY_ALERT_DESTINATIONS"
DEFAULT_ENV_FILE = (checkout_root() or Path.cwd()) / ".env"
LOG_FILE_SCHEME = "file://"


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


def configured_destinations(
    storage: StoragePaths, settings: Mapping[str, str] | None = None
) -> list[AppriseDestination | LogFileDestination]:
    """The destinations ``$SMART_FACTORY_ALERT_DESTINATIONS`` lists; the default log file if none.

    >>> configured_destinations(storage, {})  # doctest: +SKIP
    [LogFileDestination(path=PosixPath('data/alerts/notifications.log'), echo=True)]
    """
    settings = destination_settings() if settings is None else settings
    urls = parse_urls(settings.get(DESTINATIONS_ENV, ""))
    if not urls:
        return [default_log_destination(storage)]
    return [destination_for_url(url, storage) for url in urls]


def default_log_destination(storage: StoragePaths) -> LogFileDestination:
    return LogFileDestination(storage.root / "alerts" / "notifications.log")


def destination_for_url(url: str, storage: StoragePaths) -> AppriseDestination | LogFileDestination:
    """One destination: ``file://`` (the default log), ``file:///a/path.log``, or any Apprise URL."""
    if url.startswith(LOG_FILE_SCHEME):
        path = url.removeprefix(LOG_FILE_SCHEME)
        return LogFileDestination(Path(path)) if path else default_log_destination(storage)
    return AppriseDestination(url)


def _service(url: str) -> apprise.plugins.NotifyBase:
    service = apprise.Apprise.instantiate(url)
    if service is None:  # checked when the destination was made; only a changed Apprise gets here
        raise DeliveryFailed("Apprise no longer understands this destination's URL")
    return service
