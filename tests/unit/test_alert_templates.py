"""Conditions on small values, and the Databricks template variables filled in."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from smart_factory.alerts import AlertDefinition
from smart_factory.alerts.condition import Condition, format_value
from smart_factory.alerts.messages import KEY_LINE_PREFIX, compose, template_values
from smart_factory.alerts.query import QueryOutcome
from smart_factory.alerts.state import AlertStatus, advance
from smart_factory.alerts.templates import render, text_table, unknown_variables

NOW = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("condition", "value", "met"),
    [
        (Condition("t", ">", 40), 40.5, True),
        (Condition("t", ">", 40), 40, False),
        (Condition("t", ">=", 40), Decimal("40.0"), True),
        (Condition("t", "<", 0.5), 0.25, True),
        (Condition("t", "!=", 3), 3, False),
        (Condition("state", "==", "FAILED"), "FAILED", True),
        (Condition("state", "!=", "FAILED"), "COMPLETED", True),
        (Condition("t", "IS NULL"), None, True),
        (Condition("t", "IS NULL"), 1, False),
    ],
)
def test_conditions_compare_numbers_and_text(condition: Condition, value: object, met: bool) -> None:
    assert condition.is_met(value) is met


def test_a_value_that_cannot_be_compared_is_an_error_not_ok() -> None:
    with pytest.raises(ValueError, match="t is NULL"):
        Condition("t", ">", 40).is_met(None)
    with pytest.raises(ValueError, match="not a number"):
        Condition("t", ">", 40).is_met("hot")


def test_values_read_as_people_write_them() -> None:
    assert [format_value(v) for v in (40.0, 41.25, Decimal("7.00"), 1 / 3, None, "x")] == [
        "40", "41.25", "7", "0.333333", "NULL", "x",
    ]  # fmt: skip


def test_render_fills_known_variables_and_finds_unknown_ones() -> None:
    template = "{{ ALERT_NAME }} is {{ALERT_STATUS}} ({{ALERT_STAUTS}})"
    assert unknown_variables(template) == ["ALERT_STAUTS"]
    assert render(template, {"ALERT_NAME": "A", "ALERT_STATUS": "OK"}) == "A is OK ({{ALERT_STAUTS}})"


def test_text_table_aligns_and_says_what_it_left_out() -> None:
    table = text_table(["device_id", "hour"], [("D-1", datetime(2024, 3, 1, 9)), ("D-22", None)], total_rows=5)
    assert table.splitlines() == [
        "device_id  hour",
        "---------  -------------------",
        "D-1        2024-03-01 09:00:00",
        "D-22       NULL",
        "(3 more rows not shown)",
    ]
    assert text_table(["a"], [], total_rows=0).endswith("(no rows)")


def test_a_notification_carries_every_variable_and_its_key() -> None:
    alert = AlertDefinition.from_mapping({
        "name": "Hot devices", "description": "Devices over 40 °C",
        "query": "SELECT device_id, t FROM gold",
        "condition": {"column": "t", "aggregation": "MAX", "op": ">", "threshold": 40.0},
        "schedule": {"cron": "*/2 * * * *"},
        "notification": {
            "subject": "[{{ALERT_STATUS}}] {{ALERT_NAME}}",
            "body": "{{ALERT_COLUMN}}={{QUERY_RESULT_VALUE}} {{ALERT_CONDITION}} {{ALERT_THRESHOLD}}; "
                    "{{QUERY_RESULT_ROW_COUNT}} rows {{QUERY_RESULT_COLS}} {{QUERY_RESULT_ROWS}}\n"
                    "{{QUERY_RESULT_TABLE}}",
        },
    })  # fmt: skip
    outcome = QueryOutcome("TRIGGERED", 44.5, 2, ("device_id", "t"), (("D-1", 44.5), ("D-2", 41.0)))
    step = advance(AlertStatus(alert.name), "TRIGGERED", NOW, alert.notification, "e1")
    message = compose(alert, outcome, step, NOW)
    assert message.subject == "[TRIGGERED] Hot devices"
    assert message.body.splitlines()[0] == (
        'MAX(t)=44.5 > 40; 2 rows ["device_id", "t"] [{"device_id": "D-1", "t": 44.5}, {"device_id": "D-2", "t": 41.0}]'
    )
    assert "D-2        41" in message.body
    assert message.body.endswith(f"{KEY_LINE_PREFIX}{step.idempotency_key}")
    values = template_values(alert, outcome, NOW)
    assert values["EVALUATED_AT"] == "2024-03-01 12:30:00 UTC" and values["ALERT_DESCRIPTION"] == "Devices over 40 °C"
    assert values["ALERT_ERROR"] == ""
