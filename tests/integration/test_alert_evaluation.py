"""Alerts evaluated on real Spark and Delta, notifying a real SMTP server and a real webhook on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alert_servers import smtp_server, webhook_server
from alert_support import fresh_schema, save_gold_device_hourly, shipped_alert

from smart_factory.alerts import (
    AlertDefinition,
    RetryPolicy,
    configured_destinations,
    evaluate_alerts,
    notification_outbox,
)
from smart_factory.alerts.destinations import DESTINATIONS_ENV
from smart_factory.runtime.event_log import EventLog

QUICK_RETRY = RetryPolicy(attempts=2, first_delay_seconds=0.01)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def history(spark, schema: str) -> list:
    return spark.sql(
        f"SELECT state, value, episode, error, notifications FROM {schema}.alert_history ORDER BY sequence"
    ).collect()


def test_overheating_notifies_email_and_webhook_once_per_change(spark, storage) -> None:
    schema = fresh_schema()
    save_gold_device_hourly(spark, storage, schema, hot={"D-3": 44.5, "D-2": 41.0})
    alert = shipped_alert("overheating_equipment.yml", schema, retrigger_seconds=600)
    clock = Clock()
    with smtp_server() as smtp, webhook_server() as webhook:
        destinations = configured_destinations(storage, {DESTINATIONS_ENV: f"{smtp.url}, {webhook.url}"})

        def evaluate() -> str:
            (evaluation,) = evaluate_alerts(spark, [alert], destinations=destinations, schema=schema, clock=clock,
                                            retry=QUICK_RETRY)  # fmt: skip
            return evaluation.state

        # Hot devices in the latest hours of the simulated clock: TRIGGERED, one message per channel.
        assert evaluate() == "TRIGGERED"
        assert len(smtp.messages) == len(webhook.requests) == 1
        email, request = smtp.messages[0], webhook.requests[0]
        assert email["Subject"] == request.payload["title"] == "[TRIGGERED] Overheating Equipment Alert: 44.5 °C"
        key = email["Idempotency-Key"]
        assert key == request.headers["Idempotency-Key"] and request.payload["message"].endswith(key)
        table = request.payload["message"]
        assert table.index("D-3") < table.index("D-2") and "D-1" not in table

        # The same data again: still TRIGGERED, nothing sent.
        clock.advance(minutes=2)
        assert evaluate() == "TRIGGERED"
        assert len(smtp.messages) == len(webhook.requests) == 1

        # Still hot after retrigger_seconds: one reminder, under a new key.
        clock.advance(minutes=9)
        assert evaluate() == "TRIGGERED"
        assert len(smtp.messages) == len(webhook.requests) == 2
        assert smtp.messages[1]["Idempotency-Key"] not in (None, key)

        # Cooled down: OK, and notify_on_ok says so.
        save_gold_device_hourly(spark, storage, schema, hot={})
        clock.advance(minutes=2)
        assert evaluate() == "OK"
        assert len(smtp.messages) == len(webhook.requests) == 3
        assert webhook.requests[2].payload["title"] == "[OK] Overheating Equipment Alert: NULL °C"

    rows = history(spark, schema)
    assert [(r.state, r.value, r.episode) for r in rows] == [
        ("TRIGGERED", "44.5", 1), ("TRIGGERED", "44.5", 1), ("TRIGGERED", "44.5", 1), ("OK", None, 1),
    ]  # fmt: skip
    assert [[(n.kind, n.status) for n in r.notifications] for r in rows] == [
        [("TRIGGERED", "DELIVERED")] * 2, [], [("REMINDER", "DELIVERED")] * 2, [("OK", "DELIVERED")] * 2,
    ]  # fmt: skip


def test_a_failing_query_is_unknown_with_its_error_kept(spark, storage) -> None:
    schema = fresh_schema()
    alert = AlertDefinition.from_mapping({
        "name": "Broken", "query": f"SELECT max(temperature) AS t FROM {schema}.no_such_table",
        "condition": {"column": "t", "op": ">", "threshold": 40}, "schedule": {"cron": "* * * * *"},
    })  # fmt: skip
    (evaluation,) = evaluate_alerts(spark, [alert], destinations=[], schema=schema)
    assert evaluation.state == "UNKNOWN" and evaluation.notification is None
    assert "TABLE_OR_VIEW_NOT_FOUND" in evaluation.error
    (row,) = history(spark, schema)
    assert (row.state, row.error, row.notifications) == ("UNKNOWN", evaluation.error, [])


def test_a_webhook_outage_is_delivered_by_a_later_evaluation_exactly_once(spark, storage) -> None:
    schema = fresh_schema()
    save_gold_device_hourly(spark, storage, schema, hot={"D-4": 47.0})
    alert = shipped_alert("overheating_equipment.yml", schema)
    with webhook_server() as webhook:
        destinations = configured_destinations(storage, {DESTINATIONS_ENV: webhook.url})
        webhook.fail_next(500, 500)  # down for both tries of the first evaluation
        (first,) = evaluate_alerts(spark, [alert], destinations=destinations, schema=schema, retry=QUICK_RETRY)
        assert first.state == "TRIGGERED" and [d.status for d in first.deliveries] == ["PENDING"]
        (second,) = evaluate_alerts(spark, [alert], destinations=destinations, schema=schema, retry=QUICK_RETRY)
        assert second.notification is None and [d.status for d in second.deliveries] == ["DELIVERED"]
    assert [request.status for request in webhook.requests] == [500, 500, 200]
    (delivered,) = webhook.delivered
    assert delivered.headers["Idempotency-Key"] == first.notification.idempotency_key
    (row,) = notification_outbox(spark, schema).collect()
    assert (row.status, row.attempts) == ("DELIVERED", 3) and "error=500" in row.last_error


def test_the_databricks_webhook_gets_the_query_result_even_when_a_later_run_delivers(spark, storage) -> None:
    schema = fresh_schema()
    save_gold_device_hourly(spark, storage, schema, hot={"D-3": 44.5, "D-2": 41.0})
    alert = shipped_alert("overheating_equipment.yml", schema)
    with webhook_server() as webhook:
        url = f"databricks+http://127.0.0.1:{webhook.port}/alerts"
        destinations = configured_destinations(storage, {DESTINATIONS_ENV: url})
        webhook.fail_next(500, 500)  # the first run cannot deliver; the second sends it from the outbox
        (first,) = evaluate_alerts(spark, [alert], destinations=destinations, schema=schema, retry=QUICK_RETRY)
        evaluate_alerts(spark, [alert], destinations=destinations, schema=schema, retry=QUICK_RETRY)
    (delivered,) = webhook.delivered
    (evaluation,) = delivered.payload["alert"]["alert"]["evaluations"]
    assert (evaluation["state"], evaluation["id"]) == ("TRIGGERED", first.status.evaluation_id)
    assert evaluation["comparison_operator"] == "GREATER_THAN"
    result = delivered.payload["smart_factory"]["query_result"]
    assert (result["value"], result["row_count"]) == (44.5, 2)
    assert [row["device_id"] for row in result["rows"]] == ["D-3", "D-2"]
    assert delivered.idempotency_key == delivered.payload["smart_factory"]["idempotency_key"]


def test_pipeline_health_reads_the_event_log(spark, storage) -> None:
    schema = fresh_schema()
    alert = shipped_alert("pipeline_health.yml", schema)

    def update(state: str, failed_records: int) -> None:
        """One pipeline update's events, written by the runtime's own event log writer."""
        path = str(storage.table(f"{schema}.event_log"))
        log = EventLog(spark, path, "pipeline", "Smart_Factory", f"update-{state}", schema)
        log.emit("create_update", "Update started.", {"cause": "API_CALL"})
        expectations = [
            {"name": "temperature_plausible", "dataset": "silver_readings",
             "passed_records": 1000 - failed_records, "failed_records": failed_records},
            {"name": "device_id_present", "dataset": "silver_readings", "passed_records": 1000, "failed_records": 0},
        ]  # fmt: skip
        progress = {"status": "COMPLETED", "data_quality": {"dropped_records": 0, "expectations": expectations}}
        log.emit("flow_progress", "Flow is COMPLETED.", progress, flow_name="silver_readings",
                 dataset_name="silver_readings")  # fmt: skip
        error = "flow 'gold' failed" if state == "FAILED" else None
        log.emit("update_progress", f"Update is {state}.", {"state": state}, error=error)
        log.flush()  # one Delta commit per update

    update("FAILED", failed_records=80)
    (evaluation,) = evaluate_alerts(spark, [alert], destinations=[], schema=schema)
    assert (evaluation.state, evaluation.outcome.value) == ("TRIGGERED", 2)
    problems = sorted((row[0], row[2], row[3]) for row in evaluation.outcome.rows)
    assert problems == [("expectation failure rate", "temperature_plausible", 0.08), ("update failed", None, None)]
    update("COMPLETED", failed_records=10)  # the latest update is healthy: 1 % is under the 5 % limit
    (evaluation,) = evaluate_alerts(spark, [alert], destinations=[], schema=schema)
    assert (evaluation.state, evaluation.outcome.row_count) == ("OK", 0)
