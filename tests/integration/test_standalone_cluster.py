"""The whole pipeline on a real Spark standalone cluster (a master and two workers on 127.0.0.1)
gives the same tables as local mode, and the cluster leaves no process behind.

The cluster run happens in a child process: this one already owns a local SparkContext
(the session fixture), and a process has one. It keeps its own storage root, as a second
machine would, and the tables are compared here row for row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from scale_out_support import comparable, differences, land_and_run, processes_using
from support import run_cli

from smart_factory.lakehouse import StoragePaths
from smart_factory.lakehouse.standalone import StandaloneCluster, standalone_cluster

pytestmark = pytest.mark.slow

TESTS = Path(__file__).resolve().parents[1]
PIPELINE_TABLES = (
    "bronze_readings",
    "silver_readings",
    "quarantine_readings",
    "device_registry",
    "gold_device_hourly",
    "gold_plant_line_hourly",
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    root = tmp_path_factory.mktemp("cluster-root")
    with standalone_cluster(storage_root=root, workers=2, cores_per_worker=1, memory_per_worker="1g") as running:
        yield running
    assert processes_using(running.folder) == []


def driving(cluster: StandaloneCluster, storage_root: Path, **settings: str) -> dict[str, str]:
    """Environment settings for a child process whose sessions run on ``cluster``."""
    return {"SMART_FACTORY_SPARK_MASTER": cluster.master_url, "SMART_FACTORY_STORAGE_ROOT": str(storage_root),
            **settings}  # fmt: skip


def test_the_pipeline_on_a_standalone_cluster_equals_local_mode(spark, cluster, tmp_path: Path) -> None:
    assert cluster.status()["aliveworkers"] == 2
    cluster_root, cluster_run, local_run = tmp_path / "cluster-root", tmp_path / "cluster-run", tmp_path / "local-run"
    result_file, child_output = tmp_path / "cluster-result.json", tmp_path / "cluster-child.log"
    with open(child_output, "w") as output:  # a file, not a pipe nobody reads while local mode runs
        child = subprocess.Popen(
            [sys.executable, str(TESTS / "scale_out_support.py"), str(cluster_run), str(result_file)],
            stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **driving(cluster, cluster_root)},
        )
    try:
        # Meanwhile, the same scenario in local mode here: most of either run is waiting.
        local_target = land_and_run(spark, local_run)
        child.wait(timeout=600)
    finally:
        child.kill()
    assert child.returncode == 0, child_output.read_text()[-3000:]
    result = json.loads(result_file.read_text())
    assert result["master"] == cluster.master_url

    # The application ran on the workers: the master saw it, and each worker started an
    # executor for it, which fetched the Delta jars from the driver (workers have none).
    application_id = result["application_id"]
    assert application_id in cluster.application_ids()
    for worker_dir in cluster.worker_dirs:
        executor_dirs = list((worker_dir / application_id).iterdir())
        assert executor_dirs, f"no executor of {application_id} on {worker_dir.name}"
        assert any(executor_dir.glob("io.delta_delta-spark_*.jar") for executor_dir in executor_dirs)

    # The same bytes landed on both sides, so any difference below is the engine's.
    assert landed_files(local_run) == landed_files(cluster_run)

    cluster_tables = StoragePaths(cluster_root)
    for table in PIPELINE_TABLES:
        cluster_table = str(cluster_tables.table(f"{result['target']}.{table}"))
        on_cluster = comparable(table, spark.read.format("delta").load(cluster_table), cluster_run)
        local = comparable(table, spark.table(f"{local_target}.{table}"), local_run)
        assert on_cluster.columns == local.columns, table
        assert on_cluster.count() == local.count() > 0, table
        different = differences(table, on_cluster, local)
        assert different.isEmpty(), f"{table} differs:\n{different.limit(5).toPandas().to_string()}"


def landed_files(run_folder: Path) -> dict[Path, bytes]:
    return {
        path.relative_to(run_folder): path.read_bytes()
        for folder in ("landing", "registry")
        for path in (run_folder / folder).rglob("*")
        if path.is_file()
    }


def test_a_cluster_that_grants_no_executor_fails_in_bounded_time(cluster, tmp_path: Path) -> None:
    # Executors of 4g cannot fit on 1g workers: Spark alone would wait for them forever.
    conf_file = tmp_path / "too-big.conf"
    conf_file.write_text("spark.executor.memory 4g\n")
    started = time.monotonic()
    result = run_cli(
        "sql", "SELECT 1",
        env=driving(cluster, tmp_path, SMART_FACTORY_SPARK_CONF=str(conf_file), SMART_FACTORY_EXECUTOR_TIMEOUT="8"),
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert f"The Spark master {cluster.master_url} (set by SMART_FACTORY_SPARK_MASTER)" in message
    assert "no executor within 8 s" in message and "SMART_FACTORY_EXECUTOR_TIMEOUT" in message
    assert time.monotonic() - started < 60


def test_cluster_start_prints_the_master_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    command = subprocess.Popen(
        [sys.executable, "-c", "import sys; from smart_factory.cli import main; sys.exit(main(sys.argv[1:]))",
         "cluster", "start", "--storage-root", str(tmp_path), "--workers", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = [command.stdout.readline() for _ in range(4)]
        assert lines[0].startswith("Master   spark://127.0.0.1:"), lines
        master_url = lines[0].split()[1]
        assert lines[2].strip() == f"Use it:  export SMART_FACTORY_SPARK_MASTER={master_url}"
        cluster_folder = tmp_path / "logs" / f"standalone-{master_url.rsplit(':', 1)[1]}"
        assert processes_using(cluster_folder), "no daemon is running"
        command.send_signal(signal.SIGINT)  # what Ctrl+C sends to the foreground process
        stdout, stderr = command.communicate(timeout=60)
    finally:
        command.kill()
    assert command.returncode == 0, stdout + stderr
    assert "Stopping the cluster." in stdout
    assert processes_using(cluster_folder) == []
