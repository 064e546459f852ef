"""Evaluate alerts once: query, decide, commit, send, record — in an order a crash cannot hurt.

1. Read each alert's status (last state, episode, last notification) from the alert store.
2. Run each query on Spark; decide the new state and whether it notifies (:mod:`.state`).
3. Commit, in one SQLite transaction, the new statuses, the notifications to send (one
   outbox row per destination) and the evaluation records — *before* sending anything.
4. Send everything pending — this run's, and any an earlier run could not deliver — and
   mark each notification delivered as soon as it went out.
5. Publish the evaluation records to the Delta table ``alert_history``.

A crash before step 3 changes nothing: the next run decides again from the same basis and
derives the same idempotency keys. A crash after it leaves the notifications PENDING and
the records unpublished, and the next run sends and publishes them. At worst a message
that went out just before a crash is sent again, under the same key for its receiver to
recognise; none is lost.

>>> from smart_factory.alerts import evaluate_alerts
>>> for evaluation in evaluate_alerts(spark):  # doctest: +SKIP
...     print(evaluation)
TRIGGERED  Overheating Equipment Alert: MAX(max_temperature_celsius) = 47.3 (12 rows; …); 1 of 1 notifications delivered
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from smart_factory.alerts.clock import Clock, utc_now
from smart_factory.alerts.condition import format_value
from smart_factory.alerts.definition import DEFAULT_ALERTS_DIR, AlertDefinition, load_alerts
from smart_factory.alerts.delivery import DEFAULT_RETRY, RetryPolicy, deliver
from smart_factory.alerts.destinations import Destination, configured_destinations
from smart_factory.alerts.history import AlertHistory
from smart_factory.alerts.messages import Notification, compose
from smart_factory.alerts.query import QueryOutcome, run_alert_query
from smart_factory.alerts.state import AlertStatus, advance
from smart_factory.alerts.store import OUTBOX_SCHEMA, AlertStore, DeliveryResult, OutboxEntry
from smart_factory.lakehouse import SCHEMA, register_tables, storage_of
from smart_factory.lakehouse.local_rows import local_rows
from smart_factory.runtime.ingestion import exclusive_run
from smart_factory.testing.fault_points import fault_point


@dataclass(frozen=True)
class AlertEvaluation:
    """What one evaluation of one alert found and sent."""

    alert: AlertDefinition
    previous: AlertStatus
    outcome: QueryOutcome
    status: AlertStatus
    evaluated_at: datetime
    notification: Notification | None
    deliveries: tuple[DeliveryResult, ...]  # this alert's sends in this run, earlier pending ones included
    seconds: float  # the query and the decision

    @property
    def state(self) -> str:
        return self.status.state

    @property
    def error(self) -> str | None:
        return self.outcome.error

    def __str__(self) -> str:
        found = (
            f"error: {self.error}" if self.error else
            f"{self.alert.condition.value_label} = {format_value(self.outcome.value)} "
            f"({self.outcome.row_count} row{'' if self.outcome.row_count == 1 else 's'}; "
            f"condition {self.alert.condition.describe()})"
        )  # fmt: skip
        delivered = sum(result.delivered for result in self.deliveries)
        sent = f"; {delivered} of {len(self.deliveries)} notifications delivered" if self.deliveries else ""
        return f"{self.state:<9}  {self.alert.name}: {found}{sent}"


class AlertEvaluator:
    """Evaluates alerts against the lakehouse of ``spark`` and notifies ``destinations``.

    ``clock`` and ``sleep`` are there for tests and simulations; the defaults are the real ones.
    """

    def __init__(
        self,
        spark: SparkSession,
        destinations: Sequence[Destination] | None = None,
        *,
        schema: str = SCHEMA,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Clock = utc_now,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.spark = spark
        self.storage = storage_of(spark)
        self.destinations = list(destinations) if destinations is not None else configured_destinations(self.storage)
        self.schema, self.retry, self.clock, self.sleep = schema, retry, clock, sleep

    def evaluate(self, alerts: Sequence[AlertDefinition]) -> list[AlertEvaluation]:
        """Evaluate each alert once. One process at a time: a second one is refused, not interleaved."""
        with exclusive_run(self.storage.root / "alerts", what="alert evaluation"):
            register_tables(self.spark, self.storage)  # tables other processes wrote since this session began
            with AlertStore.open(self.storage, self.schema) as store:
                return self._evaluate(alerts, store)

    def _evaluate(self, alerts: Sequence[AlertDefinition], store: AlertStore) -> list[AlertEvaluation]:
        history = AlertHistory(self.spark, self.storage, self.schema)
        history.publish(store)  # what a crashed run committed but did not publish
        now = self.clock()
        previous = store.statuses(alert.name for alert in alerts)
        evaluations = [self._decide(alert, previous[alert.name], now, store.store_id) for alert in alerts]
        queued = [
            OutboxEntry(evaluation.notification, destination.id, destination.label)
            for evaluation in evaluations if evaluation.notification is not None
            for destination in self.destinations
        ]  # fmt: skip
        batch = store.commit_evaluations(
            [e.status for e in evaluations], queued, [_record(e, queued) for e in evaluations]
        )
        fault_point("alert_outbox_recorded")
        destinations = {destination.id: destination for destination in self.destinations}
        results = deliver(store.pending(), destinations, self.retry, self.sleep, record=store.record_delivery)
        evaluations = [
            replace(e, deliveries=tuple(r for r in results if r.entry.notification.alert_name == e.alert.name))
            for e in evaluations
        ]
        store.replace_history(batch, [_record(e, queued) for e in evaluations])
        history.publish(store)
        return evaluations

    def _decide(self, alert: AlertDefinition, previous: AlertStatus, now: datetime, key_scope: str) -> AlertEvaluation:
        started = time.perf_counter()
        outcome = run_alert_query(self.spark, alert)
        step = advance(previous, outcome.state, now, alert.notification, str(uuid.uuid4()), key_scope)
        notification = compose(alert, outcome, step, now) if step.notification else None
        return AlertEvaluation(alert, previous, outcome, step.status, now, notification, (),
                               time.perf_counter() - started)  # fmt: skip


def evaluate_alerts(
    spark: SparkSession,
    alerts: str | Path | Sequence[AlertDefinition] = DEFAULT_ALERTS_DIR,
    *,
    names: list[str] | None = None,
    destinations: Sequence[Destination] | None = None,
    **options: Any,
) -> list[AlertEvaluation]:
    """Evaluate alerts once — those defined in a folder (the repository's ``alerts/`` by
    default) or given as definitions — optionally only those ``names``.

    Destinations default to ``$SMART_FACTORY_ALERT_DESTINATIONS`` (or ``.env``), else the
    log file; ``options`` go to :class:`AlertEvaluator` (``schema``, ``retry``, ``clock``).

    >>> evaluations = evaluate_alerts(spark, names=["Overheating Equipment Alert"])  # doctest: +SKIP
    >>> evaluations[0].state  # doctest: +SKIP
    'TRIGGERED'
    """
    if isinstance(alerts, str | Path):
        definitions = load_alerts(alerts, names)
    else:
        definitions = [alert for alert in alerts if not names or alert.name in names]
    return AlertEvaluator(spark, destinations, **options).evaluate(definitions)


def _record(evaluation: AlertEvaluation, queued: Sequence[OutboxEntry]) -> dict[str, Any]:
    """The evaluation's ``alert_history`` row: its sends in this run, or (before sending) what it queued."""
    status, outcome = evaluation.status, evaluation.outcome
    sends = [(r.entry, r.status, r.error) for r in evaluation.deliveries] or [
        (entry, "QUEUED", None) for entry in queued if entry.notification.alert_name == evaluation.alert.name
    ]
    return {
        "evaluation_id": status.evaluation_id,
        "sequence": status.sequence,
        "alert_name": status.alert_name,
        "alert_file": evaluation.alert.source_file,
        "evaluated_at": evaluation.evaluated_at,
        "state": status.state,
        "last_known_state": status.last_known_state,
        "condition": evaluation.alert.condition.describe(),
        "value": None if outcome.value is None else format_value(outcome.value),
        "row_count": outcome.row_count,
        "error": outcome.error,
        "episode": status.episode,
        "episode_started_at": status.episode_started_at,
        "last_notified_at": status.last_notified_at,
        "notifications": [
            {
                "idempotency_key": entry.notification.idempotency_key,
                "kind": entry.notification.kind,
                "destination": entry.destination,
                "status": state,
                "error": error,
            }
            for entry, state, error in sends
        ],
        "seconds": evaluation.seconds,
    }


def notification_outbox(spark: SparkSession, schema: str = SCHEMA) -> DataFrame:
    """The outbox as a DataFrame, newest first: what was sent, and what is still PENDING.

    >>> notification_outbox(spark).select("alert_name", "kind", "status", "attempts").show()  # doctest: +SKIP
    """
    with AlertStore.open(storage_of(spark), schema) as store:
        return local_rows(spark, [tuple(row.values()) for row in store.outbox()], OUTBOX_SCHEMA)
