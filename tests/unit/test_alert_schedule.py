"""Cron schedules in a time zone, and the `run` loop that honours them and stops cleanly."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from smart_factory.alerts import AlertDefinition, AlertScheduler, Schedule
from smart_factory.alerts.scheduler import stop_on_signals
from smart_factory.errors import AlertError

START = datetime(2024, 3, 1, 12, 0, 30, tzinfo=UTC)


def test_next_after_follows_the_cron_expression_in_its_time_zone() -> None:
    assert Schedule("*/2 * * * *").next_after(START) == datetime(2024, 3, 1, 12, 2, tzinfo=UTC)
    # 07:00 in Berlin is 06:00 UTC in winter and 05:00 UTC in summer.
    morning = Schedule("0 7 * * *", "Europe/Berlin")
    assert morning.next_after(START) == datetime(2024, 3, 2, 6, 0, tzinfo=UTC)
    assert morning.next_after(datetime(2024, 4, 1, 12, tzinfo=UTC)) == datetime(2024, 4, 2, 5, 0, tzinfo=UTC)


def test_bad_schedules_say_what_is_expected() -> None:
    with pytest.raises(ValueError, match="five-field cron"):
        Schedule("0 */2 * * * ?")  # Quartz syntax, as Databricks' UI shows it
    with pytest.raises(ValueError, match="not a known time zone"):
        Schedule("* * * * *", "CET+1")


def alert(name: str, cron: str) -> AlertDefinition:
    return AlertDefinition.from_mapping({
        "name": name, "query": "SELECT 1 AS v",
        "condition": {"column": "v", "op": ">", "threshold": 0}, "schedule": {"cron": cron},
    })  # fmt: skip


class FakeTime:
    """A clock that moves only when the scheduler waits (or an evaluation takes time)."""

    def __init__(self) -> None:
        self.now = START
        self.waits: list[float] = []

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_each_alert_runs_at_start_then_on_its_own_ticks() -> None:
    time, runs = FakeTime(), []

    def evaluate(alerts: Sequence[AlertDefinition]) -> list:
        runs.append((time.now.strftime("%H:%M:%S"), [a.name for a in alerts]))
        time.now += timedelta(seconds=5)  # evaluating takes a while
        return []

    scheduler = AlertScheduler(
        evaluate, [alert("every 2 min", "*/2 * * * *"), alert("every 5 min", "*/5 * * * *")],
        clock=lambda: time.now, report=lambda line: None,
    )  # fmt: skip
    assert scheduler.run(threading.Event(), max_runs=5, wait=time.wait) == 5
    assert runs == [
        ("12:00:30", ["every 2 min", "every 5 min"]),
        ("12:02:00", ["every 2 min"]),
        ("12:04:00", ["every 2 min"]),
        ("12:05:00", ["every 5 min"]),
        ("12:06:00", ["every 2 min"]),
    ]
    assert max(time.waits) <= 60  # sleeps in slices, so a jump of the wall clock is noticed


def test_a_failing_run_is_reported_and_the_loop_goes_on() -> None:
    time, reports, calls = FakeTime(), [], []

    def evaluate(alerts: Sequence[AlertDefinition]) -> list:
        calls.append(time.now)
        if len(calls) == 1:
            raise AlertError("the lakehouse is busy")
        return []

    scheduler = AlertScheduler(evaluate, [alert("a", "* * * * *")], clock=lambda: time.now, report=reports.append)
    assert scheduler.run(threading.Event(), max_runs=2, wait=time.wait) == 2
    assert any("evaluation failed, will retry at the next tick: the lakehouse is busy" in line for line in reports)


def test_sigterm_stops_the_loop_after_the_current_evaluation() -> None:
    stop, evaluated = threading.Event(), []
    before = signal.getsignal(signal.SIGTERM)

    def evaluate(alerts: Sequence[AlertDefinition]) -> list:
        evaluated.append(len(evaluated))
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` or a service manager would
        return []

    with stop_on_signals(stop):
        runs = AlertScheduler(evaluate, [alert("a", "* * * * *")], report=lambda line: None).run(stop)
    assert runs == 1 and evaluated == [0] and stop.is_set()
    assert signal.getsignal(signal.SIGTERM) == before  # the previous handler is back
