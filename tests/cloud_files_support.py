"""Helpers for the cloudFiles tests: land files, build an Auto Loader stream, run it to the end.

Every helper goes through the real path: files on disk, ``spark.readStream.format("cloudFiles")``,
a streaming query with a checkpoint, ``ingest_available``. Only the sink varies: Delta where
the table matters, or collecting each micro-batch's rows where only the source is under test
(a Delta commit costs a second or more; collecting costs almost nothing).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql.types import StructType

from smart_factory.runtime.cloud_files import install_cloud_files
from smart_factory.runtime.cloud_files.jvm_parsing import JVM_LISTING_CONF, uses_jvm_listing
from smart_factory.runtime.ingestion import IngestionResult, ingest_available

# A fixed clock for file modification times (2026-01-05T08:00:00Z): Spark's file source takes
# files oldest first, so tests that count files per micro-batch set the order explicitly.
BASE_MTIME = 1_767_600_000


def jsonl(*records: Mapping[str, Any]) -> str:
    """Records as JSON Lines text."""
    return "".join(json.dumps(record) + "\n" for record in records)


def land(folder: Path, name: str, content: str | bytes, *, mtime: float | None = None) -> Path:
    """Write one file into the landing folder, optionally with a given modification time."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def auto_loader(
    spark: SparkSession,
    landing: Path,
    schema_location: Path | None,
    options: Mapping[str, str] | None = None,
    schema: StructType | str | None = None,
    then: Callable[[DataFrame], DataFrame] | None = None,
) -> Callable[[], DataFrame]:
    """A ``build_stream`` for ``ingest_available``: JSON Auto Loader on ``landing``."""
    install_cloud_files()

    def build() -> DataFrame:
        reader = spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
        if schema_location is not None:
            reader = reader.option("cloudFiles.schemaLocation", str(schema_location))
        for key, value in (options or {}).items():
            reader = reader.option(key, value)
        if schema is not None:
            reader = reader.schema(schema)
        stream = reader.load(str(landing))
        return then(stream) if then else stream

    return build


@dataclass
class CollectedRun:
    """What a run read: its result, and each micro-batch's rows by batch id."""

    result: IngestionResult
    rows_by_batch: dict[int, list[Row]] = field(default_factory=dict)

    @property
    def rows(self) -> list[Row]:
        return [row for batch_id in sorted(self.rows_by_batch) for row in self.rows_by_batch[batch_id]]

    def files_per_batch(self) -> list[list[str]]:
        """File names read by each batch, in batch order (names sorted within a batch)."""
        by_batch: dict[int, list[str]] = {}
        for entry in self.result.files:
            by_batch.setdefault(entry["batch_id"], []).append(Path(entry["path"]).name)
        return [sorted(by_batch[batch_id]) for batch_id in sorted(by_batch)]


def collect_available(spark: SparkSession, build: Callable[[], DataFrame], checkpoint: Path) -> CollectedRun:
    """Run ``build()`` with ``availableNow`` through ``ingest_available``, keeping the rows."""
    collected: dict[int, list[Row]] = {}

    def keep_rows(batch: DataFrame, batch_id: int, _app_id: str) -> None:
        collected[batch_id] = batch.collect()

    result = ingest_available(spark, build, str(checkpoint / "unused_table"), str(checkpoint), write_batch=keep_rows)
    return CollectedRun(result, collected)


@contextmanager
def file_source(spark: SparkSession, which: str) -> Iterator[None]:
    """Streams defined inside use ``"listing"`` (the helper jar's source) or ``"spark"`` (Spark's own).

    ``"listing"`` needs the helper jar; a session without one (no JDK) skips the test.
    """
    if which == "listing" and not uses_jvm_listing(spark):
        pytest.skip("no helper jar here (no javac): cloudFiles uses Spark's file source")
    spark.conf.set(JVM_LISTING_CONF, str(which == "listing").lower())
    try:
        yield
    finally:
        spark.conf.unset(JVM_LISTING_CONF)
