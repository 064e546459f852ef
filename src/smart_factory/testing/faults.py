"""Crash a run on purpose, in a child process, at a named fault point; then look at what it left.

The run is any command (usually ``python -m …``) whose code marks fault points (see
:mod:`smart_factory.testing.fault_points`). The child is started in its own process group,
so the kill takes Spark's JVM with it, and the harness waits until every process of that
group is gone before it returns: a re-run never races the remains of the crashed one.

>>> from smart_factory.testing.ingestion_child import IngestionJob
>>> job = IngestionJob(landing, table, checkpoint, max_files_per_trigger=1)  # doctest: +SKIP
>>> crash = crash_child(job.command(), Fault("after_write", batch_id=1))     # doctest: +SKIP
>>> crash.report["point"], crash.returncode                                # doctest: +SKIP
('after_write', -9)
>>> run_child(job.command()).output["batches"]    # batch 1 again, then the rest  # doctest: +SKIP
[1, 2]
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from smart_factory.testing.fault_points import (
    ACTION_ENV,
    BATCH_ENV,
    DATASET_ENV,
    FAULT_ENVIRONMENT,
    POINT_ENV,
    REPORT_ENV,
    check_fault,
    live_group_members,
)

DEFAULT_TIMEOUT_SECONDS = 300.0
# A crash test's child JVM lives for seconds: the quick (C1) compiler alone and one GC
# thread start it about twice as fast on a laptop, and change nothing it computes.
SHORT_LIVED_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
_JVM_OPTIONS_ENV = "JDK_JAVA_OPTIONS"  # read by every `java` launcher (JDK 9+)
# A SIGKILLed process group is gone at once. A child that exits by itself leaves Spark's
# JVM to notice and stop, which takes a moment.
_KILLED_GROUP_GRACE_SECONDS = 5.0
_EXITED_GROUP_GRACE_SECONDS = 30.0


class FaultNotTriggered(AssertionError):
    """A child asked to crash at a fault point ended some other way; the message says how."""


@dataclass(frozen=True)
class Fault:
    """Where the child should crash: a registered point, optionally only at one micro-batch
    and only where one dataset (a pipeline's table) is written.

    ``action="hang"`` stops the child at the point instead, holding all it holds, until the
    harness kills it (:meth:`RunningChild.kill`).
    """

    point: str
    batch_id: int | None = None
    action: str = "kill"
    dataset: str | None = None

    def __post_init__(self) -> None:
        check_fault(self.point, self.action)

    def environment(self, report_path: Path) -> dict[str, str]:
        settings = {POINT_ENV: self.point, ACTION_ENV: self.action, REPORT_ENV: str(report_path)}
        if self.batch_id is not None:
            settings[BATCH_ENV] = str(self.batch_id)
        if self.dataset is not None:
            settings[DATASET_ENV] = self.dataset
        return settings


@dataclass(frozen=True)
class ChildResult:
    """How a child ended: its exit status, output, and the fault report it wrote, if any."""

    command: tuple[str, ...]
    returncode: int | None  # None: still running; negative: killed by that signal
    stdout: str
    stderr: str
    report: dict | None
    # Processes of the child's group still running after it died (then killed by the harness).
    outlived_by: tuple[int, ...] = ()

    @property
    def killed(self) -> bool:
        return self.returncode == -signal.SIGKILL

    @property
    def missed_window(self) -> bool:
        """It ran to a clean end because the write its fault window watched committed too fast to catch."""
        return self.returncode == 0 and bool(self.report) and self.report.get("fired") is False

    @property
    def output(self) -> dict | None:
        """The JSON object the child printed last on stdout, if it printed one."""
        for line in reversed(self.stdout.splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        return None

    def describe(self) -> str:
        tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-15:])
        survivors = f", outlived by processes {list(self.outlived_by)}" if self.outlived_by else ""
        return f"exit status {self.returncode}, fault report {self.report}{survivors}, output:\n{tail}"


class RunningChild:
    """A child started in its own process group, with its output and fault report in files."""

    def __init__(
        self, command: list[str], fault: Fault | None, env: dict[str, str] | None, short_lived_jvm: bool
    ) -> None:
        self.command = tuple(command)
        self._folder = Path(tempfile.mkdtemp(prefix="smart-factory-child-"))
        self._report_path = self._folder / "fault-report.json"
        self._stdout = open(self._folder / "stdout.txt", "w+", encoding="utf-8")  # noqa: SIM115
        self._stderr = open(self._folder / "stderr.txt", "w+", encoding="utf-8")  # noqa: SIM115
        environment = {key: value for key, value in os.environ.items() if key not in FAULT_ENVIRONMENT}
        if short_lived_jvm:
            inherited = environment.get(_JVM_OPTIONS_ENV, "")
            environment[_JVM_OPTIONS_ENV] = f"{inherited} {SHORT_LIVED_JVM_OPTIONS}".strip()
        environment.update(env or {})
        if fault is not None:
            environment.update(fault.environment(self._report_path))
        self.process = subprocess.Popen(
            command, stdout=self._stdout, stderr=self._stderr, env=environment, start_new_session=True
        )
        self.pid = self.process.pid
        self.outlived_by: tuple[int, ...] = ()

    def __enter__(self) -> RunningChild:
        return self

    def __exit__(self, *_: object) -> None:
        """Kill the child if it still runs, and remove its output files (read them before)."""
        if self.process.poll() is None:
            self.kill()
        self._reap_group()
        self._stdout.close()
        self._stderr.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def report(self) -> dict | None:
        try:
            return json.loads(self._report_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def wait_for_fault(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> dict:
        """Block until the child reaches its fault point; returns the report it wrote."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = self.report()
            if report is not None and report.get("fired"):
                return report
            if self.process.poll() is not None:
                raise FaultNotTriggered(f"The child ended before its fault point: {self.result().describe()}")
            time.sleep(0.1)
        self.kill()
        raise FaultNotTriggered(f"The child did not reach its fault point within {timeout:.0f} s.")

    def wait(self, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> ChildResult:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise FaultNotTriggered(
                f"The child was still running after {timeout:.0f} s and was killed: {self.result().describe()}"
            ) from None
        self._reap_group()
        return self.result()

    def kill(self) -> ChildResult:
        """SIGKILL the child's whole process group (Python and JVM at once) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()
        self._reap_group()
        return self.result()

    def result(self) -> ChildResult:
        self._stdout.flush()
        self._stderr.flush()
        return ChildResult(
            command=self.command,
            returncode=self.process.returncode,
            stdout=(self._folder / "stdout.txt").read_text(encoding="utf-8", errors="replace"),
            stderr=(self._folder / "stderr.txt").read_text(encoding="utf-8", errors="replace"),
            report=self.report(),
            outlived_by=self.outlived_by,
        )

    def _reap_group(self) -> None:
        """Wait for the rest of the child's process group to end; kill whatever outlives the grace."""
        killed = self.process.returncode is not None and self.process.returncode < 0
        deadline = time.monotonic() + (_KILLED_GROUP_GRACE_SECONDS if killed else _EXITED_GROUP_GRACE_SECONDS)
        while members := live_group_members(self.pid):
            if time.monotonic() > deadline:
                self.outlived_by = self.outlived_by or tuple(members)
                # Ours: started in this group by this harness.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
            time.sleep(0.05)


def start_child(
    command: list[str],
    fault: Fault | None = None,
    env: dict[str, str] | None = None,
    *,
    short_lived_jvm: bool = True,
) -> RunningChild:
    """Start ``command`` in a new process group, armed with ``fault`` when given.

    Fault settings inherited from this process's environment are never passed on; ``env``
    adds to (or overrides) the rest. ``short_lived_jvm`` tunes any JVM the child starts for a
    quick start (see :data:`SHORT_LIVED_JVM_OPTIONS`).
    """
    return RunningChild(command, fault, env, short_lived_jvm)


def run_child(
    command: list[str],
    fault: Fault | None = None,
    env: dict[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    short_lived_jvm: bool = True,
) -> ChildResult:
    """Run ``command`` to its end (or its crash) and return how it ended."""
    with start_child(command, fault, env, short_lived_jvm=short_lived_jvm) as child:
        return child.wait(timeout)


def crash_child(
    command: list[str],
    fault: Fault,
    env: dict[str, str] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    short_lived_jvm: bool = True,
) -> ChildResult:
    """Run ``command`` and check that it died by SIGKILL at ``fault``; raise otherwise.

    A child that finished, failed, or died elsewhere raises :class:`FaultNotTriggered`,
    so a test never mistakes a run that did not crash for one that recovered.
    """
    result = run_child(command, fault, env, timeout=timeout, short_lived_jvm=short_lived_jvm)
    return expect_crash(result, fault)


def expect_crash(result: ChildResult, fault: Fault) -> ChildResult:
    """``result`` if its child died by SIGKILL at ``fault``; :class:`FaultNotTriggered` otherwise."""
    report = result.report or {}
    expected_batch = fault.batch_id if fault.batch_id is not None else report.get("batch_id")
    if not (
        result.killed
        and report.get("fired")
        and report.get("point") == fault.point
        and report.get("batch_id") == expected_batch
        and (fault.dataset is None or report.get("dataset") in (fault.dataset, None))
        # A survivor (Spark's JVM) could have gone on writing after the "crash".
        and not result.outlived_by
    ):
        raise FaultNotTriggered(f"Expected a SIGKILL at {fault}, got {result.describe()}")
    return result
