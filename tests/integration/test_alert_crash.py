"""A crash between queuing a notification and sending it: the next run sends it, once, under the same key."""

from __future__ import annotations

from pathlib import Path

import pytest
from alert_servers import webhook_server
from alert_support import REPO, fresh_schema, save_gold_device_hourly

from smart_factory.alerts.destinations import DESTINATIONS_ENV
from smart_factory.alerts.store import AlertStore
from smart_factory.cli import main
from smart_factory.testing.fault_points import ACTION_ENV, POINT_ENV, FaultRaised


def test_a_notification_queued_by_a_crashed_run_is_sent_by_the_next(
    spark, storage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = fresh_schema()
    save_gold_device_hourly(spark, storage, schema, hot={"D-1": 45.0})
    alerts_dir = tmp_path / "alerts"
    alerts_dir.mkdir()
    shipped = (REPO / "alerts" / "overheating_equipment.yml").read_text()
    (alerts_dir / "overheating.yml").write_text(shipped.replace("smart_factory.", f"{schema}."))
    options = ["--alerts-dir", str(alerts_dir), "--schema", schema, "--storage-root", str(storage.root)]

    with webhook_server() as webhook:
        monkeypatch.setenv(DESTINATIONS_ENV, webhook.url)
        # `smart-factory alerts evaluate` dies right after its outbox commit, before sending.
        # (In-process, to spare a second JVM: nothing after that point writes on the way out.)
        with monkeypatch.context() as fault:
            fault.setenv(POINT_ENV, "alert_outbox_recorded")
            fault.setenv(ACTION_ENV, "raise")
            with pytest.raises(FaultRaised):
                main(["alerts", "evaluate", *options])
        assert webhook.requests == []
        with AlertStore.open(storage, schema) as store:
            (queued,) = store.pending()

        # The scheduler's first run: the trigger is already recorded, so it only delivers what was queued.
        assert main(["alerts", "run", "--max-evaluations", "1", *options]) == 0

    output = capsys.readouterr().out
    assert "TRIGGERED  Overheating Equipment Alert: MAX(max_temperature_celsius) = 45" in output
    assert "1 of 1 notifications delivered" in output and "Stopped after 1 evaluation run(s)." in output
    (request,) = webhook.requests
    assert request.headers["Idempotency-Key"] == queued.notification.idempotency_key
    assert request.payload["title"] == "[TRIGGERED] Overheating Equipment Alert: 45 °C"
    # Both evaluations are in the history, the crashed one published by the run after it.
    rows = spark.sql(f"SELECT state, notifications FROM {schema}.alert_history ORDER BY sequence").collect()
    assert [(r.state, [n.status for n in r.notifications]) for r in rows] == [
        ("TRIGGERED", ["QUEUED"]), ("TRIGGERED", ["DELIVERED"]),
    ]  # fmt: skip
