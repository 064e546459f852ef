"""The local webhook receiver: what notebook 05 and `smart-factory alerts receive` show an operator."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smart_factory.alerts.destinations import AppriseDestination, DeliveryFailed
from smart_factory.alerts.messages import IDEMPOTENCY_HEADER, Notification
from smart_factory.alerts.receiver import LocalReceiver, ReceivedRequest
from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.workshop.alerting import operator_inbox
from smart_factory.workshop.parameters import WorkshopParameters
from smart_factory.workshop.session import Workshop, WorkshopError


def notification(subject: str = "[TRIGGERED] Overheating Equipment Alert: 47.5 °C") -> Notification:
    return Notification(
        idempotency_key="4b1c3d2e-0000-5000-8000-000000000001", alert_name="Overheating Equipment Alert",
        kind="TRIGGERED", episode=1, evaluation_id="e-1", subject=subject,
        body="5 device-hours over 40 °C\nNotification id: 4b1c3d2e-0000-5000-8000-000000000001",
        created_at=datetime(2026, 1, 5, 11, 0, tzinfo=UTC),
    )  # fmt: skip


def test_apprise_notifications_arrive_with_title_body_and_key() -> None:
    seen: list[ReceivedRequest] = []
    with LocalReceiver(on_request=seen.append) as inbox:
        AppriseDestination(inbox.url).send(notification())
    (received,) = inbox.delivered
    assert received.title == "[TRIGGERED] Overheating Equipment Alert: 47.5 °C"
    assert received.body.startswith("5 device-hours over 40 °C")
    assert received.idempotency_key == "4b1c3d2e-0000-5000-8000-000000000001"
    assert seen == [received]


def test_a_refusing_receiver_fails_the_send_and_then_recovers() -> None:
    with LocalReceiver() as inbox:
        inbox.fail_next(503)
        with pytest.raises(DeliveryFailed):
            AppriseDestination(inbox.url).send(notification())
        AppriseDestination(inbox.url).send(notification("[OK] Overheating Equipment Alert"))
    assert [request.status for request in inbox.requests] == [503, 200]
    assert [request.title for request in inbox.delivered] == ["[OK] Overheating Equipment Alert"]


def test_a_body_that_is_not_json_is_kept_not_fatal() -> None:
    with LocalReceiver() as inbox:
        request = urllib.request.Request(f"http://127.0.0.1:{inbox.port}/hook", data=b"not json", method="POST")
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
    (received,) = inbox.requests
    assert received.payload == {} and received.title == ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_cli_receiver(port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "smart_factory.cli", "alerts", "receive", "--port", str(port)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip


def test_the_receive_command_prints_each_notification_until_interrupted() -> None:
    port = free_port()
    receiver = start_cli_receiver(port)
    try:
        first_line = receiver.stdout.readline()
        assert f"SMART_FACTORY_ALERT_DESTINATIONS=json://127.0.0.1:{port}/hook" in first_line
        AppriseDestination(f"json://127.0.0.1:{port}/hook").send(notification())
        receiver.send_signal(signal.SIGINT)
        output, _ = receiver.communicate(timeout=20)
    finally:
        receiver.kill()
    assert "--- [TRIGGERED] Overheating Equipment Alert: 47.5 °C\n5 device-hours over 40 °C" in output
    assert "Stopped after 1 notification(s)." in output
    assert receiver.returncode == 0


def test_the_receive_command_names_a_port_that_is_taken() -> None:
    with LocalReceiver() as taken:
        receiver = start_cli_receiver(taken.port)
        output, _ = receiver.communicate(timeout=60)
    assert receiver.returncode == 2
    assert f"cannot listen on 127.0.0.1:{taken.port}" in output and "--port" in output


def workshop_with(tmp_path: Path, alert_destination: str) -> Workshop:
    # operator_inbox reads only the parameters and the storage root: no Spark needed.
    parameters = WorkshopParameters(storage_root=str(tmp_path), alert_destination=alert_destination)
    return Workshop(parameters, spark=None, storage=StoragePaths.from_env(str(tmp_path)))  # type: ignore[arg-type]


def test_the_alert_destination_parameter_picks_the_inbox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    local = operator_inbox(workshop_with(tmp_path, "local"))
    try:
        assert local.receiver is not None and local.destinations[0].label.startswith("json://127.0.0.1:")
        assert "receiver this notebook started on 127.0.0.1" in capsys.readouterr().out
        local.destinations[0].send(notification())
        assert IDEMPOTENCY_HEADER in local.messages().text and "47.5 °C" in local.messages().text
    finally:
        local.close()

    log = operator_inbox(workshop_with(tmp_path, "file://"), announce=False)
    assert log.receiver is None
    assert [destination.label for destination in log.destinations] == [f"file://{tmp_path}/alerts/notifications.log"]
    assert "look there" in log.messages().text

    with pytest.raises(WorkshopError, match="parameter alert_destination") as refused:
        operator_inbox(workshop_with(tmp_path, "nosuchscheme://token@somewhere"))
    assert "token" not in str(refused.value)  # a URL may carry a secret: never echoed
