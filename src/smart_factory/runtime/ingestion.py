"""Run a stream into a Delta table once, Auto Loader style: everything available, then stop.

This is what a triggered pipeline update does for a streaming table, and what the
ingestion tests, fault-injection harness and benchmarks call:

- ``availableNow``: every file present is processed (in micro-batches bounded by
  ``maxFilesPerTrigger`` / ``maxBytesPerTrigger``), then the query stops.
- Idempotent Delta writes: each micro-batch is appended with ``txnAppId``/``txnVersion``
  (Delta's idempotent-write options for ``foreachBatch``), so a batch replayed after a
  crash between the Delta commit and the checkpoint commit is skipped, not written twice.
  The app id lives in the checkpoint: a full refresh (a new checkpoint) gets a new one.
- Schema changes: when the source stops with :class:`SchemaChangedError`, the merged schema
  is already saved; the stream is restarted, as Databricks restarts a pipeline flow.
- One run at a time per checkpoint, across processes (an OS file lock, released by the
  kernel when its holder dies, so a crash never leaves a stale lock behind).
- Files taken but not read (too large for the driver) and files changed after they were
  read are named in ``result.notices``, logged as warnings and noted in the ledger
  (see :mod:`smart_factory.runtime.cloud_files.unread_files`).
"""

from __future__ import annotations

import fcntl
import functools
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.streaming import StreamingQuery

from smart_factory.errors import CloudFilesError, SchemaChangedError
from smart_factory.runtime.cloud_files.source import is_ledger_metric, schema_change_from
from smart_factory.runtime.cloud_files.unread_files import (
    ChangedFile,
    changed_files,
    file_too_large_from,
    max_file_bytes,
    oversized,
    too_large_message,
)
from smart_factory.runtime.delta_append import append_once
from smart_factory.runtime.delta_txn import committed_txn_version
from smart_factory.runtime.files import write_text_atomically
from smart_factory.runtime.ledger import (
    INGESTED,
    SKIPPED,
    LedgerEntry,
    append_to_ledger,
    files_of_batches,
    normalise_file_path,
    note_changed_files,
)
from smart_factory.testing.fault_points import POINT_ENV, fault_point, fault_window

APP_ID_FILE = "_txn_app_id"
LOCK_FILE = "_run.lock"
# The fault-injection harness kills the process at the named points marked below.
FAULT_POINT_ENV = POINT_ENV
_log = logging.getLogger(__name__)
_METRIC_FIELDS = ("path", "records", "size", "modified")


class ConcurrentRunError(CloudFilesError):
    """Another process is already running this stream."""


@dataclass
class IngestionResult:
    batches: list[int] = field(default_factory=list)
    rows_written: int = 0  # records read from the files (before any sink-side dedup)
    schema_restarts: int = 0
    progress: list[dict] = field(default_factory=list)
    # {file: batch_id} for this run's committed micro-batches, from the checkpoint's source log.
    committed_files: dict[str, int] = field(default_factory=dict)
    # {file: size} for files taken but not read: larger than the driver may hold.
    skipped: dict[str, int] = field(default_factory=dict)
    # Files read by an earlier run that have changed since, not read again (reported once each).
    changed: list[ChangedFile] = field(default_factory=list)
    # What a user should know about this run's files, in words (also logged as warnings).
    notices: list[str] = field(default_factory=list)

    @property
    def files(self) -> list[dict]:
        """``[{"batch_id", "path", "records", "size", "modified", "status"}]`` for every file taken.

        From the source's metrics; a file no metric reported but that one of this run's
        committed batches took is listed with 0 records (Spark never opens an empty file), or
        with None and status ``skipped`` when it was too large to read.
        """
        seen = self.observed_files()
        reported = {normalise_file_path(entry["path"]) for entry in seen}
        for path, batch_id in sorted(self.committed_files.items(), key=lambda item: (item[1], item[0])):
            if path in reported:
                continue
            skipped = path in self.skipped
            seen.append({
                "batch_id": batch_id, "path": path, "records": None if skipped else 0,
                "size": self.skipped.get(path), "modified": None, "status": SKIPPED if skipped else INGESTED,
            })  # fmt: skip
        return seen

    def observed_files(self) -> list[dict]:
        """The files the source's metrics reported: every file it read that held any bytes."""
        seen = []
        for progress in self.progress:
            for name, metrics in (progress.get("observedMetrics") or {}).items():
                if not is_ledger_metric(name):
                    continue
                # Observed metrics arrive as Rows; each file entry is a struct (path, records, size, modified).
                for entry in metrics["files"] or []:
                    seen.append({"batch_id": progress["batchId"], **{key: entry[key] for key in _METRIC_FIELDS},
                                 "status": INGESTED})  # fmt: skip
        return seen


def ingest_available(
    spark: SparkSession,
    build_stream: Callable[[], DataFrame],
    table_path: str,
    checkpoint: str,
    *,
    max_schema_restarts: int = 10,
    write_batch: Callable[[DataFrame, int, str], None] | None = None,
    ledger_path: str | None = None,
    run_id: str | None = None,
    dataset: str | None = None,
    record_ledger_with: Callable[[Callable[[], None]], None] = lambda record: record(),
) -> IngestionResult:
    """Process everything available in ``build_stream()`` into the Delta table at ``table_path``.

    ``write_batch(batch, batch_id, app_id)`` replaces the default idempotent Delta append.
    With ``ledger_path``, the files read are appended to that per-file ledger table (under
    the stream name ``table_path``), even when the run fails part-way: by
    ``record_ledger_with(record)``, which runs ``record`` now by default (a pipeline update
    runs it beside the flows downstream, off their path). ``dataset`` names the pipeline
    table being written, for fault points restricted to one dataset.
    """
    checkpoint_dir = Path(checkpoint)
    result = IngestionResult()
    with exclusive_run(checkpoint_dir, what=table_path):
        app_id = transaction_app_id(checkpoint_dir)
        writer = write_batch or append_idempotently(table_path)
        try:
            _run_until_done(spark, build_stream, checkpoint, writer, app_id, result, max_schema_restarts, dataset)
        finally:
            result.committed_files = files_of_batches(checkpoint_dir, {p["batchId"] for p in result.progress})
            _find_unread_files(spark, result, checkpoint, ledger_path, table_path, run_id)
            if ledger_path:
                record_ledger_with(
                    functools.partial(
                        _record_ledger, spark, ledger_path, table_path, run_id, result, checkpoint, app_id
                    )
                )
    result.batches = [
        progress["batchId"] for progress in result.progress if progress.get("numInputRows") is not None
    ]
    # The source's input rows are files; the records are what the observed metrics counted.
    result.rows_written = sum(entry["records"] or 0 for entry in result.files)
    return result


def _find_unread_files(
    spark: SparkSession, result: IngestionResult, checkpoint: str, ledger_path: str | None, stream: str,
    run_id: str | None,
) -> None:
    """Name the files this run took without reading (too large) and those found changed since read."""
    reported = {normalise_file_path(entry["path"]) for entry in result.observed_files()}
    unreported = [path for path in result.committed_files if path not in reported]
    result.skipped = oversized(spark, unreported)
    limit = max_file_bytes(spark) if result.skipped else 0
    result.notices += [too_large_message(path, size, limit) for path, size in result.skipped.items()]
    changed = changed_files(spark, checkpoint)
    if changed and ledger_path:
        changed = note_changed_files(spark, ledger_path, stream, run_id or "", changed)
    result.changed = changed
    result.notices += [file.message() for file in changed]
    for notice in result.notices:
        _log.warning(notice)


def _run_until_done(
    spark: SparkSession,
    build_stream: Callable[[], DataFrame],
    checkpoint: str,
    writer: Callable[[DataFrame, int, str], None],
    app_id: str,
    result: IngestionResult,
    max_schema_restarts: int,
    dataset: str | None,
) -> None:
    def on_batch(batch: DataFrame, batch_id: int) -> None:
        fault_point("before_batch", batch_id=batch_id, dataset=dataset)
        writer(batch, batch_id, app_id)

    while True:
        query = _start(build_stream(), checkpoint, on_batch)
        try:
            query.awaitTermination()
        except Exception as error:
            result.progress.extend(query.recentProgress)
            change = schema_change_from(spark, error)
            if isinstance(change, SchemaChangedError) and result.schema_restarts < max_schema_restarts:
                result.schema_restarts += 1
                continue
            if change is not None:
                raise change from None
            too_large = file_too_large_from(spark, error)
            if too_large is not None:
                raise too_large from None
            raise
        result.progress.extend(query.recentProgress)
        return


def _record_ledger(
    spark: SparkSession,
    ledger_path: str,
    stream: str,
    run_id: str | None,
    result: IngestionResult,
    checkpoint: str,
    app_id: str,
) -> None:
    limit = max_file_bytes(spark) if result.skipped else 0
    observed = [
        LedgerEntry(entry["batch_id"], entry["path"], entry["records"], entry["size"], entry["modified"],
                    entry["status"], too_large_message(entry["path"], entry["size"], limit)
                    if entry["status"] == SKIPPED else None)
        for entry in result.files
    ]  # fmt: skip
    run_batches = {progress["batchId"] for progress in result.progress}
    append_to_ledger(
        spark, ledger_path, stream, run_id or str(uuid.uuid4()), observed, checkpoint, run_batches, app_id
    )


def _start(stream: DataFrame, checkpoint: str, on_batch: Callable[[DataFrame, int], None]) -> StreamingQuery:
    return (
        stream.writeStream.foreachBatch(on_batch)
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start()
    )


def append_idempotently(
    table_path: str,
    prepare: Callable[[DataFrame], DataFrame] = lambda batch: batch,
    options: Mapping[str, str] | None = None,
    partition_columns: Sequence[str] = (),
    dataset: str | None = None,
) -> Callable[[DataFrame, int, str], None]:
    """A foreachBatch writer appending each micro-batch once, whatever crashes in between.

    A batch Delta already holds (a replay after a crash between the Delta commit and the
    checkpoint commit) is run without writing anything and without ``prepare``, so
    ``prepare`` (expectations, say) only ever sees batches that are written. ``options``
    are Delta writer options, on top of ``mergeSchema`` (new columns from schema evolution).
    """
    write_options = {"mergeSchema": "true", **(options or {})}

    def write(batch: DataFrame, batch_id: int, app_id: str) -> None:
        last = committed_txn_version(batch.sparkSession, table_path, app_id)
        if last is not None and batch_id <= last:
            # Still run the batch, writing nothing: a stateful stream (silver's dropDuplicates)
            # must commit its state stores for it again, or Spark fails the query
            # (STATE_STORE_COMMIT_VALIDATION_FAILED). The replay repeats the killed run's work.
            batch.write.format("noop").mode("overwrite").save()
            return
        fault_point("before_write", batch_id=batch_id, dataset=dataset)
        with fault_window("during_write", batch_id=batch_id, table_path=table_path, dataset=dataset):
            append_once(prepare(batch), table_path, app_id, batch_id, write_options, partition_columns)
        fault_point("after_write", batch_id=batch_id, dataset=dataset)

    return write


def transaction_app_id(checkpoint_dir: Path) -> str:
    """The checkpoint's own id for Delta idempotent writes, made on first use."""
    app_id_file = checkpoint_dir / APP_ID_FILE
    if not app_id_file.exists():
        write_text_atomically(app_id_file, str(uuid.uuid4()))
    return app_id_file.read_text().strip()


@contextmanager
def exclusive_run(checkpoint_dir: Path, what: str) -> Iterator[None]:
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with open(checkpoint_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise ConcurrentRunError(
                f"{what} is already being updated by {holder}; wait for it to finish (the lock "
                "is released as soon as that process ends, even if it crashed)."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

