"""Destinations from the environment or .env, and real deliveries to SMTP and webhook servers on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alert_servers import smtp_server, webhook_server

from smart_factory.alerts import AppriseDestination, LogFileDestination, RetryPolicy, configured_destinations
from smart_factory.alerts.delivery import deliver
from smart_factory.alerts.destinations import DESTINATIONS_ENV, DeliveryFailed, destination_settings
from smart_factory.alerts.messages import Notification
from smart_factory.alerts.store import OutboxEntry
from smart_factory.errors import AlertDestinationError
from smart_factory.lakehouse import StoragePaths

MESSAGE = Notification(
    "3afe1133-a29e-5cb9-8b66-9a8b1d7eacb1", "Hot devices", "TRIGGERED", 1, "e1",
    "[TRIGGERED] Hot devices", "D-1 is at 44.5 °C\n\nNotification id: 3afe1133-a29e-5cb9-8b66-9a8b1d7eacb1",
    datetime(2024, 3, 1, 12, tzinfo=UTC),
)  # fmt: skip


def test_nothing_configured_means_the_log_file(tmp_path: Path) -> None:
    storage = StoragePaths(tmp_path)
    assert configured_destinations(storage, {}) == [LogFileDestination(tmp_path / "alerts" / "notifications.log")]
    urls = f"json://127.0.0.1:9/hook, file:// file://{tmp_path}/other.log"
    chosen = configured_destinations(storage, {DESTINATIONS_ENV: urls})
    assert [d.label for d in chosen] == [
        "json://127.0.0.1:9/hook", f"file://{tmp_path}/alerts/notifications.log", f"file://{tmp_path}/other.log",
    ]  # fmt: skip


def test_the_environment_overrides_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f'# local secrets\n{DESTINATIONS_ENV}="json://127.0.0.1:9/from-file"\n')
    monkeypatch.delenv(DESTINATIONS_ENV, raising=False)
    assert destination_settings(env_file)[DESTINATIONS_ENV] == "json://127.0.0.1:9/from-file"
    monkeypatch.setenv(DESTINATIONS_ENV, "json://127.0.0.1:9/from-environment")
    assert destination_settings(env_file)[DESTINATIONS_ENV] == "json://127.0.0.1:9/from-environment"


def test_a_bad_url_is_refused_without_showing_its_secret(tmp_path: Path) -> None:
    with pytest.raises(AlertDestinationError, match=r"SMART_FACTORY_ALERT_DESTINATIONS: 'slak://…' is not a URL") as e:
        configured_destinations(StoragePaths(tmp_path), {DESTINATIONS_ENV: "slak://T0/B0/SECRET-TOKEN"})
    assert "SECRET-TOKEN" not in str(e.value)
    assert "secret" not in AppriseDestination("json://user:secret@127.0.0.1:9/hook").label


def test_email_and_webhook_receive_the_message_with_its_idempotency_key() -> None:
    with smtp_server() as smtp, webhook_server() as webhook:
        AppriseDestination(smtp.url).send(MESSAGE)
        AppriseDestination(webhook.url).send(MESSAGE)
    (email,) = smtp.messages
    assert email["Subject"] == "[TRIGGERED] Hot devices" and email["To"] == "ops@factory.test"
    assert email["Idempotency-Key"] == MESSAGE.idempotency_key
    assert "D-1 is at 44.5 °C" in email.get_content()
    (request,) = webhook.requests
    assert request.headers["Idempotency-Key"] == MESSAGE.idempotency_key
    assert request.payload["title"] == MESSAGE.subject and request.payload["message"] == MESSAGE.body


def test_the_log_file_appends_and_prints(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = LogFileDestination(tmp_path / "alerts" / "notifications.log")
    log.send(MESSAGE)
    log.send(MESSAGE)
    text = log.path.read_text()
    assert text.count("=== 2024-03-01 12:00:00 UTC  [TRIGGERED] Hot devices") == 2
    assert "Notification id: 3afe1133" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("scheme", "refusal"),
    [
        ("json", "error=502"),  # Apprise's words
        ("databricks+http", "databricks+http://127.0.0.1:{port}/… answered HTTP 502 Bad Gateway"),
        ("slack+http", "slack+http://127.0.0.1:{port}/… answered HTTP 502 Bad Gateway"),
    ],
)
def test_a_hiccup_is_retried_with_backoff_and_an_outage_stays_pending(scheme: str, refusal: str) -> None:
    pauses: list[float] = []
    policy = RetryPolicy(attempts=3, first_delay_seconds=0.5)
    with webhook_server() as webhook:
        url = f"{scheme}://127.0.0.1:{webhook.port}/hooks/SECRET-TOKEN"
        (destination,) = configured_destinations(StoragePaths(Path("/unused")), {DESTINATIONS_ENV: url})
        entry = OutboxEntry(MESSAGE, destination.id, destination.label)
        webhook.fail_next(500)
        (hiccup,) = deliver([entry], {destination.id: destination}, policy, sleep=pauses.append)
        assert (hiccup.delivered, hiccup.attempts, pauses) == (True, 2, [0.5])
        webhook.fail_next(503, 500, 502)
        (outage,) = deliver([entry], {destination.id: destination}, policy, sleep=pauses.append)
    assert (outage.delivered, outage.attempts, outage.status) == (False, 3, "PENDING")
    assert refusal.format(port=webhook.port) in outage.error and pauses == [0.5, 0.5, 1.0]
    assert "SECRET" not in outage.error
    assert [r.status for r in webhook.requests] == [500, 200, 503, 500, 502]
    assert {r.idempotency_key for r in webhook.requests} == {MESSAGE.idempotency_key}
    # An entry for a destination no longer configured waits for it rather than being dropped.
    assert deliver([entry], {}, policy) == []


def test_a_closed_port_is_a_delivery_failure() -> None:
    with webhook_server() as webhook:
        url = webhook.url
    with pytest.raises(DeliveryFailed):
        AppriseDestination(url).send(MESSAGE)
