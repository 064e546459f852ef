"""A crash between queuing a notification and sending it: the next run sends it, once, under the same key."""

from __future__ import annotations

import sys
from pathlib import Path

from alert_servers import webhook_server
from alert_support import REPO, fresh_schema, save_gold_device_hourly

from smart_factory.alerts import configured_destinations, evaluate_alerts
from smart_factory.alerts.destinations import DESTINATIONS_ENV
from smart_factory.alerts.store import AlertStore
from smart_factory.testing import Fault, crash_child


def test_a_notification_queued_by_a_killed_run_is_sent_by_the_next(spark, storage, tmp_path: Path) -> None:
    schema = fresh_schema()
    save_gold_device_hourly(spark, storage, schema, hot={"D-1": 45.0})
    alerts_dir = tmp_path / "alerts"
    alerts_dir.mkdir()
    shipped = (REPO / "alerts" / "overheating_equipment.yml").read_text()
    (alerts_dir / "overheating.yml").write_text(shipped.replace("smart_factory.", f"{schema}."))

    with webhook_server() as webhook:
        # `smart-factory alerts evaluate`, SIGKILLed (with its JVM) right after the outbox commit.
        crash_child(
            [sys.executable, "-m", "smart_factory.cli", "alerts", "evaluate", "--alerts-dir", str(alerts_dir),
             "--schema", schema, "--storage-root", str(storage.root), "--master", "local[1]"],
            Fault("alert_outbox_recorded"),
            env={DESTINATIONS_ENV: webhook.url},
        )  # fmt: skip
        assert webhook.requests == []
        store = AlertStore(storage.root / "alerts" / f"{schema}.sqlite3")
        (queued,) = store.pending()
        store.close()

        destinations = configured_destinations(storage, {DESTINATIONS_ENV: webhook.url})
        (evaluation,) = evaluate_alerts(spark, alerts_dir, destinations=destinations, schema=schema)

    # The killed run had already recorded the trigger: this run only delivers what it queued.
    assert evaluation.state == "TRIGGERED" and evaluation.notification is None
    (request,) = webhook.requests
    assert request.headers["Idempotency-Key"] == queued.notification.idempotency_key
    assert request.payload["title"] == "[TRIGGERED] Overheating Equipment Alert: 45 °C"
    # Both evaluations are in the history, the killed one published by the run after it.
    rows = spark.sql(f"SELECT state, notifications FROM {schema}.alert_history ORDER BY sequence").collect()
    assert [(r.state, [n.status for n in r.notifications]) for r in rows] == [
        ("TRIGGERED", ["QUEUED"]), ("TRIGGERED", ["DELIVERED"]),
    ]  # fmt: skip
