"""``smart-factory alerts run``: evaluate each alert on its own schedule until told to stop.

Every alert is evaluated once at start, then at each tick of its cron schedule; alerts due
at the same moment share one evaluation run. Ticks missed while an evaluation ran long are
skipped, not queued up. SIGINT or SIGTERM lets the current evaluation finish, then stops.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException

from smart_factory.alerts.clock import Clock, utc_now
from smart_factory.alerts.definition import AlertDefinition
from smart_factory.alerts.evaluation import AlertEvaluation
from smart_factory.errors import SmartFactoryError

# Sleep in slices no longer than this, so a changed wall clock (a laptop waking up) is noticed.
_LONGEST_WAIT_SECONDS = 60.0

Evaluate = Callable[[Sequence[AlertDefinition]], list[AlertEvaluation]]


class AlertScheduler:
    """Runs ``evaluate`` on the alerts as their schedules come due.

    >>> evaluator = AlertEvaluator(spark)                                   # doctest: +SKIP
    >>> AlertScheduler(evaluator.evaluate, load_alerts()).run(threading.Event(), max_runs=1)  # doctest: +SKIP
    """

    def __init__(
        self,
        evaluate: Evaluate,
        alerts: Sequence[AlertDefinition],
        *,
        clock: Clock = utc_now,
        report: Callable[[str], None] = print,
    ) -> None:
        self.evaluate, self.alerts, self.clock, self.report = evaluate, list(alerts), clock, report

    def run(
        self,
        stop: threading.Event,
        max_runs: int | None = None,
        wait: Callable[[float], object] | None = None,
    ) -> int:
        """Evaluate until ``stop`` is set (or after ``max_runs`` evaluation runs); the runs made.

        ``wait(seconds)`` pauses between runs; by default it waits on ``stop``, so setting
        it wakes the loop at once.
        """
        wait = wait or (lambda seconds: stop.wait(seconds))
        start = self.clock()
        due_at = {alert.name: start for alert in self.alerts}
        runs = 0
        while not stop.is_set() and (max_runs is None or runs < max_runs) and self.alerts:
            now = self.clock()
            due = [alert for alert in self.alerts if due_at[alert.name] <= now]
            if not due:
                wait(min(_LONGEST_WAIT_SECONDS, (min(due_at.values()) - now).total_seconds()))
                continue
            self._evaluate(due, now)
            runs += 1
            finished = self.clock()
            for alert in due:
                due_at[alert.name] = alert.schedule.next_after(finished)
            self.report(f"next evaluation: {_next(due_at, self.alerts)}")
        return runs

    def _evaluate(self, alerts: Sequence[AlertDefinition], now: datetime) -> None:
        self.report(f"{now:%Y-%m-%d %H:%M:%S} UTC: evaluating {len(alerts)} alert(s)")
        try:
            for evaluation in self.evaluate(alerts):
                self.report(f"  {evaluation}")
        except (SmartFactoryError, PySparkException, Py4JError, OSError, sqlite3.Error) as error:
            # A lakehouse that is busy or briefly unreadable must not end the loop: try at the next tick.
            self.report(f"  evaluation failed, will retry at the next tick: {str(error).strip().splitlines()[0]}")


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """Set ``stop`` on SIGINT or SIGTERM while inside the block (main thread only)."""
    handled = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.getsignal(number) for number in handled}
    for number in handled:
        signal.signal(number, lambda *_: stop.set())
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _next(due_at: dict[str, datetime], alerts: Sequence[AlertDefinition]) -> str:
    soonest = min(due_at.values())
    names = [alert.name for alert in alerts if due_at[alert.name] == soonest]
    return f"{soonest:%Y-%m-%d %H:%M:%S} UTC ({', '.join(names)})"
