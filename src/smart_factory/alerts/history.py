"""``alert_history``: every evaluation, and each alert's status as its latest row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from smart_factory.alerts.state import AlertStatus
from smart_factory.alerts.tables import HISTORY_SCHEMA, HISTORY_TABLE, ensure_table
from smart_factory.lakehouse.paths import StoragePaths


@dataclass(frozen=True)
class HistoryRecord:
    status: AlertStatus  # the status after the evaluation
    alert_file: str
    evaluated_at: datetime
    condition: str
    value: str | None
    row_count: int
    error: str | None
    notifications: Sequence[dict[str, Any]]  # idempotency_key, kind, destination, status, error
    seconds: float

    def row(self) -> tuple:
        """In HISTORY_SCHEMA's column order."""
        status = self.status
        return (
            status.evaluation_id, status.sequence, status.alert_name, self.alert_file, self.evaluated_at,
            status.state, status.last_known_state, self.condition, self.value, self.row_count, self.error,
            status.episode, status.episode_started_at, status.last_notified_at,
            [dict(notification) for notification in self.notifications], self.seconds,
        )  # fmt: skip


class AlertHistory:
    def __init__(self, spark: SparkSession, storage: StoragePaths, schema: str) -> None:
        self.spark = spark
        self.name = f"{schema}.{HISTORY_TABLE}"
        self.path = ensure_table(spark, storage, self.name, HISTORY_SCHEMA)

    def latest(self, alert_names: Iterable[str]) -> dict[str, AlertStatus]:
        """Each alert's status after its latest recorded evaluation (a fresh status if none)."""
        names = list(alert_names)
        newest_first = Window.partitionBy("alert_name").orderBy(F.desc("sequence"))
        rows = (
            self.spark.read.format("delta").load(self.path)
            .where(F.col("alert_name").isin(names))
            .withColumn("rank", F.row_number().over(newest_first))
            .where("rank = 1")
            .select("alert_name", "state", "last_known_state", "episode", "episode_started_at", "last_notified_at",
                    "evaluation_id", "sequence")
            .collect()
        )  # fmt: skip
        found = {row.alert_name: AlertStatus(**row.asDict()) for row in rows}
        return {name: found.get(name, AlertStatus(name)) for name in names}

    def append(self, records: Sequence[HistoryRecord]) -> None:
        """Record evaluations, all in one Delta commit."""
        if not records:
            return
        rows = [record.row() for record in records]
        self.spark.createDataFrame(rows, HISTORY_SCHEMA).write.format("delta").mode("append").save(self.path)
