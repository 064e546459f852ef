"""Notice a flow that makes no progress, say which Spark job it waits on, and let the update be cancelled.

A flow can stop moving without failing: a Python UDF blocked on a socket, a task waiting on
a lock, a source that never answers. Spark then reports nothing, and a triggered update
would wait forever. Each flow's Spark jobs run in a job group of its own
(:func:`flow_job_group`); a watcher thread polls Spark's status tracker, and a flow whose
jobs complete no task — and which writes no micro-batch and changes no state — for
``timeout`` seconds is reported once per stall, naming the flow, its running job and stage,
and since when. :meth:`ProgressWatch.cancel` cancels every job of the update (Spark
interrupts the tasks): the running flows fail, their tables keep their last committed
version (appends are idempotent, so no batch is written twice on the next update).

The timeout is the pipeline configuration key ``smart_factory.flowProgressTimeout`` (seconds),
else ``$SMART_FACTORY_FLOW_PROGRESS_TIMEOUT``, else 600; 0 turns the watch off.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from smart_factory.errors import PipelineSettingsError

PROGRESS_TIMEOUT_KEY = "smart_factory.flowProgressTimeout"
PROGRESS_TIMEOUT_ENV = "SMART_FACTORY_FLOW_PROGRESS_TIMEOUT"
DEFAULT_PROGRESS_TIMEOUT = 600.0


def progress_timeout(configuration: Mapping[str, str]) -> float:
    """Seconds a flow may go without progress before it is reported (0: never)."""
    raw = configuration.get(PROGRESS_TIMEOUT_KEY) or os.environ.get(PROGRESS_TIMEOUT_ENV)
    if raw is None or str(raw).strip() == "":
        return DEFAULT_PROGRESS_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise PipelineSettingsError(
            f"{PROGRESS_TIMEOUT_KEY} (or ${PROGRESS_TIMEOUT_ENV}) must be a number of seconds, 0 to turn the "
            f"watch off; got {raw!r}"
        )
    return seconds


def flow_job_group(update_id: str, flow: str) -> str:
    return f"smart-factory:{update_id}:{flow}"


@dataclass(frozen=True)
class Stall:
    """A flow that has made no progress: which, since when, and the Spark work it is waiting on."""

    flow: str
    dataset: str
    since: datetime
    seconds: float
    jobs: tuple[str, ...]  # "job 12 (stage 27 'save at ...': 0 of 2 tasks done, 2 running)"

    @property
    def message(self) -> str:
        waiting = "; ".join(self.jobs) if self.jobs else "no Spark job running (the flow's Python code is busy)"
        return (
            f"Flow '{self.flow}' has made no progress for {self.seconds:.0f} s (since "
            f"{self.since:%Y-%m-%d %H:%M:%S} UTC): {waiting}. Cancel the update with Ctrl+C "
            f"(or Pipeline.cancel()); its tables keep their last committed version."
        )


@dataclass
class _Watched:
    dataset: str
    group: str
    last_seen: tuple = ()
    last_progress: float = field(default_factory=time.monotonic)
    reported: bool = False


class ProgressWatch:
    """Watches the running flows of one update; ``on_stall`` is called from the watcher thread."""

    def __init__(self, spark: SparkSession, update_id: str, timeout: float, on_stall: Callable[[Stall], None]) -> None:
        self.spark, self.update_id, self.timeout, self.on_stall = spark, update_id, timeout, on_stall
        self.cancelled = threading.Event()
        self._flows: dict[str, _Watched] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self) -> Iterator[ProgressWatch]:
        if self.timeout > 0:
            self._thread = threading.Thread(target=self._watch, name="flow-progress-watch", daemon=True)
            self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            if self._thread is not None:
                self._thread.join()

    @contextmanager
    def flow(self, name: str, dataset: str) -> Iterator[None]:
        """Run a flow's Spark work (on this thread) in its own job group, watched."""
        group = flow_job_group(self.update_id, name)
        context = self.spark.sparkContext
        self.adopt(name)  # the stream thread a query started here inherits the group
        with self._lock:
            self._flows[name] = _Watched(dataset, group)
        try:
            yield
        finally:
            with self._lock:
                self._flows.pop(name, None)
            context.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[arg-type]
            context.setLocalProperty("spark.job.description", None)  # type: ignore[arg-type]
            context.setLocalProperty("spark.job.interruptOnCancel", None)  # type: ignore[arg-type]

    def adopt(self, name: str) -> None:
        """Put the Spark jobs this thread starts in the flow's group.

        A ``foreachBatch`` function runs on a Py4J callback thread, not on the thread that
        started the query, so it does not inherit the group: it must adopt it.
        """
        group = flow_job_group(self.update_id, name)
        self.spark.sparkContext.setJobGroup(group, f"pipeline flow {name}", interruptOnCancel=True)

    def progressed(self, name: str) -> None:
        """The flow did something the Spark jobs do not show (wrote a micro-batch, changed state)."""
        with self._lock:
            if name in self._flows:
                self._flows[name].last_progress = time.monotonic()
                self._flows[name].reported = False

    def cancel(self) -> None:
        """Cancel every Spark job of the update's running flows; they fail, and the update is CANCELED."""
        self.cancelled.set()
        with self._lock:
            groups = [watched.group for watched in self._flows.values()]
        for group in groups:
            self.spark.sparkContext.cancelJobGroup(group)

    def _watch(self) -> None:
        interval = min(max(self.timeout / 4, 0.5), 5.0)
        while not self._stop.wait(interval):
            try:
                self._check()
            except Exception:  # the watch must never be what breaks an update
                continue

    def _check(self) -> None:
        tracker = self.spark.sparkContext.statusTracker()
        now = time.monotonic()
        with self._lock:
            flows = list(self._flows.items())
        for name, watched in flows:
            jobs = [tracker.getJobInfo(job) for job in tracker.getJobIdsForGroup(watched.group)]
            running = [job for job in jobs if job is not None and job.status == "RUNNING"]
            stages = {job.jobId: [tracker.getStageInfo(stage) for stage in job.stageIds] for job in running}
            done = [(stage.stageId, stage.numCompletedTasks) for found in stages.values() for stage in found if stage]
            seen = (len(jobs), tuple(done))
            with self._lock:
                if seen != watched.last_seen:
                    watched.last_seen, watched.last_progress, watched.reported = seen, now, False
                    continue
                if watched.reported or now - watched.last_progress < self.timeout:
                    continue
                watched.reported = True
                idle = now - watched.last_progress
            self.on_stall(Stall(name, watched.dataset, datetime.now(UTC) - timedelta(seconds=idle), idle,
                                tuple(_describe(job.jobId, stages[job.jobId]) for job in running)))  # fmt: skip


def _describe(job_id: int, stages: list) -> str:
    known = [stage for stage in stages if stage is not None]
    active = [stage for stage in known if stage.numCompletedTasks < stage.numTasks]
    parts = [f"stage {stage.stageId} '{stage.name}': {stage.numCompletedTasks} of {stage.numTasks} tasks done, "
             f"{stage.numActiveTasks} running" for stage in (active or known)]  # fmt: skip
    return f"Spark job {job_id}" + (f" ({'; '.join(parts)})" if parts else "")
