"""A Spark standalone cluster on this machine: one master and a few workers on 127.0.0.1.

The pip-installed PySpark has no ``start-master.sh``, but it has ``bin/spark-class``, which
is all those scripts call: ``spark-class org.apache.spark.deploy.master.Master`` and
``…worker.Worker spark://…``. Each daemon runs in its own process group, so stopping the
cluster also ends the executors and Python workers it started. Ports are chosen free at
start; logs and the workers' folders (executor output, fetched jars) go under
``<storage root>/logs/standalone-<master port>/``.

>>> with standalone_cluster(workers=2) as cluster:      # doctest: +SKIP
...     spark = get_spark(master=cluster.master_url)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyspark

from smart_factory.errors import ClusterUnavailable
from smart_factory.lakehouse.java import check_java
from smart_factory.lakehouse.paths import StoragePaths

HOST = "127.0.0.1"
_MASTER_CLASS = "org.apache.spark.deploy.master.Master"
_WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
_STOP_GRACE_SECONDS = 15.0


@dataclass
class StandaloneCluster:
    """A running master and its workers; :meth:`stop` ends them all."""

    master_url: str
    web_ui_url: str
    folder: Path
    worker_dirs: list[Path]
    processes: list[subprocess.Popen] = field(repr=False)

    def status(self) -> dict[str, Any]:
        """The master's own JSON status: workers, cores, running and completed applications."""
        with urllib.request.urlopen(f"{self.web_ui_url}/json/", timeout=5) as response:
            return json.load(response)

    def application_ids(self) -> set[str]:
        """Applications the master has seen, running or finished."""
        state = self.status()
        return {app["id"] for app in state.get("activeapps", []) + state.get("completedapps", [])}

    def stop(self) -> None:
        """Stop the workers (and their executors), then the master; idempotent."""
        for process in reversed(self.processes):  # workers were started after the master
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
            # The group may outlive its leader (an executor finishing its shutdown hook).
            _signal_group(process, signal.SIGKILL)


def start_cluster(
    storage_root: str | os.PathLike[str] | None = None,
    workers: int = 2,
    cores_per_worker: int = 1,
    memory_per_worker: str = "1g",
    timeout: float = 90.0,
) -> StandaloneCluster:
    """Start a master and ``workers`` workers on 127.0.0.1; return once all have registered."""
    check_java()
    storage = StoragePaths.from_env(storage_root)
    master_port, web_ui_port = _free_port(), _free_port()
    folder = storage.logs / f"standalone-{master_port}"
    folder.mkdir(parents=True, exist_ok=True)
    cluster = StandaloneCluster(
        master_url=f"spark://{HOST}:{master_port}",
        web_ui_url=f"http://{HOST}:{web_ui_port}",
        folder=folder,
        worker_dirs=[folder / f"worker-{number}" for number in range(1, workers + 1)],
        processes=[],
    )
    try:
        cluster.processes.append(
            _daemon(folder / "master.log", _MASTER_CLASS,
                    "--host", HOST, "--port", str(master_port), "--webui-port", str(web_ui_port))
        )  # fmt: skip
        for work_dir in cluster.worker_dirs:
            work_dir.mkdir(exist_ok=True)
            cluster.processes.append(
                _daemon(folder / f"{work_dir.name}.log", _WORKER_CLASS,
                        "--host", HOST, "--webui-port", str(_free_port()), "--work-dir", str(work_dir),
                        "--cores", str(cores_per_worker), "--memory", memory_per_worker, cluster.master_url)
            )  # fmt: skip
        _wait_until_registered(cluster, workers, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def standalone_cluster(**options: Any) -> Iterator[StandaloneCluster]:
    """:func:`start_cluster` for a ``with`` block: the cluster stops when the block ends."""
    cluster = start_cluster(**options)
    try:
        yield cluster
    finally:
        cluster.stop()


def _daemon(log_file: Path, main_class: str, *arguments: str) -> subprocess.Popen:
    spark_home = Path(pyspark.__file__).parent
    environment = {
        **os.environ,
        "SPARK_HOME": str(spark_home),  # always the pip-installed Spark, never another one
        "SPARK_LOCAL_IP": HOST,
        # Executors start Python workers with the driver's interpreter; this covers any the
        # worker itself starts, so both are the venv's, not whatever `python3` is on PATH.
        "PYSPARK_PYTHON": os.environ.get("PYSPARK_PYTHON", sys.executable),
    }
    with open(log_file, "ab") as log:
        return subprocess.Popen(
            [str(spark_home / "bin" / "spark-class"), main_class, *arguments],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=environment, start_new_session=True,  # its own process group, stopped as one
        )  # fmt: skip


def _wait_until_registered(cluster: StandaloneCluster, workers: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    alive = 0
    while time.monotonic() < deadline:
        for process in cluster.processes:
            if process.poll() is not None:
                raise ClusterUnavailable(
                    f"A Spark daemon of the local cluster exited with code {process.returncode} while "
                    f"starting; its output is in {cluster.folder}."
                )
        with suppress(OSError, ValueError):  # the master's web UI is not up yet
            alive = int(cluster.status().get("aliveworkers", 0))
            if alive >= workers:
                return
        time.sleep(0.5)
    raise ClusterUnavailable(
        f"Only {alive} of {workers} workers registered with {cluster.master_url} within {timeout:.0f} s; "
        f"the master's and workers' output is in {cluster.folder}."
    )


def _signal_group(process: subprocess.Popen, signal_number: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal_number)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]
