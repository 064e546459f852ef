"""What a run landed, counted exactly, so tests and pipeline reconciliation can check every row.

Every distinct reading falls in exactly one category::

    readings == normal_readings + anomalous_readings + overheating_readings
                + late_readings + readings_without_device_id

A readings file has ``readings + duplicate_records + truncated_lines + wrong_type_lines``
lines (JSON Lines) or array elements (JSON arrays have no truncated lines). A malformed
line replaced the reading it garbled; malformed files hold no readings at all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from smart_factory.simulator.clock import format_timestamp
from smart_factory.simulator.scenarios import Scenario


@dataclass(frozen=True)
class ReadingCounts:
    """Counts for one file, or (summed with ``+``) for a whole run.

    >>> (ReadingCounts(readings=2, normal_readings=2) + ReadingCounts(readings=1)).readings
    3
    """

    readings: int = 0
    normal_readings: int = 0
    anomalous_readings: int = 0
    overheating_readings: int = 0
    late_readings: int = 0
    readings_without_device_id: int = 0
    readings_with_humidity: int = 0
    duplicate_records: int = 0
    truncated_lines: int = 0
    wrong_type_lines: int = 0

    @property
    def records(self) -> int:
        """Well-formed JSON records written: every reading once, plus the duplicate copies."""
        return self.readings + self.duplicate_records

    @property
    def malformed_lines(self) -> dict[str, int]:
        return {"truncated": self.truncated_lines, "wrong_type": self.wrong_type_lines}

    def __add__(self, other: ReadingCounts) -> ReadingCounts:
        return ReadingCounts(
            *(getattr(self, field.name) + getattr(other, field.name) for field in fields(self))
        )


READINGS_FILE = "readings"
MALFORMED_FILE_KINDS = ("empty", "not_json", "truncated_array")


@dataclass(frozen=True)
class LandedFile:
    """One file in the landing zone: readings, or one of :data:`MALFORMED_FILE_KINDS`."""

    name: str
    kind: str
    window_start: datetime
    counts: ReadingCounts = ReadingCounts()


@dataclass(frozen=True)
class LandingManifest:
    """Everything one :meth:`SensorSimulator.land_batches` call wrote, in landing order."""

    landing_dir: Path
    file_format: str
    seed: int
    start: datetime
    next_start: datetime
    overheating_device_ids: tuple[str, ...]
    scenario: Scenario
    files: tuple[LandedFile, ...]

    @property
    def totals(self) -> ReadingCounts:
        return sum((landed.counts for landed in self.files), ReadingCounts())

    @property
    def malformed_files(self) -> dict[str, int]:
        """How many malformed files of each kind, e.g. ``{"empty": 1, "not_json": 1}``."""
        return dict(Counter(landed.kind for landed in self.files if landed.kind != READINGS_FILE))

    @property
    def reading_files(self) -> tuple[LandedFile, ...]:
        return tuple(landed for landed in self.files if landed.kind == READINGS_FILE)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (times as ISO-8601 UTC strings)."""
        totals = self.totals
        return {
            "landing_dir": str(self.landing_dir),
            "file_format": self.file_format,
            "seed": self.seed,
            "start": format_timestamp(self.start),
            "next_start": format_timestamp(self.next_start),
            "overheating_device_ids": list(self.overheating_device_ids),
            "scenario": asdict(self.scenario),
            "totals": {**asdict(totals), "records": totals.records},
            "malformed_lines": totals.malformed_lines,
            "malformed_files": self.malformed_files,
            "files": [
                {
                    "name": landed.name,
                    "kind": landed.kind,
                    "window_start": format_timestamp(landed.window_start),
                    **asdict(landed.counts),
                }
                for landed in self.files
            ],
        }
