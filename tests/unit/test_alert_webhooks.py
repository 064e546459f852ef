"""The Databricks-shaped webhook and the Slack incoming webhook, posting to a real HTTP server on 127.0.0.1.

Their retries and outages are tested with every webhook's in test_alert_destinations.py.
"""

from __future__ import annotations

import re
import socket
from decimal import Decimal

import pytest
from alert_servers import webhook_server
from alert_support import EVALUATED_AT, HOT_DEVICES_COLUMNS, hot_devices_notification

from smart_factory.alerts import (
    AlertDefinition,
    DatabricksWebhookDestination,
    SlackWebhookDestination,
    configured_destinations,
)
from smart_factory.alerts.destinations import DESTINATIONS_ENV, DeliveryFailed, JsonWebhookDestination
from smart_factory.alerts.messages import Notification, compose
from smart_factory.alerts.payloads import databricks_alert_payload
from smart_factory.alerts.query import QueryOutcome
from smart_factory.alerts.state import AlertStatus, Step
from smart_factory.errors import AlertDestinationError
from smart_factory.lakehouse import StoragePaths

TRIGGERED = hot_devices_notification("TRIGGERED", 44.5, (("D-3", 44.5), ("D-2", 41.0)))
OK = hot_devices_notification("OK", Decimal("38.5"), (("D-3", Decimal("38.5")),))


def databricks_payload(state: str, title: str, description: str, value: object, rows: list[dict]) -> dict:
    """What the Databricks-shaped webhook posts for the hot-devices alert: Databricks' fields, then ours."""
    return {
        "event": "alert_state_change",
        "alert": {
            "title": title,
            "description": description,
            "alert": {
                "name": "Hot devices",
                "query_text": "SELECT device_id, max_temperature_celsius FROM gold_device_hourly",
                "custom_summary": "[{{ALERT_STATUS}}] {{ALERT_NAME}}: {{QUERY_RESULT_VALUE}} °C",
                "custom_description": "Hottest {{QUERY_RESULT_VALUE}} °C (condition {{ALERT_CONDITION}} "
                                      "{{ALERT_THRESHOLD}})",
                "evaluations": [{
                    "id": "e-7",
                    "source": {"name": "max_temperature_celsius", "display": "MAX(max_temperature_celsius)",
                               "aggregation": "MAX"},
                    "comparison_operator": "GREATER_THAN",
                    "threshold": {"value": {"double_value": 40.0}},
                    "empty_result_state": "OK",
                    "notification": {"notify_on_ok": True, "seconds_to_retrigger": 600},
                    "state": state,
                    "last_evaluated_at": "2024-03-01T12:30:00Z",
                }],
            },
        },
        "smart_factory": {
            "idempotency_key": f"key-{state}",
            "notification_kind": state,
            "episode": 1,
            "alert_file": "alerts/hot_devices.yml",
            "evaluated_at": "2024-03-01T12:30:00+00:00",
            "query_result": {
                "value": value, "row_count": len(rows), "columns": list(HOT_DEVICES_COLUMNS), "rows": rows,
            },
        },
    }  # fmt: skip


def test_the_databricks_webhook_posts_databricks_alert_payload_with_the_key_header() -> None:
    with webhook_server() as webhook:
        destination = DatabricksWebhookDestination(f"databricks+http://127.0.0.1:{webhook.port}/alerts/factory")
        destination.send(TRIGGERED)
        destination.send(OK)
    triggered, ok = webhook.requests
    assert triggered.payload == databricks_payload(
        "TRIGGERED", "[TRIGGERED] Hot devices: 44.5 °C", "Hottest 44.5 °C (condition > 40)", 44.5,
        [{"device_id": "D-3", "max_temperature_celsius": 44.5}, {"device_id": "D-2", "max_temperature_celsius": 41}],
    )  # fmt: skip
    # A Decimal value stays a number; the rows are {{QUERY_RESULT_ROWS}}' (which shows a Decimal as text).
    assert ok.payload == databricks_payload(
        "OK", "[OK] Hot devices: 38.5 °C", "Hottest 38.5 °C (condition > 40)", 38.5,
        [{"device_id": "D-3", "max_temperature_celsius": "38.5"}],
    )  # fmt: skip
    assert [r.idempotency_key for r in webhook.requests] == ["key-TRIGGERED", "key-OK"]
    assert triggered.path == "/alerts/factory"
    assert triggered.headers["Content-Type"] == "application/json; charset=utf-8"
    # The receiver reads the Databricks shape, as the workshop's inbox shows it.
    assert (ok.title, ok.body) == ("[OK] Hot devices: 38.5 °C", "Hottest 38.5 °C (condition > 40)")


def test_fields_without_a_value_are_left_out_as_databricks_does() -> None:
    is_null = AlertDefinition.from_mapping({
        "name": "Silent sensor", "query": "SELECT max(reading) AS reading FROM t",
        "condition": {"column": "reading", "op": "IS_NULL"}, "schedule": {"cron": "0 * * * *"},
    })  # fmt: skip
    outcome = QueryOutcome("TRIGGERED", None, 1, ("reading",), ((None,),))
    step = Step(AlertStatus("Silent sensor", "TRIGGERED", evaluation_id="e-1"), "TRIGGERED", "k")
    payload = databricks_alert_payload(compose(is_null, outcome, step, EVALUATED_AT))
    (evaluation,) = payload["alert"]["alert"]["evaluations"]
    assert evaluation["comparison_operator"] == "IS_NULL" and "threshold" not in evaluation
    assert evaluation["source"]["aggregation"] == "AGGREGATION_UNSPECIFIED"
    assert payload["smart_factory"]["query_result"]["value"] is None
    assert not {"id", "owner", "warehouse_id", "url_base"} & (payload.keys() | payload["alert"]["alert"].keys())
    # A notification queued before facts were kept still posts what it knows.
    bare = Notification("k", "Silent sensor", "TRIGGERED", 1, "e-1", "subject", "body", EVALUATED_AT)
    assert databricks_alert_payload(bare)["alert"] == {"title": "subject", "description": "body",
                                                       "alert": {"name": "Silent sensor"}}  # fmt: skip


def test_the_slack_webhook_posts_an_incoming_webhook_message_to_the_full_url() -> None:
    message = hot_devices_notification("TRIGGERED", 44.5, (("<D-3> & co", 44.5),))
    with webhook_server() as webhook:
        SlackWebhookDestination(f"slack+http://127.0.0.1:{webhook.port}/services/T000/B000/XXXX").send(message)
    (request,) = webhook.requests
    assert request.path == "/services/T000/B000/XXXX" and request.idempotency_key == "key-TRIGGERED"
    assert request.payload == {
        "text": "[TRIGGERED] Hot devices: 44.5 °C\n\nHottest 44.5 °C (condition &gt; 40)\n\n"
                "Notification id: key-TRIGGERED",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "[TRIGGERED] Hot devices: 44.5 °C"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "```Hottest 44.5 °C (condition &gt; 40)```"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Notification id: key-TRIGGERED"}]},
        ],
    }  # fmt: skip
    assert request.title == "[TRIGGERED] Hot devices: 44.5 °C"
    assert request.body.startswith("Hottest 44.5 °C (condition > 40)")


def test_an_unreachable_or_silent_webhook_is_a_delivery_failure() -> None:
    with webhook_server() as webhook:
        closed = f"databricks+http://127.0.0.1:{webhook.port}/hooks/SECRET-TOKEN"
    with pytest.raises(DeliveryFailed, match="cannot reach databricks") as refused:
        DatabricksWebhookDestination(closed).send(TRIGGERED)
    with socket.socket() as listener:  # accepts connections (the kernel does) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        silent = f"slack+http://127.0.0.1:{listener.getsockname()[1]}/services/T/B/SECRET-TOKEN"
        with pytest.raises(DeliveryFailed, match=r"did not answer within 0.2 s") as timed_out:
            SlackWebhookDestination(silent, timeout_seconds=0.2).send(TRIGGERED)
    assert "SECRET" not in str(refused.value) + str(timed_out.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("databricks+ftp://hooks.example.com/SECRET-TOKEN", "'databricks+ftp://…' is not a webhook URL"),
        ("slack+hooks.slack.com/services/T/B/SECRET-TOKEN", "'slack+' is not a webhook URL"),
        ("databricks+https:///SECRET-TOKEN", "a 'databricks+https://' URL has no host"),
        ("slack+https://user:SECRET-TOKEN@/services", "a 'slack+https://' URL has no host"),
        ("slack+https://hooks.slack.com:SECRET-TOKEN/services", "has a port that is not a number"),
    ],
)
def test_a_bad_webhook_url_names_the_setting_but_not_the_secret(url: str, problem: str) -> None:
    with pytest.raises(AlertDestinationError, match=rf"^{DESTINATIONS_ENV}: .*{re.escape(problem)}") as error:
        configured_destinations(StoragePaths("/unused"), {DESTINATIONS_ENV: url})
    assert "SECRET" not in str(error.value)


def test_labels_mask_the_path_query_and_credentials_and_ids_tell_urls_apart() -> None:
    slack = SlackWebhookDestination("slack+https://hooks.slack.com/services/T0/B0/SECRET-TOKEN")
    other_channel = SlackWebhookDestination("slack+https://hooks.slack.com/services/T0/B1/OTHER-SECRET")
    databricks = DatabricksWebhookDestination("databricks+https://ops:SECRET@hooks.example.com:8443/in?token=SECRET")
    assert slack.label == other_channel.label == "slack+https://hooks.slack.com/…"
    assert databricks.label == "databricks+https://****@hooks.example.com:8443/…"
    assert slack.id != other_channel.id and "SECRET" not in slack.id + databricks.id
    assert isinstance(slack, JsonWebhookDestination)


def test_credentials_in_the_url_are_sent_as_basic_authentication() -> None:
    with webhook_server() as webhook:
        DatabricksWebhookDestination(f"databricks+http://ops:p%40ss@127.0.0.1:{webhook.port}/in").send(TRIGGERED)
    (request,) = webhook.requests
    assert request.headers["Authorization"] == "Basic b3BzOnBAc3M="  # ops:p@ss
