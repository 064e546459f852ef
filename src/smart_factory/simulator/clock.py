"""The simulated clock: each landed file covers the next fixed time window.

Time is what makes the simulator deterministic: a file's readings are drawn from
``(seed, window start)``, so the same seed and start always give the same bytes. A run
remembers where it stopped in a small state file (see :class:`ClockState`), so the
workshop's "first batch", "more batches" and "schema change" runs follow each other in time.

>>> format_timestamp(parse_timestamp("2026-01-05T09:00:00+01:00"))
'2026-01-05T08:00:00.000Z'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator.landing import land_file

DEFAULT_START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
DEFAULT_FILE_INTERVAL = timedelta(minutes=1)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def parse_timestamp(value: str | datetime, parameter: str = "start") -> datetime:
    """An aware UTC datetime, truncated to the millisecond; naive values are taken as UTC.

    >>> parse_timestamp("2026-01-05T08:00:00Z")
    datetime.datetime(2026, 1, 5, 8, 0, tzinfo=datetime.timezone.utc)
    """
    if isinstance(value, str):
        try:
            # fromisoformat reads "Z" since Python 3.11.
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise SimulatorConfigError(
                f"{parameter} must be an ISO-8601 time such as 2026-01-05T08:00:00Z, got {value!r}"
            ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value < _EPOCH:
        raise SimulatorConfigError(f"{parameter} must be after 1970-01-01, got {value.isoformat()}")
    return value - timedelta(microseconds=value.microsecond % 1000)


def to_epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970-01-01 UTC, the unit readings are generated in."""
    return (moment - _EPOCH) // _MS


def format_timestamp(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as the readings spell it."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def compact_timestamp(moment: datetime) -> str:
    """A file-name-safe timestamp that sorts in time order: ``20260105T080000000Z``."""
    return format_timestamp(moment).replace("-", "").replace(":", "").replace(".", "")


@dataclass(frozen=True)
class ClockState:
    """Where the next run continues: its first window's start and its first file's sequence number.

    Kept as ``<landing parent>/_simulator/<landing name>.clock.json`` so it travels with the
    landing zone it describes (a fresh storage root starts again at ``DEFAULT_START``).

    >>> ClockState.initial().next_sequence
    1
    """

    next_start: datetime
    next_sequence: int

    @classmethod
    def initial(cls) -> ClockState:
        return cls(DEFAULT_START, 1)

    @staticmethod
    def path_for(landing_dir: Path) -> Path:
        return landing_dir.parent / "_simulator" / f"{landing_dir.name}.clock.json"

    @classmethod
    def load(cls, landing_dir: Path) -> ClockState:
        """The saved state for ``landing_dir``, or the initial one when none was saved yet."""
        path = cls.path_for(landing_dir)
        if not path.is_file():
            return cls.initial()
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return cls(parse_timestamp(saved["next_start"]), int(saved["next_sequence"]))
        except (ValueError, KeyError, TypeError, SimulatorConfigError) as error:
            raise SimulatorConfigError(
                f"the simulator clock state {path} is unreadable ({error}); delete it to start "
                f"again at {format_timestamp(DEFAULT_START)} or pass an explicit start"
            ) from None

    def save(self, landing_dir: Path) -> Path:
        path = self.path_for(landing_dir)
        state = {
            "next_start": format_timestamp(self.next_start),
            "next_sequence": self.next_sequence,
        }
        return land_file(path.parent, path.name, (json.dumps(state, indent=2) + "\n").encode())
