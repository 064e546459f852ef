"""When an alert runs: a cron expression read in a time zone, as Databricks schedules alerts.

Standard five-field cron (``*/2 * * * *`` is every two minutes). The time zone matters for
expressions such as ``0 7 * * MON-FRI``: 07:00 in the plant's zone, across daylight-saving
changes.

>>> every_two_minutes = Schedule("*/2 * * * *", "Europe/Berlin")
>>> every_two_minutes.next_after(datetime(2024, 3, 1, 12, 0, 30, tzinfo=UTC)).isoformat()
'2024-03-01T12:02:00+00:00'
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter


@dataclass(frozen=True)
class Schedule:
    cron: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if len(self.cron.split()) != 5 or not croniter.is_valid(self.cron):
            raise ValueError(
                f"{self.cron!r} is not a five-field cron expression (minute hour day-of-month month day-of-week), "
                "e.g. '*/2 * * * *' for every two minutes"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{self.timezone!r} is not a known time zone, e.g. 'UTC' or 'Europe/Berlin'") from None

    def next_after(self, moment: datetime) -> datetime:
        """The first run strictly after ``moment`` (an aware datetime), in UTC."""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local).get_next(datetime).astimezone(UTC)

    def describe(self) -> str:
        return f"cron '{self.cron}' ({self.timezone})"
