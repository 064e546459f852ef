"""When an evaluation notifies: Databricks SQL alerts' rules, as one pure function.

- A change to TRIGGERED notifies (a new *episode* starts).
- Staying TRIGGERED notifies again only every ``retrigger_seconds`` (0: never again).
- A change back to OK notifies only with ``notify_on_ok``.
- UNKNOWN (the query failed) notifies nothing and ends nothing: an episode that was
  TRIGGERED before a failed evaluation goes on after it, so a flaky query cannot make an
  operator hear about the same machine twice.

Each notification's idempotency key is derived from the alert, the evaluation the decision
was based on and the kind of notification, never from the clock: a run that crashed before
committing its evaluation is redone from the same basis and arrives at the same keys (the
outbox ignores a key it already holds), and a receiver can recognise a message sent twice.

>>> status = AlertStatus("Hot devices")
>>> step = advance(status, "TRIGGERED", datetime(2024, 3, 1, tzinfo=UTC), NotificationSettings(), "e-1")
>>> step.notification, step.status.episode
('TRIGGERED', 1)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from smart_factory.alerts.clock import as_utc
from smart_factory.alerts.definition import NotificationSettings

NotificationKind = Literal["TRIGGERED", "REMINDER", "OK"]
# Fixed forever: changing it would change every key and resend what was already sent.
_KEY_NAMESPACE = uuid.UUID("5f0c3a53-6a4e-4d5c-9a51-3d1f2f8f7a10")


@dataclass(frozen=True)
class AlertStatus:
    """What an alert's latest evaluation left behind: enough to decide the next one."""

    alert_name: str
    state: str = "UNKNOWN"  # OK, TRIGGERED or UNKNOWN (never evaluated, or the query failed)
    last_known_state: str = "UNKNOWN"  # the latest OK or TRIGGERED, looking past failed evaluations
    episode: int = 0  # how many times the alert has become TRIGGERED
    episode_started_at: datetime | None = None
    last_notified_at: datetime | None = None
    evaluation_id: str = ""  # "" until the first evaluation is recorded
    sequence: int = 0  # evaluations recorded so far


@dataclass(frozen=True)
class Step:
    status: AlertStatus
    notification: NotificationKind | None = None
    idempotency_key: str | None = None


def advance(
    previous: AlertStatus,
    state: str,
    now: datetime,
    settings: NotificationSettings,
    evaluation_id: str,
    key_scope: str = "",
) -> Step:
    """The status after an evaluation found ``state`` at ``now``, and what it should send.

    ``key_scope`` tells this alert store's keys from any other's (see :func:`idempotency_key`).
    """
    was_triggered = previous.last_known_state == "TRIGGERED"
    status = replace(
        previous,
        state=state,
        last_known_state=previous.last_known_state if state == "UNKNOWN" else state,
        evaluation_id=evaluation_id,
        sequence=previous.sequence + 1,
    )
    kind: NotificationKind | None = None
    if state == "TRIGGERED" and not was_triggered:
        kind = "TRIGGERED"
        status = replace(status, episode=previous.episode + 1, episode_started_at=now)
    elif state == "TRIGGERED" and _reminder_due(previous, now, settings.retrigger_seconds):
        kind = "REMINDER"
    elif state == "OK" and was_triggered and settings.notify_on_ok:
        kind = "OK"
    if kind is None:
        return Step(status)
    return Step(replace(status, last_notified_at=now), kind, idempotency_key(previous, kind, key_scope))


def idempotency_key(basis: AlertStatus, kind: NotificationKind, key_scope: str = "") -> str:
    """The same alert, basis evaluation and kind always give the same key, within one scope.

    The scope (the alert store's id) matters for an alert's very first notification, whose
    basis is "never evaluated" everywhere: without it, every fresh workshop would send its
    first overheating alert under the same key, and a receiver that remembers keys would
    drop all but one of them.
    """
    identity = f"{key_scope}\n{basis.alert_name}\n{basis.evaluation_id}\n{kind}"
    return str(uuid.uuid5(_KEY_NAMESPACE, identity))


def _reminder_due(previous: AlertStatus, now: datetime, retrigger_seconds: int) -> bool:
    if retrigger_seconds <= 0:
        return False
    if previous.last_notified_at is None:
        return True
    return now - as_utc(previous.last_notified_at) >= timedelta(seconds=retrigger_seconds)
