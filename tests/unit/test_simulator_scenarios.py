"""Landed readings, read back from real files and checked against the manifest, per scenario."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator

SEED = 7
BASE_FIELDS = {
    "device_id",
    "timestamp",
    "temperature_celsius",
    "vibration_hz",
    "plant",
    "floor",
    "line",
}


@pytest.fixture(scope="module")
def registry() -> DeviceRegistry:
    return DeviceRegistry.generate(num_devices=500, seed=SEED)


@dataclass
class LandedText:
    """What a reader finds in one file: parsed readings and the lines that are broken."""

    records: list[dict] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # each record's JSON text (jsonl only)
    truncated: list[str] = field(default_factory=list)
    wrong_type: list[dict] = field(default_factory=list)


def read_file(path: Path, file_format: str) -> LandedText:
    """Parse a readings file the way a strict reader would; raises if the file is not JSON."""
    landed = LandedText()
    if file_format == "json_array":
        elements = json.loads(path.read_bytes())
        assert isinstance(elements, list)
        pairs = [(json.dumps(element), element) for element in elements]
    else:
        pairs = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                pairs.append((line, json.loads(line)))
            except json.JSONDecodeError:
                assert line.startswith('{"device_id":'), line
                landed.truncated.append(line)
    for text, record in pairs:
        if isinstance(record["temperature_celsius"], str):
            landed.wrong_type.append(record)
        else:
            landed.records.append(record)
            landed.lines.append(text)
    return landed


def read_run(manifest: LandingManifest) -> dict[str, LandedText]:
    return {
        landed.name: read_file(manifest.landing_dir / landed.name, manifest.file_format)
        for landed in manifest.reading_files
    }


def land(
    registry: DeviceRegistry,
    folder: Path,
    scenario: Scenario | None = None,
    file_format: str = "jsonl",
    num_files: int = 4,
    readings_per_file: int = 5000,
) -> LandingManifest:
    simulator = SensorSimulator(registry, seed=SEED, file_format=file_format)
    return simulator.land_batches(
        folder / "sensor_readings",
        num_files=num_files,
        readings_per_file=readings_per_file,
        scenario=scenario,
    )


def parse_time(text: str) -> datetime:
    assert text.endswith("Z") and len(text) == len("2026-01-05T08:00:00.123Z"), text
    return datetime.fromisoformat(text)


def all_records(run: dict[str, LandedText]) -> list[dict]:
    return [record for landed in run.values() for record in landed.records]


@pytest.mark.parametrize("file_format", ["jsonl", "json_array"])
def test_everyday_readings_have_the_documented_shape(registry, tmp_path, file_format):
    manifest = land(registry, tmp_path, file_format=file_format)
    devices = {device.device_id: device for device in registry}
    run = read_run(manifest)

    assert len(run) == 4 and manifest.malformed_files == {}
    for landed_file, (name, landed) in zip(manifest.reading_files, run.items(), strict=True):
        assert name == landed_file.name and not landed.truncated and not landed.wrong_type
        window_start = landed_file.window_start
        times = [parse_time(record["timestamp"]) for record in landed.records]
        assert times == sorted(times), "a file lists readings in arrival order"
        assert all(window_start <= moment < window_start + timedelta(minutes=1) for moment in times)
        keys = [(record["device_id"], record["timestamp"]) for record in landed.records]
        with_ids = [key for key in keys if key[0] is not None]
        assert len(set(with_ids)) == len(with_ids), "(device_id, timestamp) is unique in a file"
        for record in landed.records:
            assert set(record) == BASE_FIELDS
            assert isinstance(record["temperature_celsius"], float)
            assert isinstance(record["vibration_hz"], float)
            assert isinstance(record["floor"], int)
            if record["device_id"] is not None:
                device = devices[record["device_id"]]
                assert (record["plant"], record["floor"], record["line"]) == (
                    device.plant,
                    device.floor,
                    device.line,
                )


def test_normal_and_anomalous_values_stay_in_their_ranges(registry, tmp_path):
    manifest = land(registry, tmp_path, readings_per_file=20_000)
    baselines = {device.device_id: device for device in registry}
    records = all_records(read_run(manifest))
    anomalies = [record for record in records if record["vibration_hz"] > 80]
    normal = [record for record in records if record["vibration_hz"] <= 80]

    assert all(20 <= record["temperature_celsius"] <= 38 for record in normal)
    assert all(record["vibration_hz"] >= 20 for record in normal)
    for record in anomalies:
        device = baselines[record["device_id"]]
        rise = record["temperature_celsius"] - device.temperature_baseline_celsius
        factor = record["vibration_hz"] / device.vibration_baseline_hz
        assert 2 - 0.01 <= rise <= 6 + 0.01
        assert record["temperature_celsius"] < 40  # under the overheating line
        assert 3 - 0.001 <= factor <= 5 + 0.001
    # Only anomalies shake beyond 80 Hz, so the data itself shows the exact count.
    totals = manifest.totals
    assert len(anomalies) == totals.anomalous_readings
    assert 0.004 <= totals.anomalous_readings / totals.readings <= 0.006
    missing = [record for record in records if record["device_id"] is None]
    assert len(missing) == totals.readings_without_device_id
    assert 0.008 <= len(missing) / totals.readings <= 0.012
    assert len(records) == totals.readings == 80_000
    assert totals.normal_readings == totals.readings - len(anomalies) - len(missing)


def test_both_formats_carry_the_same_readings(registry, tmp_path):
    lines = land(registry, tmp_path / "lines", file_format="jsonl", num_files=2)
    arrays = land(registry, tmp_path / "arrays", file_format="json_array", num_files=2)

    first = next(iter(read_run(arrays).values()))
    assert (arrays.landing_dir / arrays.files[0].name).read_bytes().startswith(b"[\n{")
    assert all_records(read_run(lines)) == all_records(read_run(arrays))
    assert first.records, "a JSON array file holds the readings as elements"


def test_schema_change_adds_humidity_and_changes_nothing_else(registry, tmp_path):
    before = land(registry, tmp_path / "before", num_files=2)
    after = land(registry, tmp_path / "after", Scenario(schema_change=True), num_files=2)

    old, new = all_records(read_run(before)), all_records(read_run(after))
    assert all(set(record) == BASE_FIELDS | {"humidity_percent"} for record in new)
    assert all(20 <= record["humidity_percent"] <= 80 for record in new)
    assert [{k: v for k, v in record.items() if k != "humidity_percent"} for record in new] == old
    assert after.totals.readings_with_humidity == after.totals.readings
    assert before.totals.readings_with_humidity == 0


def test_overheating_devices_run_at_42_to_48_degrees(registry, tmp_path):
    manifest = land(registry, tmp_path, Scenario(overheating_devices=5))
    records = all_records(read_run(manifest))
    hot_ids = set(manifest.overheating_device_ids)
    overheating = [record for record in records if record["device_id"] in hot_ids]

    assert len(hot_ids) == 5
    assert {record["device_id"] for record in overheating} == hot_ids
    assert all(42 <= record["temperature_celsius"] <= 48 for record in overheating)
    assert len(overheating) == manifest.totals.overheating_readings
    others = [record for record in records if record["device_id"] not in hot_ids]
    assert all(record["temperature_celsius"] < 40 or record["vibration_hz"] > 80 for record in others)


def test_overheating_count_picks_the_same_devices_each_run(registry, tmp_path):
    first = land(registry, tmp_path / "a", Scenario(overheating_devices=3), num_files=1)
    second = land(registry, tmp_path / "b", Scenario(overheating_devices=3), num_files=1)
    assert first.overheating_device_ids == second.overheating_device_ids


def test_overheating_by_device_ids(registry, tmp_path):
    chosen = ("DEV-00002", "DEV-00400")
    manifest = land(registry, tmp_path, Scenario(overheating_devices=list(chosen)))
    records = all_records(read_run(manifest))

    assert manifest.overheating_device_ids == chosen
    temperatures = [r["temperature_celsius"] for r in records if r["device_id"] in chosen]
    assert temperatures and all(42 <= value <= 48 for value in temperatures)


def test_late_readings_are_stamped_hours_in_the_past(registry, tmp_path):
    manifest = land(registry, tmp_path, Scenario(late_share=0.05, late_hours=(3, 6)))
    late = 0
    for landed_file, landed in zip(manifest.reading_files, read_run(manifest).values(), strict=True):
        window_start = landed_file.window_start
        window_end = window_start + timedelta(minutes=1)
        for record in landed.records:
            moment = parse_time(record["timestamp"])
            if moment < window_start:
                late += 1
                assert window_start - timedelta(hours=6) <= moment < window_end - timedelta(hours=3)
                assert record["device_id"] is not None and record["vibration_hz"] <= 80
    assert late == manifest.totals.late_readings
    assert 0.04 <= late / manifest.totals.readings <= 0.06


def test_duplicates_are_exact_copies_in_the_same_or_the_next_file(registry, tmp_path):
    manifest = land(registry, tmp_path, Scenario(duplicate_share=0.02))
    seen: set[str] = set()
    copies_per_file = []
    same_file = later_file = 0
    for landed in read_run(manifest).values():
        seen_in_this_file: set[str] = set()
        copies = 0
        for line in landed.lines:
            if line in seen_in_this_file:
                same_file += 1
            elif line in seen:
                later_file += 1
            else:
                seen_in_this_file.add(line)
                continue
            copies += 1
            assert json.loads(line)["device_id"] is not None, "only readings with an id repeat"
        copies_per_file.append(copies)
        seen |= seen_in_this_file
    assert copies_per_file == [landed.counts.duplicate_records for landed in manifest.files]
    assert same_file > 0 and later_file > 0
    totals = manifest.totals
    assert same_file + later_file == totals.duplicate_records == totals.records - totals.readings
    assert 0.015 <= totals.duplicate_records / totals.readings <= 0.025


@pytest.mark.parametrize(
    ("file_format", "line_kinds", "file_kinds"),
    [
        ("jsonl", {"truncated", "wrong_type"}, {"empty", "not_json"}),
        ("json_array", {"wrong_type"}, {"empty", "not_json", "truncated_array"}),
    ],
)
def test_malformed_lines_and_files_fail_exactly_as_the_manifest_says(
    registry, tmp_path, file_format, line_kinds, file_kinds
):
    scenario = Scenario(malformed=True, malformed_share=0.002)
    manifest = land(registry, tmp_path, scenario, file_format=file_format)
    run = read_run(manifest)
    totals = manifest.totals

    assert set(manifest.malformed_files) == file_kinds
    assert all(count == 1 for count in manifest.malformed_files.values())
    for landed in manifest.files:
        path = manifest.landing_dir / landed.name
        if landed.kind == "empty":
            assert path.read_bytes() == b""
        elif landed.kind in {"not_json", "truncated_array"}:
            with pytest.raises(json.JSONDecodeError):
                json.loads(path.read_bytes())
    assert sum(len(landed.truncated) for landed in run.values()) == totals.truncated_lines
    assert sum(len(landed.wrong_type) for landed in run.values()) == totals.wrong_type_lines
    assert {kind for kind, count in totals.malformed_lines.items() if count} == line_kinds
    assert all(record["temperature_celsius"] == "hot" for r in run.values() for record in r.wrong_type)
    # A garbled line replaces its reading: every line the gateway sent is accounted for.
    broken = totals.truncated_lines + totals.wrong_type_lines
    assert broken == 4 * 10 * len(line_kinds), "0.2% of 5,000 lines per kind in each of 4 files"
    assert totals.readings + broken == 4 * 5000
    assert len(all_records(run)) == totals.readings


def test_all_scenarios_together_keep_every_count_exact(registry, tmp_path):
    scenario = Scenario(
        schema_change=True,
        overheating_devices=5,
        late_share=0.02,
        duplicate_share=0.01,
        malformed=True,
    )
    manifest = land(registry, tmp_path, scenario)
    run = read_run(manifest)
    totals = manifest.totals
    unique = {line for landed in run.values() for line in landed.lines}
    records = [json.loads(line) for line in unique]
    hot_ids = set(manifest.overheating_device_ids)

    assert len(unique) == totals.readings
    assert totals.readings == (
        totals.normal_readings
        + totals.anomalous_readings
        + totals.overheating_readings
        + totals.late_readings
        + totals.readings_without_device_id
    )
    assert Counter(
        "overheating"
        if record["device_id"] in hot_ids
        else "missing_id"
        if record["device_id"] is None
        else "anomalous"
        if record["vibration_hz"] > 80
        else "other"
        for record in records
    ) == {
        "overheating": totals.overheating_readings,
        "missing_id": totals.readings_without_device_id,
        "anomalous": totals.anomalous_readings,
        "other": totals.normal_readings + totals.late_readings,
    }
    assert sum(len(landed.lines) for landed in run.values()) == totals.records


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"anomaly_share": 1.5}, "anomaly_share"),
        ({"missing_device_id_share": -0.1}, "missing_device_id_share"),
        ({"late_share": float("nan")}, "late_share"),
        ({"duplicate_share": "often"}, "duplicate_share"),
        ({"malformed_share": 2}, "malformed_share"),
        ({"late_hours": (6, 3)}, "late_hours"),
        ({"late_hours": (0, 3)}, "late_hours"),
        ({"overheating_devices": -1}, "overheating_devices"),
        ({"overheating_devices": 2.5}, "overheating_devices"),
    ],
)
def test_bad_scenario_parameters_name_the_parameter(arguments, parameter):
    with pytest.raises(SimulatorConfigError, match=parameter) as raised:
        Scenario(**arguments)
    assert repr(next(iter(arguments.values())))[:4] in str(raised.value)


def test_overheating_devices_must_exist_in_the_registry(registry, tmp_path):
    with pytest.raises(SimulatorConfigError, match="overheating_devices.*DEV-99999"):
        land(registry, tmp_path, Scenario(overheating_devices=("DEV-99999",)))
    with pytest.raises(SimulatorConfigError, match="overheating_devices asks for 501"):
        land(registry, tmp_path, Scenario(overheating_devices=501))
    assert not (tmp_path / "sensor_readings").exists(), "nothing lands when the scenario is wrong"
