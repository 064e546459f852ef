"""Small gold tables and the shipped alert definitions, pointed at a test's own schema."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from smart_factory.alerts import AlertDefinition
from smart_factory.alerts.messages import Notification, compose
from smart_factory.alerts.query import QueryOutcome
from smart_factory.alerts.state import AlertStatus, Step
from smart_factory.lakehouse import StoragePaths, save_table
from smart_factory.simulator.clock import DEFAULT_START

REPO = Path(__file__).resolve().parents[1]
GOLD_DEVICE_HOURLY = (
    "hour_start TIMESTAMP, hour_end TIMESTAMP, device_id STRING, avg_temperature_celsius DOUBLE, "
    "max_temperature_celsius DOUBLE, avg_vibration_hz DOUBLE, readings BIGINT"
)


def fresh_schema() -> str:
    return f"alerts_{uuid.uuid4().hex[:8]}"


def shipped_alert(file_name: str, schema: str, **notification: Any) -> AlertDefinition:
    """A definition from the repository's alerts/ folder, reading ``schema`` instead of smart_factory."""
    alert = AlertDefinition.load(REPO / "alerts" / file_name)
    return replace(
        alert,
        query=alert.query.replace("smart_factory.", f"{schema}."),
        notification=replace(alert.notification, **notification),
    )


def save_gold_device_hourly(
    spark: SparkSession, storage: StoragePaths, schema: str, hot: dict[str, float], hours: int = 6
) -> None:
    """Hourly rows for four devices at about 30 °C, dated by the simulator's clock (2026-01-05),
    with the ``hot`` devices at the given maximum in the latest hour."""
    rows = []
    for hour in range(hours):
        start = DEFAULT_START + timedelta(hours=hour)
        for device in ("D-1", "D-2", "D-3", "D-4"):
            hottest = hot.get(device, 31.0) if hour == hours - 1 else 31.0
            rows.append((start, start + timedelta(hours=1), device, 30.0, hottest, 55.0, 60))
    frame = spark.createDataFrame(rows, GOLD_DEVICE_HOURLY)
    save_table(frame, f"{schema}.gold_device_hourly", storage)


# A small alert and the notifications its evaluations compose, for payload and outbox tests.
EVALUATED_AT = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
HOT_DEVICES = AlertDefinition.from_mapping({
    "name": "Hot devices",
    "query": "SELECT device_id, max_temperature_celsius FROM gold_device_hourly",
    "condition": {"column": "max_temperature_celsius", "aggregation": "MAX", "op": ">", "threshold": 40,
                  "empty_result_state": "OK"},
    "schedule": {"cron": "*/2 * * * *"},
    "notification": {"retrigger_seconds": 600, "notify_on_ok": True,
                     "subject": "[{{ALERT_STATUS}}] {{ALERT_NAME}}: {{QUERY_RESULT_VALUE}} °C",
                     "body": "Hottest {{QUERY_RESULT_VALUE}} °C (condition {{ALERT_CONDITION}} {{ALERT_THRESHOLD}})"},
}, source="alerts/hot_devices.yml")  # fmt: skip
HOT_DEVICES_COLUMNS = ("device_id", "max_temperature_celsius")


def hot_devices_notification(state: str, value: object, rows: tuple[tuple[object, ...], ...]) -> Notification:
    """The notification a hot-devices evaluation finding ``state`` composes (key ``key-<state>``, evaluation e-7)."""
    outcome = QueryOutcome(state, value, len(rows), HOT_DEVICES_COLUMNS, rows)
    status = AlertStatus("Hot devices", state, state, episode=1, evaluation_id="e-7", sequence=7)
    return compose(HOT_DEVICES, outcome, Step(status, state, f"key-{state}"), EVALUATED_AT)  # type: ignore[arg-type]
