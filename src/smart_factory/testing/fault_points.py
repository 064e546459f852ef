"""Named places where a run can be made to crash, for the fault-injection harness.

Runtime code marks the places (``fault_point("after_write", batch_id=…)``); nothing happens
unless the process was started with ``SMART_FACTORY_FAULT_POINT`` naming one of them, as
:mod:`smart_factory.testing.faults` starts its child processes::

    SMART_FACTORY_FAULT_POINT=after_write   the point (see FAULT_POINTS)
    SMART_FACTORY_FAULT_BATCH=1             only at this micro-batch id (default: the first reached)
    SMART_FACTORY_FAULT_DATASET=gold_x      only where this dataset is written (default: any)
    SMART_FACTORY_FAULT_ACTION=kill         kill (default), hang until killed from outside, or raise
    SMART_FACTORY_FAULT_REPORT=/tmp/r.json  where to say which point fired, before acting

A kill is SIGKILL, so no ``finally`` block, shutdown hook or buffered write runs: what a
power cut or the OOM killer does. When this process leads its process group (the harness
starts children that way) the whole group dies at once, Spark's JVM included; killing
only Python would leave the JVM free to finish the write it was doing before it noticed.

``raise`` is a cheaper, in-process stand-in for a kill (no second process, no second JVM):
it raises :class:`FaultRaised`, which no ``except Exception`` can swallow. It is faithful
only where nothing between the point and the top of the stack writes data on the way out
(a ``finally`` that releases a lock or closes a file is fine).
Not inside a ``foreachBatch`` function (the micro-batch points): Py4J's callback thread
dies without answering Spark, which then waits for ever. Kill there instead.

This module is imported by runtime code, so it (and what it imports) uses the standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from smart_factory.testing.delta_log import data_files_on_disk, latest_version

POINT_ENV = "SMART_FACTORY_FAULT_POINT"
BATCH_ENV = "SMART_FACTORY_FAULT_BATCH"
ACTION_ENV = "SMART_FACTORY_FAULT_ACTION"
REPORT_ENV = "SMART_FACTORY_FAULT_REPORT"
DATASET_ENV = "SMART_FACTORY_FAULT_DATASET"
FAULT_ENVIRONMENT = (POINT_ENV, BATCH_ENV, ACTION_ENV, REPORT_ENV, DATASET_ENV)
ACTIONS = ("kill", "hang", "raise")
# How often the during-write watcher looks at the table folder. A small append spends tens
# of milliseconds between its first data file and its commit, so this leaves a wide margin.
_WATCH_INTERVAL_SECONDS = 0.0005


@dataclass(frozen=True)
class FaultPoint:
    name: str
    where: str
    # A window spans an operation (marked with `fault_window`); a point is one moment.
    is_window: bool = False


FAULT_POINTS: dict[str, FaultPoint] = {
    point.name: point
    for point in (
        FaultPoint("before_batch", "a micro-batch has started; nothing of it is written yet"),
        FaultPoint("before_write", "just before the micro-batch's Delta write starts"),
        FaultPoint(
            "during_write",
            "a data file of the micro-batch is in the table folder but its Delta commit is not",
            is_window=True,
        ),
        FaultPoint("after_write", "the Delta commit is done; Spark's checkpoint commit is not"),
        FaultPoint("alert_outbox_recorded", "an alert evaluation's notifications are in the outbox; none is sent yet"),
        FaultPoint(
            "during_merge",
            "a materialized view's MERGE or replace has written a data file; its Delta commit is not done",
            is_window=True,
        ),
        FaultPoint("after_merge", "a materialized view's MERGE is committed; the refresh state saying so is not"),
        FaultPoint("after_recompute", "a materialized view was recomputed and committed; its refresh state is not"),
        FaultPoint("before_event_log_write", "an update has ended; its final event-log write has not started"),
    )
}


class FaultInjectionError(ValueError):
    """A fault-injection setting names no known point or action; the message lists them."""


def check_fault(point: str, action: str = "kill") -> FaultPoint:
    """The registered point called ``point``, after checking ``action`` too."""
    if point not in FAULT_POINTS:
        raise FaultInjectionError(f"Unknown fault point {point!r}; the known points are {', '.join(FAULT_POINTS)}.")
    if action not in ACTIONS:
        raise FaultInjectionError(f"Unknown fault action {action!r}; choose one of {', '.join(ACTIONS)}.")
    if action == "hang" and FAULT_POINTS[point].is_window:
        raise FaultInjectionError(
            f"{point} cannot hang: the write it watches goes on in the JVM regardless. "
            "Hang at a point instead (before_batch, before_write or after_write, say)."
        )
    if action == "raise" and FAULT_POINTS[point].is_window:
        raise FaultInjectionError(f"{point} cannot raise: it fires in a watcher thread. Kill there instead.")
    return FAULT_POINTS[point]


class FaultRaised(BaseException):
    """The ``raise`` action's crash. A BaseException, as a kill is not an error code can handle."""


def fault_point(name: str, *, batch_id: int | None = None, dataset: str | None = None) -> None:
    """Crash here when the harness asked for this point (and this micro-batch, and this dataset)."""
    if _armed(name, batch_id, dataset):
        _fire(name, batch_id, details={"dataset": dataset})


@contextmanager
def fault_window(
    name: str, *, batch_id: int | None = None, table_path: str | None = None, dataset: str | None = None
) -> Iterator[None]:
    """Mark a Delta write in progress; crash while it has written data but not committed.

    A watcher thread compares the table folder with how it was on entry: as soon as a new
    data file is there and no new ``_delta_log`` commit, the process is killed. If the
    commit shows up first (a write too quick to catch) the report says so and nothing is
    killed, so the harness can tell a missed window from a crash.
    """
    if not _armed(name, batch_id, dataset) or table_path is None:
        yield
        return
    table = Path(table_path)
    data_files_before = data_files_on_disk(table)
    commit_before = latest_version(table)
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            new_files = data_files_on_disk(table) - data_files_before
            if new_files and latest_version(table) == commit_before:
                _fire(name, batch_id, details={
                    "dataset": dataset, "uncommitted_data_files": sorted(new_files),
                    "last_commit_before": commit_before,
                }, still_open=lambda: latest_version(table) == commit_before)  # fmt: skip
            if latest_version(table) != commit_before:
                _write_report(name, batch_id, fired=False, details={
                    "dataset": dataset, "missed": "the write committed before any of its data files was seen",
                })  # fmt: skip
                return
            time.sleep(_WATCH_INTERVAL_SECONDS)

    watcher = threading.Thread(target=watch, name=f"fault-{name}", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        # Let the watcher see the finished write once more (so a miss is reported), then stop it.
        watcher.join(timeout=1.0)
        done.set()


def _armed(name: str, batch_id: int | None, dataset: str | None) -> bool:
    point = check_fault(name)
    wanted = os.environ.get(POINT_ENV)
    if wanted != point.name:
        return False
    wanted_dataset = os.environ.get(DATASET_ENV)
    # A point that names no dataset (the ingestion job's, the update's own) fires for any.
    if wanted_dataset and dataset is not None and dataset != wanted_dataset:
        return False
    wanted_batch = os.environ.get(BATCH_ENV)
    return not wanted_batch or batch_id is None or int(wanted_batch) == batch_id


def _fire(name: str, batch_id: int | None, details: dict, still_open: Callable[[], bool] = lambda: True) -> None:
    """Act on a fault point. For a window, ``still_open`` says whether it still is once the rest is frozen."""
    action = os.environ.get(ACTION_ENV) or "kill"
    check_fault(name, action)
    if action == "kill":
        # Spark's JVM (in this process group) must not commit while the report is written and
        # synced: it is stopped first, and a window it closed meanwhile counts as missed.
        frozen = _stop_rest_of_group()
        if not still_open():
            _continue(frozen)
            _write_report(name, batch_id, fired=False, details={**details, "missed": "the write committed first"})
            return
    _write_report(name, batch_id, fired=True, details={**details, "action": action})
    if action == "hang":
        # Holds whatever the run holds (its lock, its open batch) until killed from outside.
        threading.Event().wait()
    if action == "raise":
        raise FaultRaised(f"fault point {name} fired")
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


def _stop_rest_of_group() -> list[int]:
    """SIGSTOP the other members of this process's group, when it leads one (the harness's children do)."""
    if os.getpgrp() != os.getpid():
        return []
    stopped = []
    for pid in live_group_members(os.getpid()):
        if pid != os.getpid():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
                stopped.append(pid)
    return stopped


def _continue(pids: list[int]) -> None:
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


def live_group_members(group: int) -> list[int]:
    """Processes of ``group`` that are still running (zombies waiting to be reaped do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [group]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (name) state ppid pgrp …": the name may hold spaces, so split after the last ')'.
        state, _parent, process_group = stat.rsplit(")", 1)[1].split()[:3]
        if int(process_group) == group and state != "Z":
            members.append(int(entry.name))
    return members


def _write_report(name: str, batch_id: int | None, fired: bool, details: dict) -> None:
    report_path = os.environ.get(REPORT_ENV)
    if not report_path:
        return
    report = {"point": name, "batch_id": batch_id, "fired": fired, "pid": os.getpid(), **details}
    temporary = f"{report_path}.tmp-{os.getpid()}-{threading.get_ident()}"
    with open(temporary, "w", encoding="utf-8") as file:
        json.dump(report, file)
        file.flush()
        os.fsync(file.fileno())  # the kill comes next: the report must be on disk first
    os.replace(temporary, report_path)
