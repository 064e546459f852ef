"""The pipeline event log: a Delta table shaped like Databricks' DLT event log.

Columns follow Databricks' event log schema (id, sequence, origin, timestamp, message,
level, maturity_level, error, details, event_type). ``details`` is a VARIANT, so the
documented ``details:flow_progress.metrics.num_output_rows`` paths work on Spark 4; where a
Databricks query feeds such a path to ``from_json``, add ``::string`` (the one edit needed).

Events are buffered and written in few Delta commits per update; the ``create_update``
event is written at once (beside the update's planning, which writes nothing, and before
any flow starts), so a crash can never lose the record that an update started.
An update whose process died before its final write is closed as FAILED by the next one
(see :mod:`smart_factory.runtime.unfinished`).

Delta checkpoints a table's log every 10 commits, inside the commit that reaches the
tenth: for this log that was the ``create_update`` write of every fifth update, which the
update waits for (1 to 3 s). So the log is created with a checkpoint interval of 100 (a
safety net) and :meth:`EventLog.checkpoint_soon` checkpoints it after an update, in the
background, once 10 commits have piled up.
"""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from smart_factory.lakehouse.local_rows import local_rows
from smart_factory.runtime.delta_txn import commits_since_checkpoint
from smart_factory.runtime.failure_causes import FailureCause

EVENT_LOG_TABLE = "event_log"
_ROW_SCHEMA = (
    "id STRING, "
    "sequence STRUCT<control_plane_seq_no: BIGINT, data_plane_id: STRUCT<instance: STRING, seq_no: BIGINT>>, "
    "origin STRUCT<pipeline_id: STRING, pipeline_name: STRING, update_id: STRING, flow_id: STRING, "
    "flow_name: STRING, dataset_name: STRING, table_name: STRING>, "
    "timestamp TIMESTAMP, message STRING, level STRING, maturity_level STRING, error STRING, "
    "details STRING, event_type STRING"
)
FINAL_UPDATE_STATES = ("COMPLETED", "FAILED", "CANCELED")
# Event-log writes that run beside an update's planning: one at a time is all they need.
_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-log")
CHECKPOINT_EVERY = 10  # commits, as Delta's default
_AUTOMATIC_CHECKPOINT_INTERVAL = "100"  # Delta's own, should the background ones not happen


@dataclass
class EventLog:
    spark: SparkSession
    path: str
    pipeline_id: str
    pipeline_name: str
    update_id: str
    target_schema: str
    _buffer: list[tuple] = field(default_factory=list)
    _sequence: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)  # flows emit from their own threads
    _pending: Future[None] | None = None  # a write started by flush_soon

    def emit(
        self,
        event_type: str,
        message: str,
        details: dict[str, Any],
        *,
        level: str = "INFO",
        flow_name: str | None = None,
        dataset_name: str | None = None,
        error: BaseException | str | FailureCause | None = None,
        flush: bool = False,
    ) -> None:
        with self._lock:
            self._sequence += 1
            table_name = f"{self.target_schema}.{dataset_name}" if dataset_name else None
            self._buffer.append(
                (
                    str(uuid.uuid4()),
                    (self._sequence, (self.update_id, self._sequence)),
                    (self.pipeline_id, self.pipeline_name, self.update_id, flow_name, flow_name, dataset_name,
                     table_name),
                    datetime.now(UTC).replace(tzinfo=None),
                    message,
                    level,
                    "STABLE",
                    _error_json(error) if error else None,
                    json.dumps({event_type: details}, default=str),
                    event_type,
                )
            )
        if flush:
            self.flush()

    def flush(self) -> None:
        """Write the buffered events in one Delta commit, after any write :meth:`flush_soon` began."""
        self.wait()
        rows = self._take()
        if rows:
            self._write(rows)

    def flush_soon(self) -> None:
        """Start writing the buffered events beside the caller; :meth:`wait` (or the next flush) joins it."""
        self.wait()
        rows = self._take()
        if rows:
            self._pending = _WRITER.submit(self._write, rows)

    def wait(self) -> None:
        """Return once the write :meth:`flush_soon` began is committed (raising its error, if any)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def checkpoint_soon(self) -> Future[None] | None:
        """Checkpoint the log in the background once :data:`CHECKPOINT_EVERY` commits follow the last checkpoint.

        Later writes queue behind it; the update that asks does not wait (the future is for tests).
        """
        if commits_since_checkpoint(self.path) < CHECKPOINT_EVERY:
            return None
        delta_log = self.spark.sparkContext._jvm.org.apache.spark.sql.delta.DeltaLog  # type: ignore[union-attr]
        return _WRITER.submit(lambda: delta_log.forTable(self.spark._jsparkSession, self.path).checkpoint())

    def _take(self) -> list[tuple]:
        with self._lock:
            rows, self._buffer = self._buffer, []
        return rows

    def _write(self, rows: list[tuple]) -> None:
        frame = local_rows(self.spark, rows, _ROW_SCHEMA).withColumn("details", F.parse_json("details"))
        writer = frame.write.format("delta").mode("append").option("mergeSchema", "true")
        if not (Path(self.path) / "_delta_log").is_dir():  # a new log: checkpointed by checkpoint_soon
            writer = writer.option("delta.checkpointInterval", _AUTOMATIC_CHECKPOINT_INTERVAL)
        writer.save(self.path)

    def for_update(self, update_id: str) -> EventLog:
        """A writer for another update of this pipeline: to close one whose process died."""
        return EventLog(self.spark, self.path, self.pipeline_id, self.pipeline_name, update_id, self.target_schema)

    def updates_with_final_state(self, update_ids: list[str]) -> set[str]:
        """Those of ``update_ids`` whose final state (COMPLETED, FAILED, CANCELED) is in the log."""
        if not update_ids or not (Path(self.path) / "_delta_log").is_dir():
            return set()
        final = (
            self.spark.read.format("delta")
            .load(self.path)
            .where(F.col("event_type") == "update_progress")
            .where(F.col("origin.update_id").isin(update_ids))
            .where(F.expr("details:update_progress.state::string").isin(*FINAL_UPDATE_STATES))
        )
        return {row.update_id for row in final.select("origin.update_id").distinct().collect()}


def _error_json(error: BaseException | str | FailureCause) -> str:
    """Databricks' ``error`` column: the exceptions (class, Spark error class, message) and whether fatal."""
    entry = error.as_event_error() if isinstance(error, FailureCause) else {"message": str(error)}
    return json.dumps({"exceptions": [entry], "fatal": True})
