"""JSON bodies for webhooks: Databricks SQL alerts' webhook payload, and a Slack incoming-webhook message.

The Databricks shape follows "SQL alert webhook payload" in Databricks' documentation
(https://docs.databricks.com/aws/en/sql/user/alerts/webhook-payload): an ``event``, and an
``alert`` holding the rendered ``title`` and ``description`` and the alert itself, with its
query, templates and ``evaluations`` (source column, ``comparison_operator``, ``threshold``,
``empty_result_state``, ``notification``, ``state``, ``last_evaluated_at``) in the names of
the Alerts V2 API. As there, fields without a value are left out: a local alert has no id,
owner, warehouse or workspace URL. What Databricks' payload does not carry — the checked
value, the row count, the first rows, the idempotency key — is under ``smart_factory``, a
key of this project's own, which a receiver built for Databricks ignores.

>>> databricks_alert_payload(notification)["alert"]["alert"]["evaluations"][0]["state"]  # doctest: +SKIP
'TRIGGERED'
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from smart_factory.alerts.condition import DATABRICKS_OPERATORS
from smart_factory.alerts.messages import KEY_LINE_PREFIX, EvaluationFacts, Notification

DATABRICKS_EVENT = "alert_state_change"
# Slack's limits on a header block's text and a section's text.
SLACK_HEADER_CHARS, SLACK_SECTION_CHARS = 150, 3000


def databricks_alert_payload(notification: Notification) -> dict[str, Any]:
    """The body a Databricks SQL alert would POST to a webhook, filled from this evaluation.

    See docs/alerts.md for each field, and which follow Databricks and which are chosen here.
    """
    alert: dict[str, Any] = {"name": notification.alert_name}
    own: dict[str, Any] = {
        "idempotency_key": notification.idempotency_key,
        "notification_kind": notification.kind,  # TRIGGERED, REMINDER (a retrigger) or OK
        "episode": notification.episode,
    }
    facts = notification.facts
    if facts is not None:
        settings = facts.settings
        alert |= {
            "query_text": facts.query,
            "custom_summary": settings.subject,
            "custom_description": settings.body,
            "evaluations": [_databricks_evaluation(notification.evaluation_id, facts)],
        }
        own |= {
            "alert_file": facts.alert_file,
            "evaluated_at": facts.evaluated_at.isoformat(),
            "query_result": {
                "value": facts.value,
                "row_count": facts.row_count,
                "columns": list(facts.columns),
                "rows": json.loads(facts.rows_json),
            },
        }
        if facts.error:
            own["error"] = facts.error
    return {
        "event": DATABRICKS_EVENT,
        "alert": {"title": notification.subject, "description": notification.text, "alert": alert},
        "smart_factory": own,
    }


def _databricks_evaluation(evaluation_id: str, facts: EvaluationFacts) -> dict[str, Any]:
    condition, settings = facts.condition, facts.settings
    evaluation: dict[str, Any] = {
        "id": evaluation_id,
        "source": {
            "name": condition.column,
            "display": condition.value_label,
            "aggregation": condition.aggregation or "AGGREGATION_UNSPECIFIED",
        },
        "comparison_operator": DATABRICKS_OPERATORS[condition.operator],
    }
    if condition.threshold is not None:  # IS_NULL compares with nothing
        kind = "string_value" if isinstance(condition.threshold, str) else "double_value"
        threshold = condition.threshold if kind == "string_value" else float(condition.threshold)
        evaluation["threshold"] = {"value": {kind: threshold}}
    return evaluation | {
        "empty_result_state": condition.empty_result_state,
        "notification": {"notify_on_ok": settings.notify_on_ok, "seconds_to_retrigger": settings.retrigger_seconds},
        "state": facts.state,
        "last_evaluated_at": facts.evaluated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def slack_message_payload(notification: Notification) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (what notifications and old clients show) and
    three blocks — the subject as a header, the body as preformatted text (its tables stay
    aligned), and the notification id as a footnote.
    """
    header = _shorten(notification.subject, SLACK_HEADER_CHARS)
    body = _shorten(_slack_escape(notification.text), SLACK_SECTION_CHARS - len("``````"))
    return {
        "text": f"{_slack_escape(notification.subject)}\n\n{_slack_escape(notification.body)}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": header}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{body}```"}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"{KEY_LINE_PREFIX}{notification.idempotency_key}"},
            ]},
        ],
    }  # fmt: skip


def _slack_escape(text: str) -> str:
    # Slack reads <...> as links and mentions, and & as the start of an entity.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
