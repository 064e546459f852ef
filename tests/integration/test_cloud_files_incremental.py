"""Incremental, exactly-once ingestion: new files only, late files too, bounded micro-batches.

Databricks, "What is Auto Loader?"
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/index.html): each
file is processed exactly once, the checkpoint remembering which; ``Trigger.AvailableNow``
processes what is there and stops; ``cloudFiles.maxFilesPerTrigger`` (default 1000) and
``cloudFiles.maxBytesPerTrigger`` bound each micro-batch ("Auto Loader options",
https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/options.html).

Every test runs over both file sources: the helper jar's and Spark's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud_files_support import BASE_MTIME, auto_loader, collect_available, file_source, jsonl, land

from smart_factory.errors import CloudFilesOptionError
from smart_factory.runtime.ingestion import ingest_available


@pytest.fixture(autouse=True, params=["listing", "spark"])
def each_file_source(spark, request) -> Iterator[None]:
    with file_source(spark, request.param):
        yield


def readings(prefix: str, count: int) -> str:
    return jsonl(*({"device_id": f"{prefix}-{index}", "temperature_celsius": 20 + index} for index in range(count)))


def test_each_run_ingests_only_the_new_files_exactly_once(spark, tmp_path) -> None:
    landing, table, checkpoint = tmp_path / "landing", str(tmp_path / "bronze"), str(tmp_path / "checkpoint")
    land(landing, "a.json", readings("A", 3), mtime=BASE_MTIME)
    land(landing, "b.json", readings("B", 2), mtime=BASE_MTIME + 60)
    build = auto_loader(spark, landing, tmp_path / "schema")

    first = ingest_available(spark, build, table, checkpoint)
    land(landing, "c.json", readings("C", 2), mtime=BASE_MTIME + 120)
    second = ingest_available(spark, build, table, checkpoint)
    third = ingest_available(spark, build, table, checkpoint)

    assert sorted(entry["path"].rsplit("/", 1)[1] for entry in first.files) == ["a.json", "b.json"]
    assert [entry["path"].rsplit("/", 1)[1] for entry in second.files] == ["c.json"]
    assert (first.rows_written, second.rows_written, third.rows_written) == (5, 2, 0)
    assert third.files == []
    # availableNow: each run stopped by itself once everything available was read.
    assert spark.streams.active == []
    device_ids = [row.device_id for row in spark.read.format("delta").load(table).collect()]
    assert sorted(device_ids) == ["A-0", "A-1", "A-2", "B-0", "B-1", "C-0", "C-1"]


def test_volume_paths_work_for_the_landing_folder_and_the_schema_location(spark, storage, tmp_path) -> None:
    volume = f"/Volumes/main/smart_factory/landing/{tmp_path.name}"
    build = auto_loader(spark, Path(f"{volume}/readings"), Path(f"{volume}/_schemas_of_readings"))
    land(Path(storage.resolve(f"{volume}/readings")), "a.json", readings("V", 2))

    run = collect_available(spark, build, tmp_path / "checkpoint")

    assert sorted(row.device_id for row in run.rows) == ["V-0", "V-1"]
    assert (Path(storage.resolve(f"{volume}/_schemas_of_readings")) / "_schemas" / "0").is_file()


def test_a_late_file_with_an_old_modification_time_is_still_ingested(spark, tmp_path) -> None:
    landing, checkpoint = tmp_path / "landing", tmp_path / "checkpoint"
    land(landing, "today.json", readings("NOW", 1), mtime=BASE_MTIME)
    build = auto_loader(spark, landing, tmp_path / "schema")
    collect_available(spark, build, checkpoint)
    # Copied in later but stamped a year earlier: Spark's file source alone would skip it
    # (maxFileAge, 7 days behind the newest file); Auto Loader does not.
    land(landing, "buffered.json", readings("LATE", 2), mtime=BASE_MTIME - 365 * 24 * 3600)

    late = collect_available(spark, build, checkpoint)

    assert sorted(row.device_id for row in late.rows) == ["LATE-0", "LATE-1"]


def test_max_files_per_trigger_bounds_each_micro_batch(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    for index in range(5):
        land(landing, f"f{index}.json", readings(f"F{index}", 2), mtime=BASE_MTIME + 60 * index)
    build = auto_loader(spark, landing, tmp_path / "schema", {"cloudFiles.maxFilesPerTrigger": "2"})

    run = collect_available(spark, build, tmp_path / "checkpoint")

    # Oldest files first, two per micro-batch.
    assert run.files_per_batch() == [["f0.json", "f1.json"], ["f2.json", "f3.json"], ["f4.json"]]
    assert run.result.batches == [0, 1, 2]
    assert len(run.rows) == 10


def test_max_bytes_per_trigger_bounds_each_micro_batch(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    sizes = []
    for index in range(4):
        sizes.append(land(landing, f"f{index}.json", readings(f"F{index}", 8), mtime=BASE_MTIME + index).stat().st_size)
    # Room for two files but not three: a soft limit, as in Auto Loader.
    limit = 2 * max(sizes) + 1
    build = auto_loader(spark, landing, tmp_path / "schema", {"cloudFiles.maxBytesPerTrigger": str(limit)})

    run = collect_available(spark, build, tmp_path / "checkpoint")

    assert 2 * max(sizes) < limit < 3 * min(sizes)
    assert run.files_per_batch() == [["f0.json", "f1.json"], ["f2.json", "f3.json"]]
    assert len(run.rows) == 32


def test_both_rate_limits_at_once_is_a_clear_error(spark, tmp_path) -> None:
    land(tmp_path / "landing", "a.json", readings("A", 1))
    both = {"cloudFiles.maxFilesPerTrigger": "10", "cloudFiles.maxBytesPerTrigger": "10m"}
    with pytest.raises(CloudFilesOptionError, match="maxFilesPerTrigger and cloudFiles.maxBytesPerTrigger"):
        auto_loader(spark, tmp_path / "landing", tmp_path / "schema", both)()


def test_the_run_reports_every_file_with_its_batch_and_record_count(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", readings("A", 3), mtime=BASE_MTIME)
    land(landing, "b.json", readings("B", 2) + '{"device_id": "B-broken', mtime=BASE_MTIME + 1)
    land(landing, "c.json", readings("C", 4), mtime=BASE_MTIME + 2)
    build = auto_loader(spark, landing, tmp_path / "schema", {"cloudFiles.maxFilesPerTrigger": "2"})

    run = collect_available(spark, build, tmp_path / "checkpoint")

    assert ledger_of(run) == [(0, "a.json", 3), (0, "b.json", 3), (1, "c.json", 4)]
    assert run.result.rows_written == 10 == len(run.rows)


def test_an_empty_file_is_reported_with_zero_records(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", readings("A", 3), mtime=BASE_MTIME)
    land(landing, "empty.json", "", mtime=BASE_MTIME + 1)

    run = collect_available(spark, auto_loader(spark, landing, tmp_path / "schema"), tmp_path / "checkpoint")

    assert ledger_of(run) == [(0, "a.json", 3), (0, "empty.json", 0)]


def ledger_of(run) -> list[tuple[int, str, int]]:
    return sorted((entry["batch_id"], entry["path"].rsplit("/", 1)[1], entry["records"]) for entry in run.result.files)
