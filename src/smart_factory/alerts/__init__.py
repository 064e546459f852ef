"""Alerts on the lakehouse, modelled on Databricks SQL alerts, with real notification destinations.

Definitions are YAML files in the repository's ``alerts/`` folder; evaluations are recorded
in ``smart_factory.alert_history``, notifications go through ``smart_factory.alert_outbox``.

>>> from smart_factory.alerts import evaluate_alerts
>>> for evaluation in evaluate_alerts(spark):  # doctest: +SKIP
...     print(evaluation)
"""

from smart_factory.alerts.condition import Condition
from smart_factory.alerts.definition import AlertDefinition, NotificationSettings, load_alerts
from smart_factory.alerts.delivery import RetryPolicy
from smart_factory.alerts.destinations import (
    AppriseDestination,
    DatabricksWebhookDestination,
    LogFileDestination,
    SlackWebhookDestination,
    configured_destinations,
)
from smart_factory.alerts.evaluation import AlertEvaluation, AlertEvaluator, evaluate_alerts, notification_outbox
from smart_factory.alerts.history import HISTORY_TABLE
from smart_factory.alerts.schedule import Schedule
from smart_factory.alerts.scheduler import AlertScheduler

__all__ = [
    "HISTORY_TABLE",
    "AlertDefinition",
    "AlertEvaluation",
    "AlertEvaluator",
    "AlertScheduler",
    "AppriseDestination",
    "Condition",
    "DatabricksWebhookDestination",
    "LogFileDestination",
    "NotificationSettings",
    "RetryPolicy",
    "Schedule",
    "SlackWebhookDestination",
    "configured_destinations",
    "evaluate_alerts",
    "load_alerts",
    "notification_outbox",
]
