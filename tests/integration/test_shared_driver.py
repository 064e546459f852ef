"""Kernels attach to one warm driver host: real processes, a real JVM, real streams and callbacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support import run_cli

from smart_factory.lakehouse.paths import STORAGE_ROOT_ENV, StoragePaths
from smart_factory.lakehouse.shared_driver import IDLE_SECONDS_ENV, SHARED_DRIVER_ENV, HostAddress, HostFiles, stop_host

# A "kernel": attaches, writes a Delta table, runs a foreachBatch stream over it (a callback
# from the JVM into this process), waits for the go-ahead file, then reports what it saw.
KERNEL = """
import json, os, sys, threading, time
from pathlib import Path
from smart_factory.lakehouse import get_spark, stop_spark
spark = get_spark(master=os.environ.get("KERNEL_MASTER", "local[2]"), shared=True)
name = sys.argv[1]
root = Path(os.environ["SMART_FACTORY_STORAGE_ROOT"])
source = str(root / ("source-" + name))
spark.range(int(sys.argv[2])).write.format("delta").save(source)
batches = []
query = (spark.readStream.format("delta").load(source).writeStream
         .foreachBatch(lambda frame, batch_id: batches.append((os.getpid(), frame.count())))
         .option("checkpointLocation", str(root / ("checkpoint-" + name))).trigger(availableNow=True).start())
(root / ("ready-" + name)).touch()
while not (root / "go").exists():
    time.sleep(0.1)
query.awaitTermination()
from_a_thread = []  # PySpark's active session is per thread; the kernel's is found from any
thread = threading.Thread(target=lambda: from_a_thread.append(get_spark(shared=True) is spark))
thread.start()
thread.join()
report = {"pid": os.getpid(), "app": spark.sparkContext.applicationId, "batches": batches,
          "shuffle": spark.conf.get("spark.sql.shuffle.partitions"), "same_from_a_thread": from_a_thread}
if len(sys.argv) > 3:  # leave, then come back: a detach must not stop the shared driver
    stop_spark()
    report["app_again"] = get_spark(master="local[2]", shared=True).sparkContext.applicationId
print(json.dumps(report))
"""


def kernel(root: Path, name: str, rows: int, *extra: str, idle: str = "60", master: str = "local[2]",
           ) -> subprocess.Popen[str]:  # fmt: skip
    env = {**os.environ, STORAGE_ROOT_ENV: str(root), IDLE_SECONDS_ENV: idle, "KERNEL_MASTER": master}
    env.pop(SHARED_DRIVER_ENV, None)
    return subprocess.Popen([sys.executable, "-c", KERNEL, name, str(rows), *extra], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def report_of(process: subprocess.Popen[str]) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def root(tmp_path: Path):
    folder = tmp_path / "storage"
    folder.mkdir()
    yield folder
    stop_host(HostFiles.of(StoragePaths(folder)))


def test_two_kernels_share_one_driver_and_each_gets_its_own_callbacks(root: Path) -> None:
    first = kernel(root, "a", 7, "detach-and-return")
    wait_for(lambda: (root / "ready-a").exists(), timeout=240)
    second = kernel(root, "b", 11)
    wait_for(lambda: (root / "ready-b").exists())
    (root / "go").touch()  # both streams run at once, each with a callback into its own process
    a, b = report_of(first), report_of(second)

    host = HostAddress.read(HostFiles.of(StoragePaths(root)))
    assert host is not None and alive(host.pid)
    assert host.pid not in (a["pid"], b["pid"])  # the JVM belongs to neither kernel
    assert a["app"] == b["app"] == a["app_again"]
    assert a["batches"] == [[a["pid"], 7]]  # JSON lists
    assert b["batches"] == [[b["pid"], 11]]
    assert a["same_from_a_thread"] == b["same_from_a_thread"] == [True]
    assert a["shuffle"] == b["shuffle"] == "4"  # the laptop defaults reach every kernel's session
    # Both kernels have exited: the host stays (warm for the next one) until stopped.
    assert not any((HostFiles.of(StoragePaths(root)).clients).iterdir())
    status = run_cli("driver", "status", "--storage-root", str(root))
    assert f"process {host.pid}, 0 notebook(s) attached" in status.stdout, status.stderr
    assert "Stopped the shared driver." in run_cli("driver", "stop", "--storage-root", str(root)).stdout
    assert not alive(host.pid)
    assert HostAddress.read(HostFiles.of(StoragePaths(root))) is None


def test_a_host_leaves_when_idle_or_its_root_goes_and_a_stopped_one_is_replaced(root: Path) -> None:
    files = HostFiles.of(StoragePaths(root))
    (root / "go").touch()
    first = report_of(kernel(root, "a", 3, idle="2"))
    host = HostAddress.read(files)
    assert host is not None
    wait_for(lambda: not alive(host.pid), timeout=30)  # no kernel for 2 s: it stops
    assert HostAddress.read(files) is None

    second = report_of(kernel(root, "b", 3))
    assert second["app"] != first["app"]  # a new host, a new application
    host = HostAddress.read(files)
    assert host is not None
    # A kernel that wants another master meanwhile runs a JVM of its own; the host stays.
    other = report_of(kernel(root, "other", 3, master="local[1]"))
    assert other["app"] != second["app"] and other["batches"] == [[other["pid"], 3]]
    assert HostAddress.read(files) == host and alive(host.pid)
    # Someone stops the shared context from a kernel: the host notices and goes; the next
    # kernel gets a fresh one instead of an error.
    stopper = subprocess.run(
        [sys.executable, "-c", "from smart_factory.lakehouse import get_spark; "
         "get_spark(master='local[2]', shared=True).sparkContext.stop()"],
        env={**os.environ, STORAGE_ROOT_ENV: str(root)}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert stopper.returncode == 0, stopper.stderr[-2000:]
    wait_for(lambda: not alive(host.pid))
    third = report_of(kernel(root, "c", 3))
    assert third["app"] not in (first["app"], second["app"])

    host = HostAddress.read(files)
    assert host is not None
    shutil.rmtree(root)  # a test's or a workshop's throwaway root removed: its host goes too
    wait_for(lambda: not alive(host.pid))
