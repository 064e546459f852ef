"""``smart-factory generate``, run in-process through the real top-level CLI."""

from __future__ import annotations

import json
import sys

import pytest

from smart_factory.cli import main
from smart_factory.lakehouse.paths import StoragePaths

SMALL = ["--devices", "50", "--files", "2", "--readings-per-file", "500"]


def generate(tmp_path, *options: str) -> int:
    return main(["generate", "--storage-root", str(tmp_path), *SMALL, *options])


def read_lines(folder) -> list[str]:
    return [line for path in sorted(folder.iterdir()) for line in path.read_text().splitlines()]


def test_generate_lands_the_registry_and_readings_and_says_where(tmp_path, capsys):
    assert generate(tmp_path) == 0

    paths = StoragePaths.from_env(tmp_path)
    names = sorted(path.name for path in paths.readings_landing.iterdir())
    assert len(names) == 2 and all(name.startswith("readings-20260105T080") for name in names)
    assert len(read_lines(paths.readings_landing)) == 1000
    registry = (paths.device_registry_landing / "devices.json").read_text().splitlines()
    assert len(registry) == 50 and json.loads(registry[0])["device_id"] == "DEV-00001"
    out, err = capsys.readouterr()
    assert "Landed 2 readings files (1,000 readings, jsonl)" in out
    assert str(paths.readings_landing) in out and "devices.json" in out
    assert err == "", "no progress bar when stderr is not a terminal"


def test_a_second_generate_continues_the_clock(tmp_path, capsys):
    assert generate(tmp_path, "--quiet") == 0
    assert generate(tmp_path, "--quiet", "--schema-change") == 0

    landing = StoragePaths.from_env(tmp_path).readings_landing
    names = sorted(path.name for path in landing.iterdir())
    assert [name.split("-")[1:3] for name in names] == [
        ["20260105T080000000Z", "000001"],
        ["20260105T080100000Z", "000002"],
        ["20260105T080200000Z", "000003"],
        ["20260105T080300000Z", "000004"],
    ]
    humidity = ["humidity_percent" in json.loads(line) for line in read_lines(landing)]
    assert humidity == [False] * 1000 + [True] * 1000
    assert capsys.readouterr().out == "", "--quiet prints nothing"


def test_scenario_flags_reach_the_files(tmp_path, capsys):
    code = generate(
        tmp_path,
        "--format",
        "json_array",
        "--overheating",
        "DEV-00007,DEV-00009",
        "--malformed",
        "--start",
        "2026-02-01T00:00:00Z",
        "--seed",
        "9",
    )
    assert code == 0

    landing = StoragePaths.from_env(tmp_path).readings_landing
    arrays, broken = [], []
    for path in sorted(landing.iterdir()):
        try:
            arrays.append(json.loads(path.read_bytes()))
        except json.JSONDecodeError:
            broken.append(path.name)
    assert len(arrays) == 2 and len(broken) == 3, "2 readings files; empty, not-JSON, truncated"
    records = [record for array in arrays for record in array]
    assert all(record["timestamp"].startswith("2026-02-01T00:0") for record in records)
    garbled = [record for record in records if record["temperature_celsius"] == "hot"]
    assert len(garbled) == 2, "one wrong-type line per file"
    hot = [
        record["temperature_celsius"]
        for record in records
        if record["device_id"] in {"DEV-00007", "DEV-00009"} and record not in garbled
    ]
    assert hot and all(42 <= temperature <= 48 for temperature in hot)
    out = capsys.readouterr().out
    assert "overheating: DEV-00007, DEV-00009" in out and "1 truncated_array" in out


@pytest.mark.parametrize(("quiet", "bar_shown"), [([], True), (["--quiet"], False)])
def test_a_large_run_on_a_terminal_shows_a_progress_bar_unless_quiet(
    tmp_path, capsys, monkeypatch, quiet, bar_shown
):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    large = ["--files", "2", "--readings-per-file", "50000"]
    assert main(["generate", "--storage-root", str(tmp_path), *large, *quiet]) == 0
    assert ("landing: 100%" in capsys.readouterr().err) is bar_shown


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--late-share", "1.5"], "late_share must be a fraction from 0.0 to 1.0"),
        (["--duplicate-share", "-0.2"], "duplicate_share must be a fraction"),
        (["--start", "soon"], "start must be an ISO-8601 time"),
        (["--overheating", "DEV-99999"], "overheating_devices names unknown device ids"),
        (["--overheating", "51"], "overheating_devices asks for 51 devices"),
        (["--files", "0"], "num_files must be a whole number from 1"),
        (["--devices", "0"], "num_devices must be a whole number from 1"),
    ],
)
def test_bad_values_exit_2_with_one_clear_line(tmp_path, capsys, options, message):
    assert generate(tmp_path, *options) == 2

    err = capsys.readouterr().err
    assert err.startswith("smart-factory: error: ") and message in err
    assert err.count("\n") == 1
    assert not StoragePaths.from_env(tmp_path).readings_landing.exists()


@pytest.mark.parametrize(
    "options",
    [["--format", "csv"], ["--files", "many"], ["--now", "--start", "2026-01-01T00:00:00Z"]],
)
def test_unparseable_arguments_exit_2_from_argparse(tmp_path, capsys, options):
    with pytest.raises(SystemExit) as exited:
        generate(tmp_path, *options)
    assert exited.value.code == 2
    assert "smart-factory generate: error:" in capsys.readouterr().err
