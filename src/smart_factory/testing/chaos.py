"""The seeded draw of a chaos test: which update dies, at which fault point, writing which dataset.

The same seed always draws the same faults, so a failure found once is replayed at will::

    >>> targets = {"after_write": ("bronze", "silver"), "before_event_log_write": (None,)}
    >>> [draw.describe() for draw in draw_faults(seed=7, rounds=2, targets=targets)]  # doctest: +SKIP
    ['update 2: kill at after_write writing silver', 'update 3: kill at before_event_log_write']

Points are drawn first, evenly, then a dataset among those the point is marked for, so a
point marked once (the final event-log write) is drawn as often as one marked on every table.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from smart_factory.testing.fault_points import check_fault
from smart_factory.testing.faults import Fault


@dataclass(frozen=True)
class ChaosDraw:
    """One round: ``files`` new readings files land, then update number ``update`` is killed."""

    round: int
    update: int
    point: str
    dataset: str | None
    files: int

    @property
    def fault(self) -> Fault:
        return Fault(self.point, dataset=self.dataset)

    def describe(self) -> str:
        where = f" writing {self.dataset}" if self.dataset else ""
        return f"update {self.update}: {self.files} new file(s), then a kill at {self.point}{where}"


def draw_faults(
    seed: int,
    rounds: int,
    targets: Mapping[str, tuple[str | None, ...]],
    *,
    first_update: int = 2,
    max_files: int = 2,
) -> list[ChaosDraw]:
    """``rounds`` draws from ``targets`` (``{point: datasets it may be restricted to}``).

    Round ``n`` kills update ``first_update + n``: the updates before the first kill (the
    clean first update, by default) set up tables for every point to be reachable.
    """
    if rounds < 0:
        raise ValueError(f"rounds must be 0 or more, got {rounds}")
    for point, datasets in targets.items():
        check_fault(point)
        if not datasets:
            raise ValueError(f"fault point {point} lists no dataset; give (None,) for a point that names none")
    randomness = random.Random(seed)
    points = sorted(targets)  # the draw must not depend on the mapping's order
    draws = []
    for number in range(rounds):
        point = randomness.choice(points)
        dataset = randomness.choice(targets[point])
        files = randomness.randint(1, max_files)
        draws.append(ChaosDraw(number, first_update + number, point, dataset, files))
    return draws
