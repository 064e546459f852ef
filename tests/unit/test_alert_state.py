"""When an evaluation notifies: trigger once, remind per retrigger_seconds, OK only when asked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from smart_factory.alerts.definition import NotificationSettings
from smart_factory.alerts.state import AlertStatus, advance

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def run(states: list[str], settings: NotificationSettings, every: timedelta = timedelta(minutes=2)) -> list:
    """Feed ``states`` to one alert, one evaluation per ``every``; the notification kinds sent."""
    status, sent = AlertStatus("Hot devices"), []
    for number, state in enumerate(states):
        step = advance(status, state, START + number * every, settings, f"evaluation-{number}")
        status = step.status
        sent.append(step.notification)
    return sent


def test_a_trigger_notifies_once_and_staying_triggered_stays_quiet() -> None:
    sent = run(["OK", "TRIGGERED", "TRIGGERED", "TRIGGERED"], NotificationSettings(retrigger_seconds=0))
    assert sent == [None, "TRIGGERED", None, None]


def test_staying_triggered_reminds_every_retrigger_seconds() -> None:
    sent = run(["TRIGGERED"] * 6, NotificationSettings(retrigger_seconds=300))  # every 2 minutes, remind after 5
    assert sent == ["TRIGGERED", None, None, "REMINDER", None, None]


def test_back_to_ok_notifies_only_with_notify_on_ok() -> None:
    assert run(["TRIGGERED", "OK", "OK"], NotificationSettings(notify_on_ok=True)) == ["TRIGGERED", "OK", None]
    assert run(["TRIGGERED", "OK", "OK"], NotificationSettings(notify_on_ok=False)) == ["TRIGGERED", None, None]
    # Never triggered: OK is not news.
    assert run(["OK", "OK"], NotificationSettings(notify_on_ok=True)) == [None, None]


def test_a_failed_evaluation_neither_ends_nor_restarts_an_episode() -> None:
    settings = NotificationSettings(notify_on_ok=True)
    assert run(["TRIGGERED", "UNKNOWN", "TRIGGERED", "UNKNOWN", "OK"], settings) == [
        "TRIGGERED", None, None, None, "OK",
    ]  # fmt: skip
    # A query failing from the start notifies nothing, and its first success is a normal trigger.
    assert run(["UNKNOWN", "UNKNOWN", "TRIGGERED"], settings) == [None, None, "TRIGGERED"]


def test_episodes_count_triggers_and_statuses_carry_what_the_next_needs() -> None:
    settings = NotificationSettings(notify_on_ok=True)
    status = AlertStatus("Hot devices")
    for number, state in enumerate(["TRIGGERED", "OK", "UNKNOWN", "TRIGGERED"]):
        status = advance(status, state, START + timedelta(minutes=number), settings, f"e{number}").status
    assert (status.episode, status.episode_started_at, status.sequence) == (2, START + timedelta(minutes=3), 4)
    assert status.last_known_state == "TRIGGERED" and status.evaluation_id == "e3"
    assert status.last_notified_at == START + timedelta(minutes=3)


def test_the_same_basis_gives_the_same_key_and_a_new_basis_a_new_one() -> None:
    settings = NotificationSettings(retrigger_seconds=60)
    basis = AlertStatus("Hot devices", evaluation_id="e7", sequence=7)
    first = advance(basis, "TRIGGERED", START, settings, "e8-first-try")
    redone = advance(basis, "TRIGGERED", START + timedelta(seconds=30), settings, "e8-after-a-crash")
    assert first.idempotency_key == redone.idempotency_key  # a crash before recording cannot double-send
    reminder = advance(first.status, "TRIGGERED", START + timedelta(seconds=60), settings, "e9")
    assert reminder.notification == "REMINDER" and reminder.idempotency_key != first.idempotency_key
    other_alert = advance(AlertStatus("Cold devices", evaluation_id="e7"), "TRIGGERED", START, settings, "x")
    assert other_alert.idempotency_key != first.idempotency_key


def test_first_notifications_of_two_alert_stores_have_different_keys() -> None:
    # "Never evaluated" is the same basis in every fresh workshop; the store's id tells them apart.
    never, settings = AlertStatus("Hot devices"), NotificationSettings()
    here = advance(never, "TRIGGERED", START, settings, "e1", key_scope="store-a")
    there = advance(never, "TRIGGERED", START, settings, "e1", key_scope="store-b")
    assert here.idempotency_key != there.idempotency_key
    assert here.idempotency_key == advance(never, "TRIGGERED", START, settings, "e2", "store-a").idempotency_key


def test_naive_timestamps_read_back_from_spark_are_local_time() -> None:
    # PySpark gives TIMESTAMP values back as naive local datetimes; the reminder clock must agree.
    notified = (START - timedelta(seconds=59)).astimezone().replace(tzinfo=None)
    status = AlertStatus("Hot devices", "TRIGGERED", "TRIGGERED", 1, notified, notified, "e1", 1)
    assert advance(status, "TRIGGERED", START, NotificationSettings(retrigger_seconds=60), "e2").notification is None
    later = START + timedelta(seconds=1)
    assert advance(status, "TRIGGERED", later, NotificationSettings(retrigger_seconds=60), "e2").notification
