"""Alerting's idea of time: aware UTC datetimes, with the clock injectable for tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime.

    PySpark returns a TIMESTAMP as a naive datetime in this process's local time, which is
    exactly how ``astimezone`` reads a naive datetime.
    """
    return moment.astimezone(UTC)
