"""Alerting's transactional bookkeeping: each alert's status, the outbox, unpublished history.

Why SQLite and not Delta: an evaluation must change an alert's status *and* queue its
notifications in one atomic step (the transactional outbox pattern), then mark single
notifications delivered. Delta has no transactions across tables, and every point update
costs a Spark job; SQLite (in the standard library) does both in microseconds, durably.
Delta keeps what people query: ``alert_history`` (see :mod:`.history`), published from
here idempotently, so even a crash between the two loses no evaluation.

One file per alert schema: ``<storage root>/alerts/<schema>.sqlite3``.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from smart_factory.alerts.messages import EvaluationFacts, Notification
from smart_factory.alerts.state import AlertStatus
from smart_factory.lakehouse.paths import SCHEMA, StoragePaths

PENDING, DELIVERED = "PENDING", "DELIVERED"
# The outbox as a notebook sees it (see `notification_outbox`): the columns of the table below.
OUTBOX_SCHEMA = (
    "idempotency_key STRING, destination_id STRING, destination STRING, alert_name STRING, kind STRING, "
    "episode BIGINT, evaluation_id STRING, subject STRING, body STRING, created_at STRING, status STRING, "
    "attempts BIGINT, last_error STRING, last_attempt_at STRING, delivered_at STRING"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store (store_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alert_status (
    alert_name TEXT PRIMARY KEY, state TEXT NOT NULL, last_known_state TEXT NOT NULL, episode INTEGER NOT NULL,
    episode_started_at TEXT, last_notified_at TEXT, evaluation_id TEXT NOT NULL, sequence INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    idempotency_key TEXT NOT NULL, destination_id TEXT NOT NULL, destination TEXT NOT NULL,
    alert_name TEXT NOT NULL, kind TEXT NOT NULL, episode INTEGER NOT NULL, evaluation_id TEXT NOT NULL,
    subject TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_attempt_at TEXT, delivered_at TEXT,
    facts TEXT,
    PRIMARY KEY (idempotency_key, destination_id)
);
CREATE TABLE IF NOT EXISTS history_batches (
    batch_id INTEGER PRIMARY KEY AUTOINCREMENT, records TEXT NOT NULL, published INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class OutboxEntry:
    notification: Notification
    destination_id: str
    destination: str  # the destination without its secrets, for people reading the outbox
    attempts: int = 0  # made by earlier runs


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


class AlertStore:
    """The SQLite file of one alert schema; opened per evaluation run, one writer at a time.

    >>> with AlertStore.open(storage_of(spark)) as store:  # doctest: +SKIP
    ...     pending = store.pending()
    """

    @classmethod
    def open(cls, storage: StoragePaths, schema: str = SCHEMA) -> AlertStore:
        return cls(storage.root / "alerts" / f"{schema}.sqlite3")

    def __enter__(self) -> AlertStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # isolation_level=None: transactions are explicit (see `transaction`), nothing is left open.
        self._connection = sqlite3.connect(path, isolation_level=None)
        self._connection.row_factory = sqlite3.Row
        self._connection.execute("PRAGMA synchronous = FULL")  # a commit is on disk before we send
        with self.transaction() as db:
            for statement in filter(str.strip, _SCHEMA.split(";")):  # executescript would commit early
                db.execute(statement)
            # A store made before notifications kept their facts: add the column; its old rows keep NULL.
            if "facts" not in {row["name"] for row in db.execute("PRAGMA table_info(outbox)")}:
                db.execute("ALTER TABLE outbox ADD COLUMN facts TEXT")
            if db.execute("SELECT count(*) FROM store").fetchone()[0] == 0:
                db.execute("INSERT INTO store VALUES (?)", (str(uuid.uuid4()),))
        self.store_id: str = self._connection.execute("SELECT store_id FROM store").fetchone()[0]

    def close(self) -> None:
        self._connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            yield self._connection
        except BaseException:
            self._connection.execute("ROLLBACK")
            raise
        self._connection.execute("COMMIT")

    def statuses(self, alert_names: Iterable[str]) -> dict[str, AlertStatus]:
        """Each alert's status after its latest evaluation (a fresh one if never evaluated)."""
        rows = {row["alert_name"]: row for row in self._connection.execute("SELECT * FROM alert_status")}
        return {name: _status(rows[name]) if name in rows else AlertStatus(name) for name in alert_names}

    def commit_evaluations(
        self, statuses: Sequence[AlertStatus], entries: Sequence[OutboxEntry], records: Sequence[dict[str, Any]]
    ) -> int:
        """In one transaction: the new statuses, the notifications to send (a key already queued
        is skipped), and the history records to publish. Returns the history batch's id."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO alert_status VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(s.alert_name, s.state, s.last_known_state, s.episode, _text(s.episode_started_at),
                  _text(s.last_notified_at), s.evaluation_id, s.sequence) for s in statuses],
            )  # fmt: skip
            db.executemany(
                "INSERT OR IGNORE INTO outbox (idempotency_key, destination_id, destination, alert_name, kind, "
                "episode, evaluation_id, subject, body, created_at, status, facts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.notification.idempotency_key, e.destination_id, e.destination, e.notification.alert_name,
                  e.notification.kind, e.notification.episode, e.notification.evaluation_id, e.notification.subject,
                  e.notification.body, _text(e.notification.created_at), PENDING,
                  e.notification.facts.to_json() if e.notification.facts else None) for e in entries],
            )  # fmt: skip
            cursor = db.execute("INSERT INTO history_batches (records) VALUES (?)", (_json(records),))
            return int(cursor.lastrowid or 0)

    def pending(self) -> list[OutboxEntry]:
        """Every notification not yet delivered, oldest first."""
        rows = self._connection.execute(
            f"SELECT * FROM outbox WHERE status = '{PENDING}' ORDER BY created_at, idempotency_key, destination_id"
        )
        return [_entry(row) for row in rows]

    def record_delivery(self, result: DeliveryResult) -> None:
        """Mark one notification DELIVERED, or count its failed attempts and keep the error."""
        with self.transaction() as db:
            db.execute(
                "UPDATE outbox SET status = ?, attempts = attempts + ?, last_error = coalesce(?, last_error), "
                "last_attempt_at = ?, delivered_at = ? WHERE idempotency_key = ? AND destination_id = ?",
                (result.status, result.attempts, result.error, _text(result.at),
                 _text(result.at) if result.delivered else None,
                 result.entry.notification.idempotency_key, result.entry.destination_id),
            )  # fmt: skip

    def outbox(self) -> list[dict[str, Any]]:
        """The whole outbox, newest first, timestamps as ISO text (``OUTBOX_SCHEMA``'s columns).

        Without the ``facts`` column: a notification's structured values are there to resend it
        exactly, while its subject and body say the same for people.
        """
        columns = ", ".join(column.split()[0] for column in OUTBOX_SCHEMA.split(","))
        return [dict(row) for row in self._connection.execute(f"SELECT {columns} FROM outbox ORDER BY created_at DESC")]

    def replace_history(self, batch_id: int, records: Sequence[dict[str, Any]]) -> None:
        with self.transaction() as db:
            db.execute("UPDATE history_batches SET records = ? WHERE batch_id = ?", (_json(records), batch_id))

    def unpublished_history(self) -> list[tuple[int, list[dict[str, Any]]]]:
        rows = self._connection.execute("SELECT batch_id, records FROM history_batches WHERE published = 0 "
                                        "ORDER BY batch_id")  # fmt: skip
        return [(row["batch_id"], _records(row["records"])) for row in rows]

    def mark_published(self, batch_id: int) -> None:
        with self.transaction() as db:
            # The batch is in Delta now; keep only its id, which Delta's txnVersion remembers too.
            db.execute("UPDATE history_batches SET published = 1, records = '[]' WHERE batch_id = ?", (batch_id,))


# Timestamps are ISO 8601 text with their UTC offset, so they come back aware and exact.
_TIMESTAMP_FIELDS = ("evaluated_at", "episode_started_at", "last_notified_at")


def _text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: _text(v) if k in _TIMESTAMP_FIELDS else v for k, v in r.items()} for r in records])


def _records(text: str) -> list[dict[str, Any]]:
    return [{k: _moment(v) if k in _TIMESTAMP_FIELDS else v for k, v in r.items()} for r in json.loads(text)]


def _status(row: sqlite3.Row) -> AlertStatus:
    return AlertStatus(
        row["alert_name"], row["state"], row["last_known_state"], row["episode"], _moment(row["episode_started_at"]),
        _moment(row["last_notified_at"]), row["evaluation_id"], row["sequence"],
    )  # fmt: skip


def _entry(row: sqlite3.Row) -> OutboxEntry:
    notification = Notification(
        row["idempotency_key"], row["alert_name"], row["kind"], row["episode"], row["evaluation_id"],
        row["subject"], row["body"], datetime.fromisoformat(row["created_at"]),
        EvaluationFacts.from_json(row["facts"]) if row["facts"] else None,
    )  # fmt: skip
    return OutboxEntry(notification, row["destination_id"], row["destination"], row["attempts"])
