"""Determinism and the simulated clock: same seed and start, same bytes; runs continue in time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator import (
    DEFAULT_FILE_INTERVAL,
    DEFAULT_START,
    ClockState,
    DeviceRegistry,
    Scenario,
    SensorSimulator,
)
from smart_factory.simulator.clock import format_timestamp, parse_timestamp

EVERYTHING = Scenario(
    schema_change=True,
    overheating_devices=3,
    late_share=0.02,
    duplicate_share=0.02,
    malformed=True,
)
NAME = re.compile(r"readings-(\d{8}T\d{9}Z)-(\d{6})-[0-9a-f]{8}\.json")


@pytest.fixture(scope="module")
def registry() -> DeviceRegistry:
    return DeviceRegistry.generate(num_devices=200, seed=3)


def landed_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def land(registry, folder, seed=3, **options):
    num_files = options.pop("num_files", 3)
    scenario = options.pop("scenario", None)
    simulator = SensorSimulator(registry, seed=seed, **options)
    return simulator.land_batches(folder, num_files=num_files, readings_per_file=2000, scenario=scenario)


@pytest.mark.parametrize("file_format", ["jsonl", "json_array"])
def test_same_seed_gives_byte_identical_files_under_identical_names(registry, tmp_path, file_format):
    first = land(registry, tmp_path / "a" / "readings", file_format=file_format, scenario=EVERYTHING)
    second = land(registry, tmp_path / "b" / "readings", file_format=file_format, scenario=EVERYTHING)

    files = landed_files(tmp_path / "a" / "readings")
    assert len(files) == len(first.files) >= 5
    assert files == landed_files(tmp_path / "b" / "readings")
    assert first.to_dict() | {"landing_dir": None} == second.to_dict() | {"landing_dir": None}


def test_another_seed_gives_other_data(registry, tmp_path):
    land(registry, tmp_path / "a", seed=3)
    land(registry, tmp_path / "b", seed=4)
    first, second = landed_files(tmp_path / "a"), landed_files(tmp_path / "b")
    assert len(first) == len(second) == 3
    assert set(first).isdisjoint(second)
    assert set(first.values()).isdisjoint(second.values())


def test_file_names_carry_window_start_sequence_and_content_hash(registry, tmp_path):
    manifest = land(registry, tmp_path / "readings")
    names = [landed.name for landed in manifest.files]

    assert names == sorted(names)
    matches = [NAME.fullmatch(name) for name in names]
    assert [match.group(1) for match in matches] == [
        "20260105T080000000Z",
        "20260105T080100000Z",
        "20260105T080200000Z",
    ]
    assert [match.group(2) for match in matches] == ["000001", "000002", "000003"]


def test_successive_runs_continue_the_clock_and_the_file_numbers(registry, tmp_path):
    split = tmp_path / "split" / "readings"
    first = land(registry, split, num_files=2)
    second = land(registry, split, num_files=3)
    land(registry, tmp_path / "whole" / "readings", num_files=5)

    assert first.start == DEFAULT_START
    assert second.start == first.next_start == DEFAULT_START + timedelta(minutes=2)
    assert second.next_start == DEFAULT_START + timedelta(minutes=5)
    state = json.loads((tmp_path / "split" / "_simulator" / "readings.clock.json").read_text())
    assert state == {"next_start": "2026-01-05T08:05:00.000Z", "next_sequence": 6}
    # Each file depends only on the seed and its window, so two runs equal one longer run.
    assert landed_files(split) == landed_files(tmp_path / "whole" / "readings")


def test_explicit_start_is_used_and_the_clock_continues_after_it(registry, tmp_path):
    folder = tmp_path / "readings"
    land(registry, folder, num_files=1)
    manifest = land(registry, folder, num_files=2, start="2026-03-01T12:00:00+02:00")

    assert manifest.start == datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    assert [NAME.fullmatch(f.name).group(2) for f in manifest.files] == ["000002", "000003"]
    assert ClockState.load(folder) == ClockState(datetime(2026, 3, 1, 10, 2, tzinfo=UTC), 4)
    assert land(registry, folder, num_files=1).start == datetime(2026, 3, 1, 10, 2, tzinfo=UTC)


def test_now_ends_the_run_at_the_wall_clock(registry, tmp_path):
    before = datetime.now(UTC)
    manifest = land(registry, tmp_path / "readings", now=True, num_files=2)
    after = datetime.now(UTC)

    assert before - timedelta(milliseconds=1) <= manifest.next_start <= after
    assert manifest.start == manifest.next_start - timedelta(minutes=2)
    newest = max(
        json.loads(line)["timestamp"]
        for path in (tmp_path / "readings").iterdir()
        for line in path.read_text().splitlines()
    )
    assert newest <= format_timestamp(after)


def test_a_shorter_file_interval_packs_readings_into_it(registry, tmp_path):
    manifest = land(registry, tmp_path / "readings", file_interval=timedelta(seconds=10))
    assert manifest.next_start - manifest.start == timedelta(seconds=30)
    lines = (tmp_path / "readings" / manifest.files[0].name).read_text().splitlines()
    assert max(json.loads(line)["timestamp"] for line in lines) < "2026-01-05T08:00:10"


def test_an_unreadable_clock_state_says_what_to_do(registry, tmp_path):
    state = tmp_path / "_simulator" / "readings.clock.json"
    state.parent.mkdir()
    state.write_text("{not json")
    with pytest.raises(SimulatorConfigError, match="readings.clock.json is unreadable.*delete it"):
        land(registry, tmp_path / "readings")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T08:00:00Z", "2026-01-05T08:00:00.000Z"),
        ("2026-01-05T09:00:00.1234+01:00", "2026-01-05T08:00:00.123Z"),
        ("2026-01-05 08:00", "2026-01-05T08:00:00.000Z"),
    ],
)
def test_times_are_read_as_utc_and_written_with_milliseconds(text, expected):
    assert format_timestamp(parse_timestamp(text)) == expected


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"start": "yesterday"}, r"start must be an ISO-8601 time .* got 'yesterday'"),
        ({"start": "1960-01-01T00:00:00Z"}, r"start must be after 1970"),
        ({"start": "2026-01-05T08:00:00Z", "now": True}, r"start and now are alternatives"),
        ({"file_format": "csv"}, r"file_format must be one of jsonl, json_array, got 'csv'"),
        ({"file_interval": timedelta(0)}, r"file_interval must be a timedelta"),
        ({"seed": -5}, r"seed must be a whole number from 0 to .* got -5"),
    ],
)
def test_bad_simulator_parameters_name_the_parameter(registry, options, pattern):
    with pytest.raises(SimulatorConfigError, match=pattern):
        SensorSimulator(registry, **options)


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"num_files": 0}, r"num_files must be a whole number from 1 to 100,000, got 0"),
        ({"readings_per_file": -1}, r"readings_per_file must be .* got -1"),
        ({"readings_per_file": 12_000_001}, r"readings_per_file must be .* got 12000001"),
        ({"scenario": {"late_share": 0.1}}, r"scenario must be a Scenario, got dict"),
        (
            {"readings_per_file": 200 * 10 + 1, "file_interval": timedelta(milliseconds=10)},
            r"readings_per_file=2,001 gives a device 11 readings in a 10 ms window",
        ),
    ],
)
def test_bad_run_parameters_name_the_parameter(registry, tmp_path, options, pattern):
    simulator = SensorSimulator(registry, file_interval=options.pop("file_interval", DEFAULT_FILE_INTERVAL))
    with pytest.raises(SimulatorConfigError, match=pattern):
        simulator.land_batches(tmp_path / "readings", **options)
    assert not (tmp_path / "readings").exists()
