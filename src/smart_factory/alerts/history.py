"""``alert_history``: every evaluation of every alert, as a Delta table to query and chart.

Records are first committed to the alert store together with the evaluation's status
change, then published here. Each run's records are one Delta append tagged with
``txnAppId``/``txnVersion``, so a batch published again after a crash is skipped by Delta
itself: every evaluation appears exactly once.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from smart_factory.alerts.store import AlertStore
from smart_factory.lakehouse.catalog import register_table
from smart_factory.lakehouse.local_rows import local_rows
from smart_factory.lakehouse.paths import StoragePaths

HISTORY_TABLE = "alert_history"
HISTORY_COLUMNS: dict[str, str] = {
    "evaluation_id": "STRING",
    "sequence": "BIGINT",  # the alert's evaluations so far, this one included
    "alert_name": "STRING",
    "alert_file": "STRING",
    "evaluated_at": "TIMESTAMP",
    "state": "STRING",  # OK, TRIGGERED or UNKNOWN
    "last_known_state": "STRING",  # the latest OK or TRIGGERED, looking past failed evaluations
    "condition": "STRING",
    "value": "STRING",
    "row_count": "BIGINT",
    "error": "STRING",
    "episode": "BIGINT",  # how many times the alert has become TRIGGERED
    "episode_started_at": "TIMESTAMP",
    "last_notified_at": "TIMESTAMP",
    "notifications": "ARRAY<STRUCT<idempotency_key: STRING, kind: STRING, destination: STRING, status: STRING, "
    "error: STRING>>",
    "seconds": "DOUBLE",
}
HISTORY_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in HISTORY_COLUMNS.items())


class AlertHistory:
    """The table of one alert schema; its first publication creates and registers it."""

    def __init__(self, spark: SparkSession, storage: StoragePaths, schema: str) -> None:
        self.spark, self.storage = spark, storage
        self.name = f"{schema}.{HISTORY_TABLE}"
        self.path = str(storage.table(self.name))

    def publish(self, store: AlertStore) -> None:
        """Append every history batch the store has not published yet, oldest first."""
        for batch_id, records in store.unpublished_history():
            if records:
                first_write = not (Path(self.path) / "_delta_log").is_dir()
                rows = [tuple(record[column] for column in HISTORY_COLUMNS) for record in records]
                (
                    local_rows(self.spark, rows, HISTORY_SCHEMA)
                    .write.format("delta").mode("append")
                    .option("txnAppId", f"smart-factory-alerts-{store.store_id}")
                    .option("txnVersion", batch_id)
                    .save(self.path)
                )  # fmt: skip
                if first_write:  # an existing table was registered when the evaluation began
                    register_table(self.spark, self.storage, self.name)
            store.mark_published(batch_id)
