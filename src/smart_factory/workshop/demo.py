"""``make demo``: the workshop end to end on fresh local data, as far as it is built.

The story so far: the factory's device registry and a first stretch of readings land in
the landing zone; the Smart Factory DLT pipeline runs a triggered update (bronze, silver
with quarantine, gold); more files arrive — with a schema change and an overheating burst
— and a second update picks up only those. The graph is written next to the data. Alerts
and dashboards join as they land.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse import READINGS_LANDING, StoragePaths, get_spark
from smart_factory.lakehouse.paths import checkout_root
from smart_factory.runtime.executor import FlowRun
from smart_factory.runtime.graph import render_html
from smart_factory.runtime.pipeline import Pipeline, UpdateResult
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator

OVERHEATING_THRESHOLD_CELSIUS = 40.0
HOTTEST_LINES = """
SELECT plant, line, max(max_temperature_celsius) AS max_temp_c, max(overheating_devices) AS hot_devices
FROM smart_factory.gold_plant_line_hourly
GROUP BY plant, line ORDER BY max_temp_c DESC, plant, line LIMIT 5
"""


@dataclass(frozen=True)
class DemoSettings:
    storage_root: str | None = None
    master: str | None = None
    num_devices: int = 2000
    num_files: int = 10
    readings_per_file: int = 5000
    seed: int = 42
    pipeline_settings: str = str((checkout_root() or Path.cwd()) / "pipelines" / "pipeline.yml")


def run_demo(settings: DemoSettings) -> None:
    started = time.perf_counter()
    storage = StoragePaths.from_env(settings.storage_root)
    _clear_generated_data(storage)
    print(f"Storage root: {storage.root} (landing zone and tables start empty)")

    registry = DeviceRegistry.generate(num_devices=settings.num_devices, seed=settings.seed)
    registry.save(storage.device_registry_landing)
    simulator = SensorSimulator(registry, seed=settings.seed)
    first = simulator.land_batches(
        storage.readings_landing, num_files=settings.num_files, readings_per_file=settings.readings_per_file,
        scenario=Scenario(late_share=0.01, duplicate_share=0.01, malformed=True),
    )  # fmt: skip
    _report_landing([first])

    spark = get_spark(master=settings.master, storage_root=storage.root)
    print("\nReadings per plant, as read by Spark from the landing zone:")
    _readings_per_plant(spark).show(truncate=False)

    pipeline = Pipeline.load(settings.pipeline_settings, spark)
    _run_update(pipeline, "first")
    more = [
        simulator.land_batches(storage.readings_landing, num_files=2, readings_per_file=settings.readings_per_file,
                               scenario=Scenario(schema_change=True)),
        simulator.land_batches(storage.readings_landing, num_files=2, readings_per_file=settings.readings_per_file,
                               scenario=Scenario(overheating_devices=5)),
    ]  # fmt: skip
    _report_landing(more)
    update = _run_update(pipeline, "second")

    graph_file = storage.root / "pipeline_graph.html"
    graph_file.write_text(render_html(update.graph, update.flows, pipeline.settings.name))
    print(f"\nPipeline graph: {graph_file}")
    print("\nHottest lines (gold_plant_line_hourly):")
    spark.sql(HOTTEST_LINES).show(truncate=False)
    print(f"Done in {time.perf_counter() - started:.0f} s. Next: `make test`, or open notebooks/.")


def _run_update(pipeline: Pipeline, which: str) -> UpdateResult:
    print(f"\nThe {which} pipeline update:")
    update = pipeline.run(on_progress=_print_finished_flow)
    print(f"  -> {update.state} in {update.seconds:.0f} s")
    if update.state != "COMPLETED":
        raise SmartFactoryError(f"The demo's {which} pipeline update failed: {update.error}")
    return update


def _print_finished_flow(run: FlowRun) -> None:
    if run.state in ("COMPLETED", "FAILED", "SKIPPED"):
        rows = f"{run.metrics.output_rows:>8,} rows" if run.metrics else ""
        print(f"  {run.state:<9} {run.name:<24} {rows}", flush=True)


def _report_landing(manifests: list[LandingManifest]) -> None:
    totals = sum((manifest.totals for manifest in manifests[1:]), manifests[0].totals)
    files = sum(len(manifest.files) for manifest in manifests)
    print(
        f"Landed {totals.readings:,} readings in {files} files under {READINGS_LANDING}, "
        f"with {totals.duplicate_records} re-sent duplicates, {totals.wrong_type_lines} wrong-typed "
        f"and {totals.truncated_lines} truncated lines"
    )


def _clear_generated_data(storage: StoragePaths) -> None:
    for folder in (storage.volumes, storage.lakehouse, storage.pipelines):
        shutil.rmtree(folder, ignore_errors=True)


def _readings_per_plant(spark: SparkSession) -> DataFrame:
    # Dirty input (a "hot" temperature, broken lines) must not fail the query: try_cast.
    readings = spark.read.json(READINGS_LANDING).withColumn(
        "temperature", F.col("temperature_celsius").try_cast("double")
    )
    return (
        readings.where(F.col("plant").isNotNull())
        .groupBy("plant")
        .agg(
            F.count("*").alias("readings"),
            F.round(F.avg("temperature"), 1).alias("avg_temp_c"),
            F.round(F.max("temperature"), 1).alias("max_temp_c"),
            F.sum((F.col("temperature") > OVERHEATING_THRESHOLD_CELSIUS).cast("int")).alias("over_40c"),
            F.sum(F.col("device_id").isNull().cast("int")).alias("no_device_id"),
        )
        .orderBy("plant")
    )
