"""The notification an evaluation sends: its templates filled in, its idempotency key attached.

The key travels in every message — as an ``Idempotency-Key`` header where the channel has
headers (webhooks, email) and on the body's last line everywhere — so a receiver that gets
the same notification twice (after a crash between sending and recording it) can tell.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from smart_factory.alerts.condition import format_value
from smart_factory.alerts.definition import AlertDefinition
from smart_factory.alerts.query import QueryOutcome
from smart_factory.alerts.state import NotificationKind, Step
from smart_factory.alerts.templates import display, json_rows, render, text_table

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_LINE_PREFIX = "Notification id: "


@dataclass(frozen=True)
class Notification:
    idempotency_key: str
    alert_name: str
    kind: NotificationKind
    episode: int
    evaluation_id: str
    subject: str
    body: str  # ends with the key line
    created_at: datetime


def compose(alert: AlertDefinition, outcome: QueryOutcome, step: Step, now: datetime) -> Notification:
    """The message for ``step`` (which must carry a notification)."""
    if step.notification is None or step.idempotency_key is None:
        raise ValueError("this evaluation sends no notification")
    values = template_values(alert, outcome, now)
    body = render(alert.notification.body, values).rstrip()
    return Notification(
        idempotency_key=step.idempotency_key,
        alert_name=alert.name,
        kind=step.notification,
        episode=step.status.episode,
        evaluation_id=step.status.evaluation_id,
        subject=render(alert.notification.subject, values).strip(),
        body=f"{body}\n\n{KEY_LINE_PREFIX}{step.idempotency_key}",
        created_at=now,
    )


def template_values(alert: AlertDefinition, outcome: QueryOutcome, now: datetime) -> dict[str, str]:
    """Every template variable's text for this evaluation."""
    condition = alert.condition
    return {
        "ALERT_STATUS": outcome.state,
        "ALERT_NAME": alert.name,
        "ALERT_DESCRIPTION": alert.description.strip(),
        "ALERT_CONDITION": condition.operator,
        "ALERT_THRESHOLD": "" if condition.operator == "IS NULL" else format_value(condition.threshold),
        "ALERT_COLUMN": condition.value_label,
        "ALERT_ERROR": outcome.error or "",
        "ALERT_FILE": alert.source_file,
        "QUERY_RESULT_VALUE": format_value(outcome.value),
        "QUERY_RESULT_ROWS": json_rows(outcome.columns, outcome.rows),
        "QUERY_RESULT_COLS": json.dumps(list(outcome.columns)),
        "QUERY_RESULT_TABLE": text_table(outcome.columns, outcome.rows, outcome.row_count),
        "QUERY_RESULT_ROW_COUNT": str(outcome.row_count),
        "EVALUATED_AT": display(now.astimezone(UTC).replace(tzinfo=None)) + " UTC",
    }
