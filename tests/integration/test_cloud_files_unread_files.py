"""Files Auto Loader takes but does not read, said out loud: too large for the driver, or changed
after they were read (``runtime/cloud_files/unread_files.py``).

Each test lands real files, runs ``ingest_available`` into Delta with the ingestion ledger, and
checks what a user sees (the notice, the ledger's status and note) and that no record was lost
or read twice. The helper jar's listing source and Spark's own file source are both run; where
they differ (Spark's cannot leave a file out of a batch, nor read one twice), the test says so.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from cloud_files_support import BASE_MTIME, auto_loader, file_source, jsonl, land
from pyspark.sql import SparkSession

from smart_factory.errors import CloudFilesOptionError
from smart_factory.runtime.cloud_files.unread_files import MAX_FILE_SIZE_CONF, FileTooLargeError
from smart_factory.runtime.ingestion import IngestionResult, ingest_available

SOURCES = ["listing", "spark"]


def readings(first: int, count: int) -> str:
    return jsonl(*({"device_id": f"D-{n}", "temperature_celsius": 20.0 + n} for n in range(first, first + count)))


class Landing:
    """A landing folder streamed into a bronze Delta table, with its ledger."""

    def __init__(self, spark: SparkSession, folder: Path, options: dict[str, str] | None = None) -> None:
        self.spark, self.folder = spark, folder
        self.landing = folder / "landing"
        self.landing.mkdir(parents=True)
        self.bronze, self.ledger = folder / "bronze", folder / "ledger"
        self.build = auto_loader(spark, self.landing, folder / "schema", {"cloudFiles.schemaHints":
                                 "temperature_celsius DOUBLE", **(options or {})})  # fmt: skip

    def ingest(self) -> IngestionResult:
        return ingest_available(self.spark, self.build, str(self.bronze), str(self.folder / "checkpoint"),
                                ledger_path=str(self.ledger), run_id="test run")  # fmt: skip

    def device_ids(self) -> list[str]:
        return sorted(row.device_id for row in self.spark.read.format("delta").load(str(self.bronze)).collect())

    def ledger_rows(self, name: str) -> list[dict]:
        rows = self.spark.read.format("delta").load(str(self.ledger)).orderBy("recorded_at").collect()
        return [row.asDict() for row in rows if row.file_path.endswith("/" + name)]


@pytest.fixture
def small_file_limit(spark: SparkSession) -> Iterator[int]:
    """Files over 64 KB are too large (instead of a 32nd of the heap), so a test file is small."""
    spark.conf.set(MAX_FILE_SIZE_CONF, "64k")
    yield 64 * 1024
    spark.conf.unset(MAX_FILE_SIZE_CONF)


def one_line_of(size: int) -> str:
    """One reading on one line, ``size`` bytes long: a gateway's whole buffer in one record."""
    record = {"device_id": "BIG-1", "temperature_celsius": 1.0, "payload": ""}
    record["payload"] = "x" * (size - len(json.dumps(record)))
    return json.dumps(record)


def test_a_file_too_large_for_the_driver_is_named_skipped_and_the_rest_ingested(
    spark: SparkSession, tmp_path: Path, small_file_limit: int, caplog: pytest.LogCaptureFixture
) -> None:
    with file_source(spark, "listing"):
        landing = Landing(spark, tmp_path)
        land(landing.landing, "a.jsonl", readings(0, 3), mtime=BASE_MTIME)
        land(landing.landing, "big.json", one_line_of(2 * small_file_limit), mtime=BASE_MTIME + 1)
        land(landing.landing, "b.jsonl", readings(3, 3), mtime=BASE_MTIME + 2)

        with caplog.at_level(logging.WARNING, logger="smart_factory.runtime.ingestion"):
            first = landing.ingest()

        (notice,) = first.notices
        assert "big.json was not read: it is 0.1 MB, larger than the 0.1 MB a landed file may have" in notice
        assert MAX_FILE_SIZE_CONF in notice and "SMART_FACTORY_DRIVER_MEMORY" in notice
        assert [record.getMessage() for record in caplog.records] == [notice]  # on the console, once
        assert landing.device_ids() == [f"D-{n}" for n in range(6)]  # the rest, each once
        assert first.rows_written == 6
        (skipped,) = landing.ledger_rows("big.json")
        assert (skipped["status"], skipped["records"], skipped["file_size"]) == ("skipped", None, 2 * small_file_limit)
        assert skipped["note"] == notice
        (read,) = landing.ledger_rows("a.jsonl")
        assert (read["status"], read["records"], read["file_size"]) == ("ingested", 3, len(readings(0, 3)))

        # The file never blocks a later update: it was taken, so the next run reads only new files.
        land(landing.landing, "c.jsonl", readings(6, 2), mtime=BASE_MTIME + 3)
        second = landing.ingest()
        assert second.notices == [] and second.rows_written == 2
        assert landing.device_ids() == [f"D-{n}" for n in range(8)]
        assert len(landing.ledger_rows("big.json")) == 1


def test_without_the_listing_source_a_file_too_large_stops_the_stream_by_name_until_moved(
    spark: SparkSession, tmp_path: Path, small_file_limit: int
) -> None:
    with file_source(spark, "spark"):
        landing = Landing(spark, tmp_path)
        land(landing.landing, "a.jsonl", readings(0, 3), mtime=BASE_MTIME)
        big = land(landing.landing, "big.json", one_line_of(2 * small_file_limit), mtime=BASE_MTIME + 1)

        with pytest.raises(FileTooLargeError) as stopped:
            landing.ingest()

        message = str(stopped.value)
        assert "big.json stops the stream: it is 0.1 MB, larger than the 0.1 MB" in message
        assert "move it out of the landing folder" in message
        assert not list(landing.bronze.glob("_delta_log/*.json"))  # nothing half-written
        # Moved away, as the message says: the batch that took it is read without it.
        shutil.move(big, tmp_path / "big.json")
        rerun = landing.ingest()
        assert landing.device_ids() == ["D-0", "D-1", "D-2"]
        assert rerun.rows_written == 3


@pytest.mark.parametrize("source", SOURCES)
def test_records_appended_to_an_ingested_file_are_reported_once_not_read(
    spark: SparkSession, tmp_path: Path, source: str
) -> None:
    with file_source(spark, source):
        landing = Landing(spark, tmp_path)
        gateway_file = land(landing.landing, "gateway.jsonl", readings(0, 6), mtime=BASE_MTIME)
        assert landing.ingest().rows_written == 6
        with gateway_file.open("a") as appended:
            appended.write(readings(6, 4))
        os.utime(gateway_file, (BASE_MTIME + 60, BASE_MTIME + 60))

        second = landing.ingest()

        assert landing.device_ids() == [f"D-{n}" for n in range(6)]  # Auto Loader's default: read once
        if source == "spark":
            # Spark's own file source keeps no modification times it could compare: no notice.
            assert second.notices == []
            return
        (notice,) = second.notices
        assert notice.startswith(f"{gateway_file.as_uri().replace('file:///', 'file:/')} changed after it was ingested")
        assert "cloudFiles.allowOverwrites is false" in notice
        first_read, change = landing.ledger_rows("gateway.jsonl")
        assert (first_read["status"], first_read["records"]) == ("ingested", 6)
        assert (change["status"], change["batch_id"], change["records"]) == ("changed", -1, None)
        assert change["file_size"] == gateway_file.stat().st_size and change["note"] == notice
        # Reported once per change, not on every update.
        assert landing.ingest().notices == []
        assert len(landing.ledger_rows("gateway.jsonl")) == 2


def test_allow_overwrites_reads_a_changed_file_again_whole(spark: SparkSession, tmp_path: Path) -> None:
    with file_source(spark, "listing"):
        landing = Landing(spark, tmp_path, {"cloudFiles.allowOverwrites": "true"})
        gateway_file = land(landing.landing, "gateway.jsonl", readings(0, 6), mtime=BASE_MTIME)
        landing.ingest()
        with gateway_file.open("a") as appended:
            appended.write(readings(6, 4))
        os.utime(gateway_file, (BASE_MTIME + 60, BASE_MTIME + 60))

        second = landing.ingest()

        # As Databricks documents: the whole file again, so its first six records are there twice.
        assert second.rows_written == 10 and second.notices == []
        assert landing.device_ids() == sorted([f"D-{n}" for n in range(6)] * 2 + [f"D-{n}" for n in range(6, 10)])
        assert [(row["status"], row["records"]) for row in landing.ledger_rows("gateway.jsonl")] == [
            ("ingested", 6), ("ingested", 10)
        ]  # fmt: skip
        assert landing.ingest().rows_written == 0  # unchanged since: not read a third time


def test_allow_overwrites_without_the_listing_source_is_refused_by_name(spark: SparkSession, tmp_path: Path) -> None:
    with file_source(spark, "spark"):
        landing = Landing(spark, tmp_path, {"cloudFiles.allowOverwrites": "true"})
        land(landing.landing, "gateway.jsonl", readings(0, 6), mtime=BASE_MTIME)
        with pytest.raises(CloudFilesOptionError, match="cloudFiles.allowOverwrites=true on .* needs the helper jar"):
            landing.ingest()
