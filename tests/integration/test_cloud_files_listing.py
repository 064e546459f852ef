"""The helper jar's file source (``ListingFileSource.java``) against Spark's own file source.

It must find exactly the files Spark's source finds, name them alike (the names land in
``_metadata.file_path``, the ledger and the checkpoint), and keep its checkpoint in Spark's
layout, so a stream can move from one source to the other and still read each file once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud_files_support import BASE_MTIME, auto_loader, collect_available, file_source, jsonl, land
from pyspark.sql import functions as F

from smart_factory.runtime.ledger import committed_source_files

# Spark's settings for its file source log, which the helper jar's source follows too.
LOG_SETTINGS = {
    "spark.sql.streaming.fileSource.log.compactInterval": "3",
    "spark.sql.streaming.fileSource.log.cleanupDelay": "0",
}

# Names a landing folder may hold, with what Spark's listing does with each.
READ = [
    "plain.json", "2026/01/05/nested.json", "with space.json", "100%.json", "größe.json",
    "hash#1.json", "[bracket].json", "_k=v/partition-like.json", "plus+sign.json",
]  # fmt: skip
SKIPPED = ["_temporary.json", ".hidden.json", "_staging/inside.json", ".cache/inside.json", "part.json._COPYING_"]


def reading(name: str) -> str:
    return jsonl({"device_id": name, "temperature_celsius": 21.5})


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing"
    for index, name in enumerate(READ + SKIPPED):
        land(folder, name, reading(name), mtime=BASE_MTIME + index)
    return folder


@pytest.fixture
def compact_every_three_batches(spark) -> Iterator[None]:
    for key, value in LOG_SETTINGS.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key in LOG_SETTINGS:
            spark.conf.unset(key)


def read_with(spark, which: str, landing: Path, workspace: Path, **options: str):
    with_file_name = auto_loader(
        spark, landing, workspace / "schema", options, then=lambda stream: stream.withColumn(
            "file_path", F.col("_metadata.file_path"))
    )  # fmt: skip
    with file_source(spark, which):
        return collect_available(spark, with_file_name, workspace / "checkpoint")


def source_log(checkpoint: Path) -> list[dict]:
    """Every entry of the checkpoint's file log, from all its files (compact ones too)."""
    entries = []
    for log_file in sorted((checkpoint / "sources" / "0").iterdir()):
        if log_file.name[0].isdigit():
            lines = log_file.read_text(encoding="utf-8").splitlines()
            assert lines[0] == "v1"
            entries += [json.loads(line) for line in lines[1:]]
    return entries


def log_files(folder: Path) -> list[str]:
    return sorted(entry.name for entry in folder.iterdir() if entry.name[0].isdigit())


def test_both_sources_find_the_same_files_and_name_them_alike(spark, landing: Path, tmp_path: Path) -> None:
    runs = {which: read_with(spark, which, landing, tmp_path / which) for which in ("listing", "spark")}

    listed, sparks = runs["listing"], runs["spark"]
    assert sorted(row.device_id for row in listed.rows) == sorted(READ)
    assert sorted(row.device_id for row in sparks.rows) == sorted(READ)
    assert sorted(row.file_path for row in listed.rows) == sorted(row.file_path for row in sparks.rows)
    assert sorted(entry["path"] for entry in listed.result.files) == sorted(
        entry["path"] for entry in sparks.result.files
    )
    assert sorted(listed.result.committed_files) == sorted(sparks.result.committed_files)
    logged = {which: source_log(tmp_path / which / "checkpoint") for which in runs}
    assert sorted((e["path"], e["timestamp"], e["batchId"]) for e in logged["listing"]) == sorted(
        (e["path"], e["timestamp"], e["batchId"]) for e in logged["spark"]
    )


def test_a_name_glob_keeps_only_matching_files(spark, landing: Path, tmp_path: Path) -> None:
    land(landing, "notes.txt", reading("notes.txt"))
    runs = {
        which: read_with(spark, which, landing, tmp_path / which, pathGlobFilter="p*.json")
        for which in ("listing", "spark")
    }

    starting_with_p = ["_k=v/partition-like.json", "plain.json", "plus+sign.json"]
    for run in runs.values():
        assert sorted(row.device_id for row in run.rows) == starting_with_p


@pytest.mark.parametrize("order", [["spark", "listing", "spark"], ["listing", "spark", "listing"]])
def test_a_checkpoint_moves_between_the_two_sources(spark, tmp_path: Path, order: list[str]) -> None:
    landing, seen = tmp_path / "landing", []
    for run_number, which in enumerate(order):
        for index in range(2):
            name = f"run{run_number}-{index}.json"
            land(landing, name, reading(name), mtime=BASE_MTIME + 10 * run_number + index)
        run = read_with(spark, which, landing, tmp_path)
        seen.append(sorted(row.device_id for row in run.rows))

    assert seen == [[f"run{number}-0.json", f"run{number}-1.json"] for number in range(3)]


def test_the_log_is_compacted_and_cleaned_as_sparks_and_both_sources_restore_it(
    spark, tmp_path: Path, compact_every_three_batches: None
) -> None:
    landing, log_folder, read = tmp_path / "landing", tmp_path / "checkpoint" / "sources" / "0", []

    def one_new_file(which: str) -> None:
        name = f"file-{len(read)}.json"
        land(landing, name, reading(name), mtime=BASE_MTIME + len(read))
        read.extend(row.device_id for row in read_with(spark, which, landing, tmp_path).rows)

    for _ in range(4):
        one_new_file("listing")
    # Batch 2 is a compaction batch: its file repeats batches 0 and 1.
    assert log_files(log_folder) == ["0", "1", "2.compact", "3"]
    compacted = (log_folder / "2.compact").read_text().splitlines()
    assert [json.loads(line)["batchId"] for line in compacted[1:]] == [0, 1, 2]
    one_new_file("spark")
    one_new_file("listing")

    assert read == [f"file-{number}.json" for number in range(6)]
    # Writing 5.compact deleted what came before the previous compaction (no cleanup delay).
    assert log_files(log_folder) == ["3", "4", "5.compact"]
    # The ledger still finds the deleted batches' files, in the compact file that repeats them.
    by_batch = {Path(path).name: batch for path, batch in committed_source_files(tmp_path / "checkpoint").items()}
    assert by_batch == {f"file-{number}.json": number for number in range(6)}


@pytest.mark.parametrize("which", ["listing", "spark"])
def test_a_landing_folder_that_is_not_there_is_an_error_naming_it(spark, tmp_path: Path, which: str) -> None:
    missing = tmp_path / "no_such_landing"
    build = auto_loader(spark, missing, None, schema="device_id STRING")

    with file_source(spark, which), pytest.raises(Exception, match="PATH_NOT_FOUND.*no_such_landing"):
        build()
