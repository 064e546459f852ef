"""The notification an evaluation sends: its templates filled in, its idempotency key attached.

The key travels in every message — as an ``Idempotency-Key`` header where the channel has
headers (webhooks, email) and on the body's last line everywhere — so a receiver that gets
the same notification twice (after a crash between sending and recording it) can tell.

Besides its text, a notification carries :class:`EvaluationFacts`: the evaluation behind it
as values (state, condition, query result), for destinations that post structured JSON,
such as the Databricks-shaped webhook (:mod:`.payloads`). They are stored with it in the
outbox, so a notification resent by a later run says what it said the first time.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from smart_factory.alerts.condition import Condition, format_value
from smart_factory.alerts.definition import AlertDefinition, NotificationSettings
from smart_factory.alerts.query import QueryOutcome
from smart_factory.alerts.state import NotificationKind, Step
from smart_factory.alerts.templates import display, json_rows, render, text_table
from smart_factory.lakehouse.paths import checkout_root

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY_LINE_PREFIX = "Notification id: "


@dataclass(frozen=True)
class EvaluationFacts:
    """The evaluation behind a notification, as values: what a structured payload is built from.

    A snapshot taken when the notification is composed, so an alert definition edited
    before a resend does not change what the message says.

    >>> facts = EvaluationFacts.from_json(notification.facts.to_json())  # doctest: +SKIP
    """

    state: str  # OK, TRIGGERED or UNKNOWN
    evaluated_at: datetime
    query: str
    alert_file: str
    condition: Condition
    settings: NotificationSettings  # the subject and body templates, retrigger_seconds, notify_on_ok
    value: float | int | str | bool | None  # the checked value, as JSON can carry it
    row_count: int
    columns: tuple[str, ...]
    rows_json: str  # the first rows, exactly as {{QUERY_RESULT_ROWS}} shows them
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "evaluated_at": self.evaluated_at.isoformat()})

    @classmethod
    def from_json(cls, text: str) -> EvaluationFacts:
        raw = json.loads(text)
        return cls(**{
            **raw,
            "evaluated_at": datetime.fromisoformat(raw["evaluated_at"]),
            "condition": Condition(**raw["condition"]),
            "settings": NotificationSettings(**raw["settings"]),
            "columns": tuple(raw["columns"]),
        })  # fmt: skip


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
    facts: EvaluationFacts | None = None  # None only for notifications queued before facts were kept

    @property
    def text(self) -> str:
        """The body without its key line: for payloads that carry the key in a field of its own."""
        return self.body.removesuffix(f"\n\n{KEY_LINE_PREFIX}{self.idempotency_key}")


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
        facts=EvaluationFacts(
            state=outcome.state,
            evaluated_at=now.astimezone(UTC),
            query=alert.query,
            alert_file=alert.source_file,
            condition=alert.condition,
            settings=alert.notification,
            value=json_value(outcome.value),
            row_count=outcome.row_count,
            columns=tuple(outcome.columns),
            rows_json=values["QUERY_RESULT_ROWS"],
            error=outcome.error,
        ),
    )


def _shown_path(source_file: str | None) -> str:
    """The definition file as a reader should see it: relative to the checkout when inside it (no machine path)."""
    if not source_file:
        return ""
    root = checkout_root()
    path = Path(source_file)
    return str(path.relative_to(root)) if root and path.is_relative_to(root) else source_file


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
        "ALERT_FILE": _shown_path(alert.source_file),
        "QUERY_RESULT_VALUE": format_value(outcome.value),
        "QUERY_RESULT_ROWS": json_rows(outcome.columns, outcome.rows),
        "QUERY_RESULT_COLS": json.dumps(list(outcome.columns)),
        "QUERY_RESULT_TABLE": text_table(outcome.columns, outcome.rows, outcome.row_count),
        "QUERY_RESULT_ROW_COUNT": str(outcome.row_count),
        "EVALUATED_AT": display(now.astimezone(UTC).replace(tzinfo=None)) + " UTC",
    }


def json_value(value: Any) -> float | int | str | bool | None:
    """``value`` as JSON can carry it: numbers stay numbers, anything else is shown as in a message."""
    if isinstance(value, Decimal):
        value = float(value)
    if value is None or isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return display(value)
