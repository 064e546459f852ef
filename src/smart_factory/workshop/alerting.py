"""Part 5's alert side: where the notifications go, evaluating the alert, and what it left behind.

    inbox = workshop.operator_inbox(factory)        # from the alert_destination parameter
    workshop.evaluate_overheating_alert(factory, inbox)
    inbox.messages()                                # what the operator received

The ``alert_destination`` parameter says where notifications go:

- ``local`` (the default): a webhook receiver this notebook starts on 127.0.0.1, standing
  in for the operator's phone; Apprise posts to it exactly as it would to a real webhook.
- ``configured``: the destinations of ``SMART_FACTORY_ALERT_DESTINATIONS`` (or ``.env``),
  e.g. Slack or email; the notification log file when none is set.
- ``file://`` (the log file under the storage root), ``file:///a/path.log``, or any
  destination URL that holds no secret (``json://127.0.0.1:8765/hook`` or
  ``databricks+http://127.0.0.1:8765/hook`` for ``smart-factory alerts receive``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pyspark.sql import functions as F

from smart_factory.alerts import HISTORY_TABLE, evaluate_alerts, load_alerts
from smart_factory.alerts.definition import DEFAULT_ALERTS_DIR, AlertDefinition
from smart_factory.alerts.destinations import (
    Destination,
    LogFileDestination,
    configured_destinations,
    default_log_destination,
    destination_for_url,
)
from smart_factory.alerts.evaluation import AlertEvaluation, notification_outbox
from smart_factory.alerts.messages import IDEMPOTENCY_HEADER
from smart_factory.alerts.planning import alert_query_problems
from smart_factory.alerts.query import run_alert_query
from smart_factory.alerts.receiver import LocalReceiver
from smart_factory.errors import AlertDefinitionError, AlertDestinationError
from smart_factory.workshop.display import Table, TextBlock
from smart_factory.workshop.session import Workshop, WorkshopError

OVERHEATING_ALERT = "Overheating Equipment Alert"
OVERHEATING_CELL = "overheating"  # the name notebook 05's %%alert cell saves it under
ALERT_CELLS = Path("workshop") / "alerts"
LOCAL_RECEIVER = "local"
CONFIGURED_DESTINATIONS = "configured"


@dataclass
class OperatorInbox:
    """Where this notebook's notifications go; with ``receiver``, what arrived there."""

    destinations: list[Destination]
    receiver: LocalReceiver | None = None

    def messages(self) -> TextBlock:
        """Every notification the local receiver got, oldest first (or where to look for them)."""
        if self.receiver is None:
            where = ", ".join(destination.label for destination in self.destinations)
            return TextBlock(f"Notifications went to {where}; look there.")
        received = self.receiver.delivered
        if not received:
            return TextBlock("No notifications received yet.")
        return TextBlock("\n\n".join(
            f"--- message {number} · {IDEMPOTENCY_HEADER}: {request.idempotency_key}\n{request.title}\n\n{request.body}"
            for number, request in enumerate(received, 1)
        ))  # fmt: skip

    def close(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()


def operator_inbox(factory: Workshop, announce: bool = True) -> OperatorInbox:
    """The destinations the ``alert_destination`` parameter names; a started receiver for ``local``."""
    setting = factory.parameters.alert_destination.strip()
    if setting == LOCAL_RECEIVER:
        receiver = LocalReceiver().start()
        inbox = OperatorInbox([destination_for_url(receiver.url, factory.storage)], receiver)
        said = "a webhook receiver this notebook started on 127.0.0.1, standing in for the operator's phone"
    elif setting == CONFIGURED_DESTINATIONS:
        inbox = OperatorInbox(configured_destinations(factory.storage))
        said = f"the {len(inbox.destinations)} destination(s) configured in SMART_FACTORY_ALERT_DESTINATIONS"
    else:
        try:
            inbox = OperatorInbox([destination_for_url(setting, factory.storage)])
        except AlertDestinationError as error:  # says what is wrong, without the URL (it may hold a secret)
            raise WorkshopError(f"parameter alert_destination: {error}") from None
        said = "the destination of the alert_destination parameter"
    if announce:
        print(f"Notifications go to {said}.")
    return inbox


def quiet_inbox(factory: Workshop) -> OperatorInbox:
    """The notification log file, not printed: for re-creating part 5 on the way to a later one."""
    return OperatorInbox([LogFileDestination(default_log_destination(factory.storage).path, echo=False)])


def overheating_alert() -> AlertDefinition:
    (alert,) = load_alerts(DEFAULT_ALERTS_DIR, [OVERHEATING_ALERT])
    return alert


def alert_cells(factory: Workshop) -> Path:
    """Where ``%%alert`` cells are saved on this storage root."""
    return factory.storage.root / ALERT_CELLS


def save_alert_cell(factory: Workshop, name: str, text: str) -> AlertDefinition:
    """Check an ``%%alert`` cell's YAML (fields, then its query planned on Spark) and save it as ``<name>.yml``."""
    source = f"cell %%alert {name}"
    try:
        node = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise AlertDefinitionError(f"{source}: not valid YAML: {error}") from None
    alert = AlertDefinition.from_mapping(raw, source=source, node=node)
    problems = alert_query_problems(factory.spark, [alert])
    if problems:
        raise AlertDefinitionError("\n".join(problems))
    folder = alert_cells(factory)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yml").write_text(text, encoding="utf-8")
    return alert


def saved_alert(factory: Workshop, name: str) -> AlertDefinition:
    """The alert an ``%%alert <name>`` cell saved; the shipped overheating alert if that cell has not run."""
    path = alert_cells(factory) / f"{name}.yml"
    if path.is_file():
        return AlertDefinition.load(path)
    if name == OVERHEATING_CELL:
        return overheating_alert()
    raise WorkshopError(f"no alert saved as {name!r}: run its %%alert {name} cell first")


def evaluate_alert(factory: Workshop, inbox: OperatorInbox, name: str = "overheating") -> Table:
    """Evaluate a saved alert once, send what it decides to ``inbox``, and show the outcome."""
    (evaluation,) = evaluate_alerts(factory.spark, [saved_alert(factory, name)], destinations=inbox.destinations)
    return evaluation_table(evaluation)


def evaluate_overheating_alert(factory: Workshop, inbox: OperatorInbox) -> Table:
    """Evaluate the overheating alert once (the notebook's cell, else the shipped file) and show the outcome."""
    return evaluate_alert(factory, inbox, OVERHEATING_CELL)


def evaluation_table(evaluation: AlertEvaluation) -> Table:
    outcome = evaluation.outcome
    sent = sum(delivery.delivered for delivery in evaluation.deliveries)
    row = [evaluation.alert.name, evaluation.state, outcome.value, outcome.row_count, evaluation.status.episode, sent]
    return Table(
        ["alert", "state", evaluation.alert.condition.value_label, "rows", "episode", "notifications sent"],
        [row],
        caption=f"error: {outcome.error}" if outcome.error else None,
    )


def alert_query_result(factory: Workshop, name: str = "overheating") -> Table:
    """What a saved alert's own query returns now (the overheating alert: hot device-hours of the last 3 hours)."""
    outcome = run_alert_query(factory.spark, saved_alert(factory, name))
    if outcome.error:
        raise WorkshopError(f"the alert's query failed: {outcome.error}")
    return Table(outcome.columns, outcome.rows, caption=f"{outcome.row_count} row(s)")


def alert_history(factory: Workshop) -> Table:
    """Every evaluation of the overheating alert, in order (the Delta table ``alert_history``)."""
    history = (
        factory.table(HISTORY_TABLE)
        .where(F.col("alert_name") == OVERHEATING_ALERT)
        .select("sequence", "state", "value", "row_count", "episode", F.size("notifications").alias("notifications"))
    )
    return Table.from_dataframe(history, ["sequence"], limit=None)


def outbox(factory: Workshop) -> Table:
    """The notification outbox: each message, where it went and whether it was delivered."""
    frame = notification_outbox(factory.spark).select("alert_name", "kind", "episode", "status", "attempts")
    return Table.from_dataframe(frame, ["alert_name", "episode", "kind"], limit=None)


def alerts_summary(factory: Workshop) -> Table | str:
    """Each alert's latest state, how often it triggered and how many notifications went out."""
    if not factory.has_table(HISTORY_TABLE):
        return "none evaluated yet (05_alerts.ipynb does)"
    evaluations = factory.table(HISTORY_TABLE)
    latest = evaluations.groupBy("alert_name").agg(
        F.max_by("state", "sequence").alias("state"),
        F.count("*").alias("evaluations"),
        F.max("episode").alias("times_triggered"),
        F.sum(F.size(F.filter("notifications", lambda sent: sent.status == "DELIVERED"))).alias("delivered"),
    )
    return Table.from_dataframe(latest, ["alert_name"], limit=None)
