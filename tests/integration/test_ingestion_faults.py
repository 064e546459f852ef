"""Ingestion survives being killed anywhere in a micro-batch, and refuses to run twice at once.

Each crash is real: a child process (Python and its JVM together) is SIGKILLed at a named
fault point, then the same ingestion runs again here and must leave every landed record in
bronze exactly once. Each child costs a JVM start, so the everyday run kills four times;
``SMART_FACTORY_FULL_CHAOS=1`` adds the other points and the very first micro-batch.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from smart_factory.runtime.ingestion import ConcurrentRunError
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator
from smart_factory.testing import Fault, crash_child, start_child
from smart_factory.testing.delta_log import (
    commits,
    live_data_files,
    repeated_transactions,
    uncommitted_data_files,
)
from smart_factory.testing.ingestion_child import SOURCE_FILE_COLUMN, IngestionJob

pytestmark = pytest.mark.slow

# Plain readings only: no duplicates, no broken lines and every reading has a device id,
# so (device_id, timestamp, file) identifies a record and the counts are exact.
PLAIN = Scenario(missing_device_id_share=0.0)
FULL_CHAOS = bool(os.environ.get("SMART_FACTORY_FULL_CHAOS"))
only_in_full_chaos = pytest.mark.skipif(not FULL_CHAOS, reason="set SMART_FACTORY_FULL_CHAOS=1 to run")


class Landing:
    """A landing folder fed by the simulator, remembering every manifest."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.simulator = SensorSimulator(DeviceRegistry.generate(num_devices=25, seed=3), seed=3)
        self.manifests: list[LandingManifest] = []

    def land(self, num_files: int) -> None:
        self.manifests.append(
            self.simulator.land_batches(self.folder, num_files=num_files, readings_per_file=40, scenario=PLAIN)
        )

    @property
    def records_per_file(self) -> dict[str, int]:
        return {landed.name: landed.counts.records for manifest in self.manifests for landed in manifest.files}


@pytest.fixture
def landing(tmp_path: Path) -> Landing:
    return Landing(tmp_path / "landing")


@pytest.fixture
def job(tmp_path: Path, landing: Landing) -> IngestionJob:
    # One file per micro-batch, so a run has several batches to die in the middle of.
    return IngestionJob(landing.folder, tmp_path / "bronze", tmp_path / "checkpoint", max_files_per_trigger=1)


def assert_each_record_exactly_once(spark: SparkSession, job: IngestionJob, landing: Landing) -> None:
    bronze = spark.read.format("delta").load(str(job.table))
    expected = landing.records_per_file

    assert bronze.count() == sum(expected.values())
    repeated = bronze.groupBy("device_id", "timestamp", SOURCE_FILE_COLUMN).count().where("count > 1")
    assert repeated.count() == 0, repeated.limit(5).collect()
    per_file = bronze.groupBy(F.element_at(F.split(SOURCE_FILE_COLUMN, "/"), -1).alias("name")).count()
    assert {row.name: row["count"] for row in per_file.collect()} == expected

    # The same records as Spark's own JSON reader finds in the landing folder, no more, no less.
    landed = (
        spark.read.schema("device_id STRING, timestamp STRING")
        .json(str(landing.folder))
        .select("device_id", "timestamp", F.col("_metadata.file_path").alias(SOURCE_FILE_COLUMN))
    )
    ingested = bronze.select("device_id", "timestamp", SOURCE_FILE_COLUMN)
    assert ingested.exceptAll(landed).count() == 0
    assert landed.exceptAll(ingested).count() == 0

    # One Delta commit per micro-batch, each under the checkpoint's own app id, none twice.
    app_id = (job.checkpoint / "_txn_app_id").read_text().strip()
    appends = [commit for commit in commits(job.table) if commit.added_files]
    assert repeated_transactions(job.table) == {}
    assert [commit.transactions for commit in appends] == [((app_id, batch_id),) for batch_id in range(len(expected))]


def checkpoint_commits(job: IngestionJob) -> list[int]:
    """Micro-batches Spark's checkpoint records as finished."""
    return sorted(int(entry.name) for entry in (job.checkpoint / "commits").iterdir() if entry.name.isdigit())


def committed_batches(job: IngestionJob) -> list[int]:
    """Micro-batches the Delta table holds (their txnVersion)."""
    return [version for commit in commits(job.table) for _, version in commit.transactions]


@pytest.mark.parametrize(
    ("point", "batch_id"),
    [
        pytest.param("before_batch", 1, id="before_batch"),
        pytest.param("during_write", 1, id="during_write"),
        pytest.param("after_write", 1, id="after_write"),
        pytest.param("before_write", 1, id="before_write", marks=only_in_full_chaos),
        pytest.param("before_batch", 0, id="before_batch-first", marks=only_in_full_chaos),
        pytest.param("during_write", 0, id="during_write-first", marks=only_in_full_chaos),
        pytest.param("after_write", 0, id="after_write-first", marks=only_in_full_chaos),
    ],
)
def test_a_run_killed_mid_batch_then_rerun_ingests_every_record_exactly_once(
    spark: SparkSession, job: IngestionJob, landing: Landing, point: str, batch_id: int
) -> None:
    landing.land(num_files=3)

    crash = crash_child(job.command(), Fault(point, batch_id=batch_id))

    # The crash left the state this point is about.
    assert checkpoint_commits(job) == list(range(batch_id))
    written_before_crash = list(range(batch_id + 1 if point == "after_write" else batch_id))
    assert committed_batches(job) == written_before_crash
    debris = uncommitted_data_files(job.table)
    if point == "during_write":
        assert debris and debris == set(crash.report["uncommitted_data_files"])
    else:
        assert debris == set()

    landing.land(num_files=2)  # more data arrives while the pipeline is down
    rerun = job.run(spark)

    # The interrupted batch was replayed (with the same files), not lost nor renumbered.
    assert rerun.batches[0] == batch_id
    assert_each_record_exactly_once(spark, job, landing)
    # Whatever the killed write left behind is not part of the table.
    assert debris.isdisjoint(live_data_files(job.table))


def test_a_second_run_on_the_same_checkpoint_is_refused_until_the_first_dies(
    spark: SparkSession, job: IngestionJob, landing: Landing
) -> None:
    landing.land(num_files=2)
    # The holder stops after its first Delta commit, before Spark's checkpoint commit: the
    # state in which a second writer would do the most harm.
    with start_child(job.command(), Fault("after_write", batch_id=0, action="hang")) as holder:
        holder.wait_for_fault()
        log_before = commits(job.table)

        with pytest.raises(ConcurrentRunError) as refused:
            job.run(spark)

        message = str(refused.value)
        assert str(job.table) in message
        assert f"process {holder.pid}" in message
        assert "wait for it to finish" in message
        assert commits(job.table) == log_before  # the refused run wrote nothing
        assert holder.kill().killed

    # The kernel released the dead holder's lock: the next run goes ahead and finishes the job.
    rerun = job.run(spark)
    assert rerun.batches == [0, 1]
    assert_each_record_exactly_once(spark, job, landing)
