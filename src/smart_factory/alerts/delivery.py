"""Sending what the outbox holds: a few tries with growing pauses, then leave it for next time.

A webhook that hiccups for a second gets the message on the second try; one that is down
for longer keeps it PENDING in the outbox, and every later evaluation tries again until it
is delivered. Nothing is dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from smart_factory.alerts.clock import utc_now
from smart_factory.alerts.destinations import DeliveryFailed, Destination
from smart_factory.alerts.store import DeliveryResult, OutboxEntry


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` tries per notification and run, pausing ``first_delay_seconds``, then twice that…

    >>> RetryPolicy(attempts=4, first_delay_seconds=0.5).delays()
    [0.5, 1.0, 2.0]
    """

    attempts: int = 3
    first_delay_seconds: float = 1.0
    backoff_factor: float = 2.0

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.first_delay_seconds < 0 or self.backoff_factor < 1:
            raise ValueError("a retry policy needs attempts >= 1, first_delay_seconds >= 0 and backoff_factor >= 1")

    def delays(self) -> list[float]:
        """The pauses between consecutive tries."""
        return [self.first_delay_seconds * self.backoff_factor**i for i in range(self.attempts - 1)]


DEFAULT_RETRY = RetryPolicy()


def deliver(
    entries: Sequence[OutboxEntry],
    destinations: Mapping[str, Destination],
    policy: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    record: Callable[[DeliveryResult], None] = lambda result: None,
) -> list[DeliveryResult]:
    """Try each entry whose destination is configured; entries for other destinations wait.

    ``record`` gets each result as soon as it is known, so a crash in the middle of a long
    list resends (at worst) the one message it was sending.
    """
    results = []
    for entry in entries:
        destination = destinations.get(entry.destination_id)
        if destination is not None:
            results.append(_deliver_one(entry, destination, policy, sleep))
            record(results[-1])
    return results


def _deliver_one(
    entry: OutboxEntry, destination: Destination, policy: RetryPolicy, sleep: Callable[[float], None]
) -> DeliveryResult:
    error = None
    pauses = [*policy.delays(), None]
    for attempt, pause in enumerate(pauses, start=1):
        try:
            destination.send(entry.notification)
            return DeliveryResult(entry, True, attempt, utc_now())
        except DeliveryFailed as failure:
            error = str(failure)
        if pause is not None:
            sleep(pause)
    return DeliveryResult(entry, False, policy.attempts, utc_now(), error)
