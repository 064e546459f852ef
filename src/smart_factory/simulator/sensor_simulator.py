"""The sensor simulator: lands readings files, one per time window, into a landing zone."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from tqdm import tqdm

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator.clock import (
    DEFAULT_FILE_INTERVAL,
    ClockState,
    compact_timestamp,
    format_timestamp,
    parse_timestamp,
    to_epoch_ms,
)
from smart_factory.simulator.devices import DeviceRegistry
from smart_factory.simulator.injections import (
    choose_duplicates,
    corrupt_lines,
    insert_lines,
    malformed_files,
)
from smart_factory.simulator.landing import (
    FileFormat,
    check_file_format,
    encode_records,
    land_file,
    readings_file_name,
)
from smart_factory.simulator.manifest import (
    READINGS_FILE,
    LandedFile,
    LandingManifest,
    ReadingCounts,
)
from smart_factory.simulator.randomness import FileStreams
from smart_factory.simulator.readings import (
    DeviceColumns,
    ReadingBatch,
    generate_readings,
    readings_per_device,
)
from smart_factory.simulator.scenarios import Scenario
from smart_factory.simulator.validation import check_seed, check_whole_number

MAX_FILES_PER_RUN = 100_000
MAX_READINGS_PER_FILE = 10_000_000
_MILLISECOND = timedelta(milliseconds=1)


class SensorSimulator:
    """Lands the factory's sensor readings as JSON files, one per simulated time window.

    The clock: each file covers the next ``file_interval``. A run starts at ``start`` when
    given; with ``now=True`` it ends at the wall-clock time; otherwise it continues where the
    previous run into the same landing folder stopped (the first run starts at
    2026-01-05T08:00:00Z). Same seed and same start give byte-identical files and names.

    >>> import tempfile; from pathlib import Path
    >>> landing = Path(tempfile.mkdtemp()) / "sensor_readings"
    >>> simulator = SensorSimulator(DeviceRegistry.generate(num_devices=10, seed=1), seed=1)
    >>> manifest = simulator.land_batches(landing, num_files=2, readings_per_file=100)
    >>> manifest.totals.readings, format_timestamp(manifest.next_start)
    (200, '2026-01-05T08:02:00.000Z')
    """

    def __init__(
        self,
        registry: DeviceRegistry,
        *,
        seed: int = 42,
        start: datetime | str | None = None,
        now: bool = False,
        file_format: FileFormat = "jsonl",
        file_interval: timedelta = DEFAULT_FILE_INTERVAL,
    ) -> None:
        if start is not None and now:
            raise SimulatorConfigError(
                "start and now are alternatives: pass an explicit start, or now=True for the "
                "wall clock, not both"
            )
        if not isinstance(file_interval, timedelta) or file_interval < _MILLISECOND:
            raise SimulatorConfigError(
                f"file_interval must be a timedelta of at least 1 ms, got {file_interval!r}"
            )
        self.registry = registry
        self.seed = check_seed(seed)
        self.start = None if start is None else parse_timestamp(start, "start")
        self.now = now
        self.file_format = check_file_format(file_format)
        self.file_interval = file_interval
        self.devices = DeviceColumns.from_registry(registry)

    def land_batches(
        self,
        landing_dir: str | os.PathLike[str],
        *,
        num_files: int = 10,
        readings_per_file: int = 5000,
        scenario: Scenario | None = None,
        progress: bool = False,
    ) -> LandingManifest:
        """Land ``num_files`` readings files (plus any malformed ones) and say exactly what.

        ``scenario`` defaults to the everyday faults only (anomalies, missing device ids).
        """
        scenario = Scenario() if scenario is None else scenario
        if not isinstance(scenario, Scenario):
            raise SimulatorConfigError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        check_whole_number("num_files", num_files, 1, MAX_FILES_PER_RUN)
        check_whole_number("readings_per_file", readings_per_file, 1, MAX_READINGS_PER_FILE)
        self._check_window_fits(readings_per_file)
        landing = Path(landing_dir)
        state = ClockState.load(landing)
        run = _Run(
            simulator=self,
            landing=landing,
            scenario=scenario,
            overheating=scenario.overheating_mask(self.registry, self.seed),
            start=self._run_start(state, num_files),
            sequence=state.next_sequence,
        )
        with tqdm(
            total=num_files * readings_per_file,
            unit=" readings",
            unit_scale=True,
            desc="landing",
            disable=not progress,
        ) as bar:
            for index in range(num_files):
                run.land_readings_file(index, readings_per_file, is_last=index == num_files - 1)
                bar.update(readings_per_file)
        next_start = run.start + num_files * self.file_interval
        ClockState(next_start, run.sequence).save(landing)
        return LandingManifest(
            landing_dir=landing,
            file_format=self.file_format,
            seed=self.seed,
            start=run.start,
            next_start=next_start,
            overheating_device_ids=tuple(
                self.registry.device_ids[index] for index in np.flatnonzero(run.overheating)
            ),
            scenario=scenario,
            files=tuple(run.landed),
        )

    def _run_start(self, state: ClockState, num_files: int) -> datetime:
        if self.start is not None:
            return self.start
        if self.now:
            # The run's windows end at the wall clock, so a live demo sees fresh readings.
            return parse_timestamp(datetime.now(UTC)) - num_files * self.file_interval
        return state.next_start

    def _check_window_fits(self, readings_per_file: int) -> None:
        busiest = readings_per_device(len(self.registry), readings_per_file)
        interval_ms = self.file_interval // _MILLISECOND
        if busiest > interval_ms:
            raise SimulatorConfigError(
                f"readings_per_file={readings_per_file:,} gives a device {busiest:,} readings in a "
                f"{interval_ms:,} ms window, more than one per millisecond; use more devices, "
                f"fewer readings per file or a longer file_interval"
            )


@dataclass
class _Run:
    """One land_batches call in progress: next file number, files so far, deferred copies."""

    simulator: SensorSimulator
    landing: Path
    scenario: Scenario
    overheating: np.ndarray
    start: datetime
    sequence: int
    landed: list[LandedFile] = field(default_factory=list)
    deferred_duplicates: list[str] = field(default_factory=list)

    def land_readings_file(self, index: int, readings_per_file: int, is_last: bool) -> None:
        simulator = self.simulator
        window_start = self.start + index * simulator.file_interval
        window_start_ms = to_epoch_ms(window_start)
        streams = FileStreams.for_window(simulator.seed, window_start_ms)
        batch = generate_readings(
            simulator.devices,
            window_start_ms,
            simulator.file_interval // _MILLISECOND,
            readings_per_file,
            self.scenario,
            self.overheating,
            streams,
        )
        readings = batch.render(simulator.devices)
        lines, counts = self._add_faults(batch, readings, streams, can_defer=not is_last)
        self._land(window_start, READINGS_FILE, encode_records(lines, simulator.file_format), counts)
        if index == 0 and self.scenario.malformed:
            stamp = format_timestamp(window_start)
            for kind, broken in malformed_files(readings, simulator.file_format, stamp):
                self._land(window_start, kind, broken, ReadingCounts())

    def _add_faults(
        self, batch: ReadingBatch, readings: list[str], streams: FileStreams, can_defer: bool
    ) -> tuple[list[str], ReadingCounts]:
        """The file's lines, with broken lines and duplicate copies, and what they hold."""
        lines = list(readings)
        intact = np.ones(len(lines), dtype=bool)
        broken: dict[str, np.ndarray] = {}
        if self.scenario.malformed:
            broken = corrupt_lines(
                lines, self.scenario.malformed_share, self.simulator.file_format, streams.malformed
            )
            for rows in broken.values():
                intact[rows] = False

        rng = streams.duplicates
        # Copies deferred by the previous file arrive anywhere in this one; the others come
        # after their original.
        carried = self.deferred_duplicates
        carried_before = rng.integers(0, len(lines), len(carried), endpoint=True)
        same_file, same_file_before, deferred = choose_duplicates(
            batch.has_device_id & intact, self.scenario.duplicate_share, rng, can_defer
        )
        self.deferred_duplicates = [readings[row] for row in deferred.tolist()]
        lines = insert_lines(
            lines,
            carried + [readings[row] for row in same_file.tolist()],
            np.concatenate([carried_before, same_file_before]),
        )
        counts = batch.select(intact).counts() + ReadingCounts(
            duplicate_records=len(carried) + len(same_file),
            truncated_lines=len(broken.get("truncated", ())),
            wrong_type_lines=len(broken.get("wrong_type", ())),
        )
        return lines, counts

    def _land(self, window_start: datetime, kind: str, data: bytes, counts: ReadingCounts) -> None:
        name = readings_file_name(compact_timestamp(window_start), self.sequence, data)
        land_file(self.landing, name, data)
        self.landed.append(LandedFile(name, kind, window_start, counts))
        self.sequence += 1
