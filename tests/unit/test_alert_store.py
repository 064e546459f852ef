"""The alert store: statuses and queued notifications commit together; a queued key is never queued twice."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

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
