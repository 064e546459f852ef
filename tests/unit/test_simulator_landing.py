"""Atomic landing: a reader listing the landing folder only ever sees whole files."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from smart_factory.simulator import DeviceRegistry, SensorSimulator, land_file


def visible_files(folder: Path) -> list[str]:
    # What a streaming reader (Spark, Auto Loader) lists: names not starting with "." or "_".
    if not folder.exists():
        return []
    return [name for name in os.listdir(folder) if not name.startswith((".", "_"))]


@pytest.mark.parametrize("file_format", ["json_array", "jsonl"])
def test_a_concurrent_reader_only_ever_sees_complete_files(tmp_path, file_format):
    landing = tmp_path / "landing" / "sensor_readings"
    simulator = SensorSimulator(
        DeviceRegistry.generate(num_devices=300, seed=5), seed=5, file_format=file_format
    )
    writer_done = threading.Event()
    problems: list[str] = []
    parsed_files: set[str] = set()

    def read_every_new_file() -> None:
        # A file is checked when first seen: with a non-atomic writer that is when it is partial.
        while True:
            finished = writer_done.is_set()
            for name in set(visible_files(landing)) - parsed_files:
                text = (landing / name).read_text(encoding="utf-8")
                try:
                    if file_format == "json_array":
                        json.loads(text)
                    else:
                        assert text.endswith("\n"), "ends mid-line"
                        for line in text.splitlines():
                            json.loads(line)
                except (ValueError, AssertionError) as error:
                    problems.append(f"{name}: {error!r}")
                parsed_files.add(name)
            if finished:
                return

    reader = threading.Thread(target=read_every_new_file)
    reader.start()
    try:
        manifest = simulator.land_batches(landing, num_files=20, readings_per_file=10_000)
    finally:
        writer_done.set()
        reader.join()

    assert problems == []
    assert parsed_files == {landed.name for landed in manifest.files}
    assert sorted(visible_files(landing)) == sorted(os.listdir(landing)), "nothing hidden inside"
    assert os.listdir(tmp_path / "landing" / "_simulator" / "staging") == []


def test_landing_leaves_only_the_named_file(tmp_path):
    path = land_file(tmp_path / "landing" / "zone", "a.json", b'{"a": 1}\n')

    assert path == tmp_path / "landing" / "zone" / "a.json"
    assert path.read_bytes() == b'{"a": 1}\n'
    assert os.listdir(path.parent) == ["a.json"]
    assert os.listdir(tmp_path / "landing" / "_simulator" / "staging") == []


def test_a_failed_rename_leaves_no_file_behind(tmp_path, monkeypatch):
    def broken_replace(source, target):
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk went away"):
        land_file(tmp_path / "zone", "a.json", b"{}")

    assert not (tmp_path / "zone" / "a.json").exists()
    assert os.listdir(tmp_path / "_simulator" / "staging") == []


def test_identical_bytes_are_not_rewritten_and_new_bytes_replace(tmp_path):
    path = land_file(tmp_path / "zone", "a.json", b"[1]")
    first = path.stat()

    land_file(tmp_path / "zone", "a.json", b"[1]")
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (first.st_ino, first.st_mtime_ns)

    land_file(tmp_path / "zone", "a.json", b"[2]")
    assert path.read_bytes() == b"[2]"
    assert path.stat().st_ino != first.st_ino, "replaced by rename, never rewritten in place"
