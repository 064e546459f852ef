"""The per-file ingestion ledger: which run read which file, and how many records it gave.

Spark's checkpoint knows which micro-batch took each file (``sources/0/<batch>``); the
cloudFiles source counts each file's records in the same pass that ingests them (an
``observe`` metric). After every run both are appended to one Delta table, queryable as
``smart_factory.ingestion_ledger``. Files taken by a run that died before it could record
them are recovered from the checkpoint on the next run, with their record count unknown.

Each row has a ``status``: ``ingested``; ``skipped``, a file taken but not read because it
is larger than the driver may hold; or ``changed``, a note (batch -1) that a file read
before has changed since and what changed was not read (see ``cloud_files.unread_files``).
``note`` says why in words; ``file_size`` and ``file_modification_time`` are the file's as read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from smart_factory.lakehouse.local_rows import local_rows
from smart_factory.runtime.delta_append import append_once
from smart_factory.runtime.delta_txn import committed_txn_version

if TYPE_CHECKING:
    from smart_factory.runtime.cloud_files.unread_files import ChangedFile

LEDGER_TABLE = "smart_factory.ingestion_ledger"
LEDGER_SCHEMA = StructType(
    [
        StructField("stream", StringType(), False),
        StructField("run_id", StringType(), True),
        StructField("batch_id", LongType(), False),
        StructField("file_path", StringType(), False),
        StructField("records", LongType(), True),
        StructField("recorded_at", TimestampType(), False),
        StructField("file_size", LongType(), True),
        StructField("file_modification_time", TimestampType(), True),
        StructField("status", StringType(), True),
        StructField("note", StringType(), True),
    ]
)
RECOVERED_RUN = "interrupted run (recovered from the checkpoint)"
INGESTED, SKIPPED, CHANGED = "ingested", "skipped", "changed"
NOTE_BATCH_ID = -1  # a ledger row that notes something about a file, not a micro-batch's read of it


@dataclass(frozen=True)
class LedgerEntry:
    batch_id: int
    file_path: str
    records: int | None
    size: int | None = None
    modified: datetime | None = None
    status: str = INGESTED
    note: str | None = None


def normalise_file_path(path: str) -> str:
    """``file:///a/b`` (checkpoint logs) and ``file:/a/b`` (``_metadata``) as one spelling.

    >>> normalise_file_path("file:///tmp/x.json"), normalise_file_path("file:/tmp/x.json")
    ('file:/tmp/x.json', 'file:/tmp/x.json')
    """
    if path.startswith("file:"):
        return "file:/" + path[len("file:") :].lstrip("/")
    return path


RECORDED_THROUGH_FILE = "_ledger_recorded_through"


def committed_source_files(checkpoint: str | Path, after_batch: int = -1) -> dict[str, int]:
    """``{file: batch_id}`` for every file of a committed micro-batch of source 0 after ``after_batch``."""
    commits = Path(checkpoint) / "commits"
    committed = {int(entry.name) for entry in commits.iterdir() if entry.name.isdigit()} if commits.is_dir() else set()
    return files_of_batches(checkpoint, {batch_id for batch_id in committed if batch_id > after_batch})


def files_of_batches(checkpoint: str | Path, batch_ids: set[int]) -> dict[str, int]:
    """``{file: batch_id}`` for the committed ones of ``batch_ids``, from source 0's log.

    Reads only those batches' log files (not the whole history), so the cost of a run
    follows its new files. Every few batches the log is compacted: ``<n>.compact`` repeats
    every earlier entry, and the files before an older compaction are deleted in time, so a
    batch whose own file is gone is read from the first compact file after it.
    """
    checkpoint = Path(checkpoint)
    source_log = checkpoint / "sources" / "0"
    wanted = {batch_id for batch_id in batch_ids if (checkpoint / "commits" / str(batch_id)).is_file()}
    log_files = []
    for batch_id in sorted(wanted):
        own = [source_log / str(batch_id), source_log / f"{batch_id}.compact"]
        log_files += [log_file for log_file in own if log_file.is_file()] or _compact_file_after(source_log, batch_id)
    files: dict[str, int] = {}
    for log_file in dict.fromkeys(log_files):  # each file once
        for line in log_file.read_text(encoding="utf-8").splitlines()[1:]:
            entry = json.loads(line)
            if entry["batchId"] in wanted:
                files[normalise_file_path(entry["path"])] = int(entry["batchId"])
    return files


def _compact_file_after(source_log: Path, batch_id: int) -> list[Path]:
    """The first ``<n>.compact`` file with ``n`` after ``batch_id`` (it repeats that batch), as a list."""
    compacted = {int(entry.name.split(".")[0]): entry for entry in source_log.glob("*.compact")
                 if entry.name.split(".")[0].isdigit()}  # fmt: skip
    later = [number for number in compacted if number > batch_id]
    return [compacted[min(later)]] if later else []


def append_to_ledger(
    spark: SparkSession,
    ledger_path: str,
    stream: str,
    run_id: str,
    observed: list[LedgerEntry],
    checkpoint: str | Path,
    run_batches: set[int],
    app_id: str,
) -> int:
    """Record this run's files, plus committed files no run has recorded yet; one Delta commit.

    A file of one of ``run_batches`` that no metric reported gave no records (Spark does not
    even open an empty file); any other unrecorded file was taken by a run that died.
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    candidates: dict[str, tuple] = {}
    for entry in observed:
        path = normalise_file_path(entry.file_path)
        candidates[path] = (stream, run_id, entry.batch_id, path, entry.records, now, entry.size, entry.modified,
                            entry.status, entry.note)  # fmt: skip
    marker = Path(checkpoint) / RECORDED_THROUGH_FILE
    recorded_through = int(marker.read_text()) if marker.exists() else -1
    for path, batch_id in committed_source_files(checkpoint, after_batch=recorded_through).items():
        if path not in candidates:
            # A file of this run that no metric reported gave no records (Spark does not even
            # open an empty file); any other was taken by a run that died before recording it.
            recovered = batch_id not in run_batches
            candidates[path] = (stream, RECOVERED_RUN if recovered else run_id, batch_id, path,
                                None if recovered else 0, now, None, None, INGESTED, None)  # fmt: skip
    if not candidates:
        return 0  # not an Auto Loader stream, or nothing new: no need to read the ledger
    # Each ledger write is an idempotent Delta transaction versioned by the newest batch it
    # covers, so a run that died after writing but before moving the marker is not recorded twice.
    ledger_app_id = f"{app_id}:ledger"
    last = committed_txn_version(spark, ledger_path, ledger_app_id)
    rows = [row for row in candidates.values() if last is None or row[2] > last]
    if rows:
        append_once(local_rows(spark, rows, LEDGER_SCHEMA), ledger_path, ledger_app_id, max(row[2] for row in rows),
                    {"mergeSchema": "true"})  # a ledger from before the status columns gains them
    # Remember how far the ledger is complete, so later runs need not look at older batches.
    marker.write_text(str(max((row[2] for row in candidates.values()), default=recorded_through)))
    return len(rows)


def note_changed_files(
    spark: SparkSession, ledger_path: str, stream: str, run_id: str, changed: list[ChangedFile]
) -> list[ChangedFile]:
    """Note each of ``changed`` that the ledger has not noted at that modification time yet.

    Returns those noted now: a file that changed once is reported once, not on every run.
    """
    if not changed:
        return []
    noted = _noted_changes(spark, ledger_path, stream, [file.path for file in changed])
    fresh = [file for file in changed if (normalise_file_path(file.path), _millis(file.modified)) not in noted]
    if fresh:
        now = datetime.now(UTC).replace(tzinfo=None)
        rows = [(stream, run_id, NOTE_BATCH_ID, normalise_file_path(file.path), None, now, file.size, file.modified,
                 CHANGED, file.message()) for file in fresh]  # fmt: skip
        # A plain append: a note repeated after a crash says the same thing twice, nothing is lost.
        local_rows(spark, rows, LEDGER_SCHEMA).write.format("delta").mode("append").option(
            "mergeSchema", "true"
        ).save(ledger_path)
    return fresh


def _noted_changes(spark: SparkSession, ledger_path: str, stream: str, paths: list[str]) -> set[tuple[str, int]]:
    """``(file, modification time in ms)`` of the changes the ledger noted for these files."""
    if not (Path(ledger_path) / "_delta_log").is_dir():
        return set()
    ledger = spark.read.format("delta").load(ledger_path)
    if "status" not in ledger.columns:
        return set()
    wanted = [normalise_file_path(path) for path in paths]
    rows = (
        ledger.where((F.col("stream") == stream) & (F.col("status") == CHANGED) & F.col("file_path").isin(wanted))
        .select("file_path", F.unix_millis("file_modification_time").alias("modified")).collect()
    )  # fmt: skip
    return {(row.file_path, row.modified) for row in rows}


def _millis(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)
