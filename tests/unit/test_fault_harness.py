"""The fault-injection harness itself, on small Python children (no JVM): fast and exact.

The crash tests trust the harness to kill where asked, to take the whole process group
down, to tell a missed fault from a crash, and to catch a write in progress; each of
those is checked here.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import pytest

from smart_factory.testing import Fault, FaultInjectionError, FaultNotTriggered, crash_child, run_child, start_child
from smart_factory.testing.fault_points import FaultRaised, fault_point

# A stand-in for a streaming run: three micro-batches, each marking the points the runtime marks.
BATCHES = """
import sys
from smart_factory.testing.fault_points import FaultRaised, fault_point
for batch_id in range(3):
    fault_point("before_batch", batch_id=batch_id)
    print("wrote", batch_id, flush=True)
    fault_point("after_write", batch_id=batch_id)
print('{"done": true}')
"""


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_a_child_dies_by_sigkill_at_the_chosen_micro_batch() -> None:
    crash = crash_child(python(BATCHES), Fault("after_write", batch_id=1))

    assert crash.returncode == -signal.SIGKILL
    assert crash.stdout.split() == ["wrote", "0", "wrote", "1"]
    assert crash.report["point"] == "after_write"
    assert crash.report["batch_id"] == 1


def test_without_a_batch_the_first_micro_batch_reaching_the_point_dies() -> None:
    crash = crash_child(python(BATCHES), Fault("before_batch"))

    assert crash.stdout == ""
    assert crash.report["batch_id"] == 0


def test_a_child_that_never_reaches_its_point_is_not_taken_for_a_crash() -> None:
    with pytest.raises(FaultNotTriggered, match="exit status 0"):
        crash_child(python(BATCHES), Fault("before_batch", batch_id=7))


def test_an_unarmed_child_runs_to_the_end_even_if_this_process_is_armed(monkeypatch) -> None:
    monkeypatch.setenv("SMART_FACTORY_FAULT_POINT", "before_batch")

    finished = run_child(python(BATCHES))

    assert finished.returncode == 0
    assert finished.output == {"done": True}


def test_unknown_points_and_actions_are_refused_with_the_known_ones() -> None:
    with pytest.raises(FaultInjectionError, match="before_batch, before_write, during_write, after_write"):
        Fault("after_commit")
    with pytest.raises(FaultInjectionError, match="kill, hang"):
        Fault("after_write", action="pause")
    with pytest.raises(FaultInjectionError, match="during_write cannot hang"):
        Fault("during_write", action="hang")
    with pytest.raises(FaultInjectionError, match="Unknown fault point 'befor_write'"):
        fault_point("befor_write")  # a typo in runtime code fails even when nothing is armed


def test_raise_stands_in_for_a_kill_without_a_second_process(monkeypatch) -> None:
    monkeypatch.setenv("SMART_FACTORY_FAULT_POINT", "after_write")
    monkeypatch.setenv("SMART_FACTORY_FAULT_ACTION", "raise")
    fault_point("before_write")  # not the armed point
    with pytest.raises(FaultRaised, match="fault point after_write fired"):
        try:
            fault_point("after_write")
        except Exception:  # what a run's own error handling does; a crash must get past it
            pytest.fail("FaultRaised was caught as an ordinary error")
    with pytest.raises(FaultInjectionError, match="during_write cannot raise"):
        Fault("during_write", action="raise")


def test_the_kill_takes_the_whole_process_group_down(tmp_path: Path) -> None:
    # As Spark's JVM is, the grandchild is a process the child started and does not manage.
    pid_file = tmp_path / "grandchild.pid"
    code = (
        "import subprocess\n"
        "from smart_factory.testing.fault_points import FaultRaised, fault_point\n"
        "sleeper = subprocess.Popen(['sleep', '600'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(sleeper.pid))\n"
        "fault_point('before_write', batch_id=0)\n"
    )

    crash = crash_child(python(code), Fault("before_write"))

    assert crash.outlived_by == ()  # it died with the child, not by the harness's clean-up
    assert not _running(int(pid_file.read_text()))


def test_a_hanging_child_holds_its_ground_until_killed() -> None:
    with start_child(python(BATCHES), Fault("after_write", batch_id=0, action="hang")) as child:
        report = child.wait_for_fault(timeout=60)
        time.sleep(0.5)  # it stays put: no further batch, still alive
        assert child.process.poll() is None
        assert report["action"] == "hang"

        killed = child.kill()

    assert killed.killed
    assert killed.stdout.split() == ["wrote", "0"]


# A stand-in for a Delta append: a data file appears, some time passes, then the commit.
WRITE = """
import os, sys, time
from pathlib import Path
from smart_factory.testing.fault_points import fault_window
table, pause = Path(sys.argv[1]), float(sys.argv[2])
(table / "_delta_log").mkdir(parents=True, exist_ok=True)
(table / "_delta_log" / "00000000000000000000.json").write_text("{}")
with fault_window("during_write", batch_id=1, table_path=str(table)):
    if pause >= 0:
        (table / "part-00000-new.snappy.parquet").write_bytes(b"PAR1")
        time.sleep(pause)
    (table / "_delta_log" / "00000000000000000001.json").write_text("{}")
    time.sleep(0.2)
print('{"committed": true}')
"""


def test_during_write_kills_between_the_data_file_and_the_commit(tmp_path: Path) -> None:
    table = tmp_path / "table"

    crash = crash_child([*python(WRITE), str(table), "0.5"], Fault("during_write", batch_id=1))

    assert crash.report["uncommitted_data_files"] == ["part-00000-new.snappy.parquet"]
    assert crash.report["last_commit_before"] == 0
    assert not (table / "_delta_log" / "00000000000000000001.json").exists()


def test_a_write_that_commits_before_any_data_file_is_seen_is_reported_as_missed(tmp_path: Path) -> None:
    table = tmp_path / "table"

    with pytest.raises(FaultNotTriggered, match="committed before any of its data files was seen"):
        crash_child([*python(WRITE), str(table), "-1"], Fault("during_write", batch_id=1))


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
