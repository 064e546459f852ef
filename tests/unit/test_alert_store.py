"""The alert store: statuses and queued notifications commit together; a queued key is never queued twice."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alert_support import hot_devices_notification

from smart_factory.alerts.messages import Notification
from smart_factory.alerts.state import AlertStatus
from smart_factory.alerts.store import AlertStore, DeliveryResult, OutboxEntry

NOW = datetime(2024, 3, 1, 12, tzinfo=UTC)


def entry(key: str, destination: str = "d1") -> OutboxEntry:
    notification = Notification(key, "Hot devices", "TRIGGERED", 1, "e1", "subject", "body", NOW)
    return OutboxEntry(notification, destination, f"json://{destination}")


def test_statuses_round_trip_with_aware_timestamps(tmp_path: Path) -> None:
    status = AlertStatus("Hot devices", "TRIGGERED", "TRIGGERED", 2, NOW, NOW, "e9", 9)
    with AlertStore(tmp_path / "a.sqlite3") as store:
        assert store.statuses(["Hot devices"]) == {"Hot devices": AlertStatus("Hot devices")}
        store.commit_evaluations([status], [], [{"alert_name": "Hot devices", "evaluated_at": NOW}])
    with AlertStore(tmp_path / "a.sqlite3") as reopened:
        assert reopened.statuses(["Hot devices"]) == {"Hot devices": status}
        ((batch, records),) = reopened.unpublished_history()
        assert records == [{"alert_name": "Hot devices", "evaluated_at": NOW}]
        reopened.mark_published(batch)
        assert reopened.unpublished_history() == []


def test_a_key_queued_again_is_ignored_and_deliveries_are_marked_one_by_one(tmp_path: Path) -> None:
    with AlertStore(tmp_path / "a.sqlite3") as store:
        store.commit_evaluations([], [entry("k1"), entry("k1", "d2")], [])
        store.commit_evaluations([], [entry("k1")], [])  # a redone evaluation
        assert [(e.notification.idempotency_key, e.destination_id) for e in store.pending()] == [
            ("k1", "d1"), ("k1", "d2"),
        ]  # fmt: skip
        store.record_delivery(DeliveryResult(entry("k1"), False, 3, NOW, "error=500"))
        store.record_delivery(DeliveryResult(entry("k1"), True, 1, NOW))
        (left,) = store.pending()
        assert left.destination_id == "d2"
        delivered = next(row for row in store.outbox() if row["destination_id"] == "d1")
        assert (delivered["status"], delivered["attempts"], delivered["last_error"]) == ("DELIVERED", 4, "error=500")


def test_a_failed_transaction_leaves_nothing_behind(tmp_path: Path) -> None:
    with AlertStore(tmp_path / "a.sqlite3") as store:
        status = AlertStatus("Hot devices", "TRIGGERED", "TRIGGERED", 1, NOW, NOW, "e1", 1)
        with pytest.raises(TypeError):
            store.commit_evaluations([status], [entry("k1")], [{"not json": object()}])
        assert store.pending() == [] and store.statuses(["Hot devices"])["Hot devices"] == AlertStatus("Hot devices")
        store_id = store.store_id
    with AlertStore(tmp_path / "a.sqlite3") as reopened:
        assert reopened.store_id == store_id  # Delta's txnAppId for this store's history batches


def test_a_notifications_facts_survive_the_outbox_and_an_older_store_gains_their_column(tmp_path: Path) -> None:
    triggered = hot_devices_notification("TRIGGERED", 44.5, (("D-3", 44.5),))
    path = tmp_path / "a.sqlite3"
    with sqlite3.connect(path) as old:  # the outbox as stores made before facts were kept have it
        old.execute(
            "CREATE TABLE outbox (idempotency_key TEXT NOT NULL, destination_id TEXT NOT NULL,"
            " destination TEXT NOT NULL, alert_name TEXT NOT NULL, kind TEXT NOT NULL, episode INTEGER NOT NULL,"
            " evaluation_id TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,"
            " status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, last_attempt_at TEXT,"
            " delivered_at TEXT, PRIMARY KEY (idempotency_key, destination_id))"
        )
        old.execute("INSERT INTO outbox (idempotency_key, destination_id, destination, alert_name, kind, episode, "
                    "evaluation_id, subject, body, created_at, status) VALUES "
                    "('k0', 'd1', 'json://d1', 'Hot devices', 'TRIGGERED', 1, 'e0', 's', 'b', ?, 'PENDING')",
                    (NOW.isoformat(),))  # fmt: skip
    with AlertStore(path) as store:
        store.commit_evaluations([], [OutboxEntry(triggered, "d1", "json://d1")], [])
        queued_before, queued_now = store.pending()
        assert queued_before.notification.facts is None
        assert queued_now.notification == triggered and triggered.facts is not None
        assert "facts" not in store.outbox()[0]  # the outbox people read keeps its columns
