"""The Smart Factory pipeline, killed anywhere update after update, loses nothing and counts nothing twice.

Each round lands new files, then runs one update in a child process (Python and its JVM)
that is SIGKILLed at a fault point drawn with a seed: a streaming table's micro-batch
before, during or after its Delta commit (after it: Spark's checkpoint commit not done), a
gold view's MERGE or replace, a view's refresh state, the update's final event-log write.
The next round's update starts from whatever the kill left. After a final clean update
every landed record must be in bronze once, landed = silver + quarantine + duplicates
removed, gold must equal a recomputation, and the event log must close every killed update
as FAILED. The seed is printed (shown with the failure, or at once with ``-s``); replay it::

    pytest tests/integration/test_pipeline_chaos.py --chaos-seed N [--chaos-rounds 20]
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from pipeline_support import assert_gold_equals_recomputation, write_smart_factory_settings
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from smart_factory.runtime.ledger import normalise_file_path
from smart_factory.runtime.pipeline import Pipeline
from smart_factory.runtime.unfinished import UnfinishedUpdates
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator
from smart_factory.testing import ChildResult, expect_crash, run_child
from smart_factory.testing.chaos import ChaosDraw, draw_faults
from smart_factory.testing.delta_log import repeated_transactions
from smart_factory.testing.pipeline_child import PipelineJob
from smart_factory.workshop.reconcile import expected_rows

pytestmark = pytest.mark.slow

STREAMING_TABLES = ("bronze_readings", "readings_validated", "silver_readings", "quarantine_readings")
# Where each point is marked in an update of this pipeline (gold_device_hourly is MERGEd by
# groups after the first update; gold_plant_line_hourly is always recomputed whole).
TARGETS: dict[str, tuple[str | None, ...]] = {
    "before_batch": STREAMING_TABLES,
    "before_write": STREAMING_TABLES,
    "during_write": STREAMING_TABLES,
    "after_write": STREAMING_TABLES,
    "during_merge": ("gold_device_hourly", "gold_plant_line_hourly"),
    "after_merge": ("gold_device_hourly",),
    "after_recompute": ("gold_plant_line_hourly",),
    "before_event_log_write": (None,),
}
# Broken lines and files (so quarantine gets rows every round), re-sent and late readings.
SCENARIO = Scenario(malformed=True, duplicate_share=0.05, late_share=0.05)
READINGS_PER_FILE = 40
BROKEN_FILE_ROWS = {"not_json": 1, "truncated_array": 1, "empty": 0}


class Landing:
    """The landing zone and device registry, fed by the simulator; remembers every manifest."""

    def __init__(self, folder: Path, seed: int) -> None:
        self.readings, self.registry = folder / "landing", folder / "registry"
        registry = DeviceRegistry.generate(num_devices=12, seed=seed)
        registry.save(self.registry)
        self.simulator = SensorSimulator(registry, seed=seed)
        self.manifests: list[LandingManifest] = []

    def land(self, files: int) -> None:
        manifest = self.simulator.land_batches(
            self.readings, num_files=files, readings_per_file=READINGS_PER_FILE, scenario=SCENARIO
        )
        self.manifests.append(manifest)

    def bronze_rows_per_file(self) -> dict[str, int]:
        """``{file name: bronze rows}``: a readings file's records and garbled lines; a broken file's one row."""
        rows = {}
        for manifest in self.manifests:
            for landed in manifest.files:
                counts = landed.counts
                garbled = counts.truncated_lines + counts.wrong_type_lines
                rows[landed.name] = BROKEN_FILE_ROWS.get(landed.kind, counts.records + garbled)
        return rows


@pytest.fixture
def chaos(request: pytest.FixtureRequest) -> tuple[int, list[ChaosDraw]]:
    seed = request.config.getoption("--chaos-seed")
    seed = random.SystemRandom().randrange(1_000_000) if seed is None else seed
    draws = draw_faults(seed, request.config.getoption("--chaos-rounds"), TARGETS)
    replay = f"--chaos-seed {seed} --chaos-rounds {len(draws)}"
    print(f"chaos seed {seed}; replay with: pytest {request.node.nodeid.split('::')[0]} {replay}")
    for draw in draws:
        print(f"  round {draw.round}: {draw.describe()}")
    return seed, draws


def test_updates_killed_anywhere_then_a_clean_update_reconcile_exactly(
    spark: SparkSession, tmp_path: Path, chaos: tuple[int, list[ChaosDraw]]
) -> None:
    seed, draws = chaos
    landing = Landing(tmp_path, seed)
    job = PipelineJob(write_smart_factory_settings(tmp_path, landing.readings, landing.registry))
    pipeline = job.pipeline(spark)
    unfinished = UnfinishedUpdates(pipeline.layout.pipeline_dir)

    # Update 1 creates every table, so each drawn point is on the path of the updates after it.
    landing.land(files=2)
    first = job.run(spark)
    assert first.state == "COMPLETED", first.error
    print(f"  update 1 (clean, in this process): {first.seconds:.0f} s")

    killed_processes: list[int] = []
    for draw in draws:
        landing.land(draw.files)
        started = time.perf_counter()
        outcome = run_child(job.command(), draw.fault)
        seconds = time.perf_counter() - started
        if outcome.missed_window:  # the write committed before the watcher saw it: a clean update
            print(f"  round {draw.round}: the {draw.point} window was missed; the update completed")
            assert outcome.output["state"] == "COMPLETED", outcome.describe()
            continue
        expect_crash(outcome, draw.fault)
        killed_processes.append(outcome.report["pid"])
        # The killed update's marker is what lets the next update record it as FAILED.
        assert outcome.report["pid"] in [update.process_id for update in unfinished.left_behind()]
        print(f"  round {draw.round}: killed after {seconds:.0f} s, {_what_was_left(outcome)}")

    landing.land(files=1)
    final = job.run(spark)
    assert final.state == "COMPLETED", f"seed {seed}: {final.error}"
    print(f"  update {len(draws) + 2} (clean, in this process): {final.seconds:.0f} s")

    tables = {name: pipeline.layout.table_path(final.graph.datasets[name]) for name in STREAMING_TABLES}
    assert_every_record_once_in_bronze(spark, pipeline, landing, tables)
    assert_landed_equals_silver_quarantine_and_duplicates(spark, pipeline, landing, tables)
    assert_gold_equals_recomputation(spark, pipeline.settings.target)
    assert_plant_lines_equal_recomputation(spark, pipeline.settings.target)
    assert_killed_updates_failed_in_event_log(spark, pipeline, killed_processes, updates=len(draws) + 2)
    assert unfinished.left_behind() == []


def assert_every_record_once_in_bronze(
    spark: SparkSession, pipeline: Pipeline, landing: Landing, tables: dict[str, str]
) -> None:
    target = pipeline.settings.target
    bronze = spark.table(f"{target}.bronze_readings")
    per_file = bronze.groupBy(F.element_at(F.split("source_file", "/"), -1).alias("name")).count()
    expected = {name: rows for name, rows in landing.bronze_rows_per_file().items() if rows}
    assert {row.name: row["count"] for row in per_file.collect()} == expected
    # Every micro-batch of every streaming table was committed once (its txnAppId/txnVersion).
    for dataset, table in tables.items():
        assert repeated_transactions(table) == {}, dataset
    # The ingestion ledger names every landed file once, killed runs' files included.
    ledger = spark.read.format("delta").load(pipeline.layout.ledger_path)
    recorded = [row.file_path for row in ledger.where(F.col("stream") == tables["bronze_readings"]).collect()]
    landed = [normalise_file_path(f"file:{landing.readings / name}") for name in landing.bronze_rows_per_file()]
    assert sorted(recorded) == sorted(landed)


def assert_landed_equals_silver_quarantine_and_duplicates(
    spark: SparkSession, pipeline: Pipeline, landing: Landing, tables: dict[str, str]
) -> None:
    target = pipeline.settings.target
    counts = {table: spark.table(f"{target}.{table}").count() for table in ("bronze_readings", "silver_readings",
                                                                            "quarantine_readings")}  # fmt: skip
    validated = spark.read.format("delta").load(tables["readings_validated"]).count()
    duplicates = sum(manifest.totals.duplicate_records for manifest in landing.manifests)

    assert counts == expected_rows(*landing.manifests)
    assert validated == counts["bronze_readings"]  # every bronze row validated once
    assert counts["bronze_readings"] == counts["silver_readings"] + counts["quarantine_readings"] + duplicates
    repeated = spark.table(f"{target}.silver_readings").groupBy("device_id", "event_time").count().where("count > 1")
    assert repeated.count() == 0


def assert_plant_lines_equal_recomputation(spark: SparkSession, target: str) -> None:
    """gold_plant_line_hourly equals its aggregates computed afresh from gold_device_hourly (itself checked)."""
    recomputed = spark.sql(f"""
        SELECT d.plant, d.floor, d.line, g.hour_start,
               round(avg(g.avg_temperature_celsius), 2) AS avg_temperature_celsius,
               max(g.max_temperature_celsius) AS max_temperature_celsius,
               count(DISTINCT g.device_id) AS devices,
               count_if(g.max_temperature_celsius > 40) AS overheating_devices,
               sum(g.readings) AS readings
        FROM {target}.gold_device_hourly g JOIN {target}.device_registry d USING (device_id)
        GROUP BY d.plant, d.floor, d.line, g.hour_start""")
    _assert_same_rows(spark.table(f"{target}.gold_plant_line_hourly"), recomputed)


def assert_killed_updates_failed_in_event_log(
    spark: SparkSession, pipeline: Pipeline, killed_processes: list[int], updates: int
) -> None:
    events = spark.read.format("delta").load(pipeline.event_log_path)
    started = {row.update_id for row in events.where("event_type = 'create_update'").select("origin.update_id")
               .collect()}  # fmt: skip
    final = (
        events.where("event_type = 'update_progress'")
        .select(
            "origin.update_id",
            "message",
            F.expr("details:update_progress.state::string").alias("state"),
            F.expr("details:update_progress.process_id::bigint").alias("process_id"),
        )
        .where(F.col("state").isin("COMPLETED", "FAILED", "CANCELED"))
        .collect()
    )
    assert len(started) == updates
    # Each update that started has exactly one final state: none missing, none twice.
    assert sorted(row.update_id for row in final) == sorted(started)
    failed = [row for row in final if row.state != "COMPLETED"]
    assert sorted(row.process_id for row in failed) == sorted(killed_processes)
    assert all(row.state == "FAILED" and "ended without finishing" in row.message for row in failed)


def _assert_same_rows(actual: DataFrame, expected: DataFrame) -> None:
    assert actual.count() == expected.count()
    assert actual.exceptAll(expected).count() == 0
    assert expected.exceptAll(actual).count() == 0


def _what_was_left(outcome: ChildResult) -> str:
    debris = outcome.report.get("uncommitted_data_files")
    return f"{len(debris)} uncommitted data file(s) left" if debris else "no uncommitted data file left"
