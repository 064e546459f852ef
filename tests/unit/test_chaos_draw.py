"""The chaos test's seeded draw and the runtime's unfinished-update markers: pure pieces, no Spark."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from smart_factory.runtime.unfinished import UnfinishedUpdates
from smart_factory.testing import FaultInjectionError
from smart_factory.testing.chaos import draw_faults

TARGETS = {
    "after_write": ("bronze", "silver", "quarantine"),
    "during_merge": ("gold",),
    "before_event_log_write": (None,),
}


def test_the_same_seed_draws_the_same_faults_and_another_seed_others() -> None:
    assert draw_faults(11, 20, TARGETS) == draw_faults(11, 20, dict(reversed(TARGETS.items())))
    assert draw_faults(11, 20, TARGETS) != draw_faults(12, 20, TARGETS)


def test_each_draw_is_a_point_with_one_of_its_datasets_in_a_later_update() -> None:
    draws = draw_faults(3, 300, TARGETS, first_update=2, max_files=3)

    assert [draw.update for draw in draws] == list(range(2, 302))
    assert all(draw.dataset in TARGETS[draw.point] for draw in draws)
    assert {draw.files for draw in draws} == {1, 2, 3}
    # Points are drawn evenly, however many datasets each is marked for.
    per_point = Counter(draw.point for draw in draws)
    assert set(per_point) == set(TARGETS) and min(per_point.values()) > 60
    assert draws[0].fault.dataset == draws[0].dataset and draws[0].fault.point == draws[0].point


def test_a_draw_over_an_unknown_point_or_no_dataset_is_refused() -> None:
    with pytest.raises(FaultInjectionError, match="after_comit"):
        draw_faults(1, 1, {"after_comit": ("bronze",)})
    with pytest.raises(ValueError, match="give \\(None,\\)"):
        draw_faults(1, 1, {"after_write": ()})
    assert draw_faults(1, 0, TARGETS) == []


def test_a_started_update_is_left_behind_until_it_finishes(tmp_path: Path) -> None:
    updates = UnfinishedUpdates(tmp_path)
    assert updates.left_behind() == []

    updates.start("first")
    updates.start("second")
    left = updates.left_behind()
    assert [update.update_id for update in left] == ["first", "second"]
    assert {update.process_id for update in left} == {os.getpid()}
    assert "ended without finishing" in left[0].message() and f"pid {os.getpid()}" in left[0].message()

    updates.finish("first")
    updates.finish("never-started")  # nothing to remove: no error
    assert [update.update_id for update in updates.left_behind()] == ["second"]


def test_an_unreadable_marker_still_names_its_update(tmp_path: Path) -> None:
    updates = UnfinishedUpdates(tmp_path)
    updates.folder.mkdir(parents=True)
    (updates.folder / "0c4f.json").write_text('{"update_id": "0c4f", "process_')
    (updates.folder / "9a9a.json").write_text(json.dumps({"update_id": "9a9a", "process_id": 7,
                                                            "started_at": "2026-01-05T08:00:00+00:00"}))  # fmt: skip

    assert [(update.update_id, update.process_id) for update in updates.left_behind()] == [("9a9a", 7), ("0c4f", -1)]
