"""``alert_outbox``: notifications are recorded before they are sent, and marked once delivered.

A notification is one row per destination, keyed by (idempotency key, destination). Adding
a key that is already there changes nothing, so an evaluation redone after a crash cannot
queue a message twice; a row left PENDING — by a crash, or a destination that was down —
is sent by the next evaluation, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from delta.tables import DeltaTable
from pyspark.sql import Row, SparkSession

from smart_factory.alerts.clock import as_utc
from smart_factory.alerts.messages import Notification
from smart_factory.alerts.tables import OUTBOX_SCHEMA, OUTBOX_TABLE, ensure_table
from smart_factory.lakehouse.paths import StoragePaths

PENDING, DELIVERED = "PENDING", "DELIVERED"
_SAME_ROW = "t.idempotency_key = s.idempotency_key AND t.destination_id = s.destination_id"


@dataclass(frozen=True)
class OutboxEntry:
    notification: Notification
    destination_id: str
    destination: str  # the destination without its secrets, for people reading the table
    attempts: int = 0


@dataclass(frozen=True)
class DeliveryResult:
    entry: OutboxEntry
    delivered: bool
    attempts: int  # made in this run
    at: datetime
    error: str | None = None

    @property
    def status(self) -> str:
        return DELIVERED if self.delivered else PENDING


class Outbox:
    def __init__(self, spark: SparkSession, storage: StoragePaths, schema: str) -> None:
        self.spark = spark
        self.name = f"{schema}.{OUTBOX_TABLE}"
        self.path = ensure_table(spark, storage, self.name, OUTBOX_SCHEMA)

    def add(self, entries: Sequence[OutboxEntry]) -> None:
        """Queue ``entries`` as PENDING, skipping any (key, destination) already queued."""
        if not entries:
            return
        source = self.spark.createDataFrame([_row(entry, PENDING) for entry in entries], OUTBOX_SCHEMA)
        table = DeltaTable.forPath(self.spark, self.path)
        table.alias("t").merge(source.alias("s"), _SAME_ROW).whenNotMatchedInsertAll().execute()

    def pending(self) -> list[OutboxEntry]:
        """Every notification not yet delivered, oldest first."""
        rows = (
            self.spark.read.format("delta").load(self.path)
            .where(f"status = '{PENDING}'")
            .orderBy("created_at", "idempotency_key", "destination_id")
            .collect()
        )  # fmt: skip
        return [_entry(row) for row in rows]

    def record(self, results: Sequence[DeliveryResult]) -> None:
        """Mark delivered notifications DELIVERED; count the attempts of the others, keep their error."""
        if not results:
            return
        rows = [_row(r.entry, r.status, r.attempts, r.error, r.at, r.at if r.delivered else None) for r in results]
        source = self.spark.createDataFrame(rows, OUTBOX_SCHEMA)
        table = DeltaTable.forPath(self.spark, self.path)
        table.alias("t").merge(source.alias("s"), _SAME_ROW).whenMatchedUpdate(
            set={
                "status": "s.status",
                "attempts": "t.attempts + s.attempts",
                "last_error": "s.last_error",
                "last_attempt_at": "s.last_attempt_at",
                "delivered_at": "s.delivered_at",
            }
        ).execute()


def _row(
    entry: OutboxEntry,
    status: str,
    attempts: int = 0,
    error: str | None = None,
    attempted_at: datetime | None = None,
    delivered_at: datetime | None = None,
) -> tuple:
    n = entry.notification
    return (n.idempotency_key, entry.destination_id, entry.destination, n.alert_name, n.kind, n.episode,
            n.evaluation_id, n.subject, n.body, n.created_at, status, attempts, error, attempted_at,
            delivered_at)  # fmt: skip


def _entry(row: Row) -> OutboxEntry:
    notification = Notification(row.idempotency_key, row.alert_name, row.kind, row.episode, row.evaluation_id,
                                row.subject, row.body, as_utc(row.created_at))  # fmt: skip
    return OutboxEntry(notification, row.destination_id, row.destination, row.attempts)
