"""``make demo``: the workshop end to end on fresh local data, as far as it is built.

Today that is the story's first part: the factory's device registry and readings land in
the landing zone (with a schema change and an overheating burst), then Spark reads them
through their ``/Volumes`` paths, registers the registry as a table and summarises what
arrived per plant. Later parts (the DLT pipeline, alerts, dashboards) join as they land.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from smart_factory.lakehouse import (
    DEVICE_REGISTRY_LANDING,
    READINGS_LANDING,
    StoragePaths,
    get_spark,
    save_table,
)
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator

OVERHEATING_THRESHOLD_CELSIUS = 40.0


@dataclass(frozen=True)
class DemoSettings:
    storage_root: str | None = None
    master: str | None = None
    num_devices: int = 2000
    num_files: int = 10
    readings_per_file: int = 5000
    seed: int = 42


def run_demo(settings: DemoSettings) -> None:
    started = time.perf_counter()
    storage = StoragePaths.from_env(settings.storage_root)
    _clear_generated_data(storage)
    print(f"Storage root: {storage.root} (landing zone and tables start empty)")

    manifests = _land_the_factory_day(storage, settings)
    totals = sum((manifest.totals for manifest in manifests[1:]), manifests[0].totals)
    files = sum(len(manifest.files) for manifest in manifests)
    print(
        f"Landed {totals.readings:,} readings in {files} files under {READINGS_LANDING}, "
        f"with {totals.duplicate_records} re-sent duplicates, {totals.wrong_type_lines} wrong-typed "
        f"and {totals.truncated_lines} truncated lines"
    )

    spark = get_spark(master=settings.master, storage_root=storage.root)
    devices = spark.read.json(DEVICE_REGISTRY_LANDING)
    save_table(devices, "smart_factory.devices", storage)
    device_count = spark.table("smart_factory.devices").count()
    print(f"Device registry: {device_count:,} devices in smart_factory.devices")

    print("\nReadings per plant, as read by Spark from the landing zone:")
    _readings_per_plant(spark).show(truncate=False)
    print(f"Done in {time.perf_counter() - started:.0f} s. Next: `make test`, or open notebooks/.")


def _clear_generated_data(storage: StoragePaths) -> None:
    for folder in (storage.volumes, storage.lakehouse, storage.pipelines):
        shutil.rmtree(folder, ignore_errors=True)


def _land_the_factory_day(storage: StoragePaths, settings: DemoSettings) -> list[LandingManifest]:
    registry = DeviceRegistry.generate(num_devices=settings.num_devices, seed=settings.seed)
    registry.save(storage.device_registry_landing)
    simulator = SensorSimulator(registry, seed=settings.seed)
    landing = storage.readings_landing
    everyday = Scenario(late_share=0.01, duplicate_share=0.01, malformed=True)
    return [
        simulator.land_batches(landing, num_files=settings.num_files,
                               readings_per_file=settings.readings_per_file, scenario=everyday),
        simulator.land_batches(landing, num_files=2, readings_per_file=settings.readings_per_file,
                               scenario=Scenario(schema_change=True)),
        simulator.land_batches(landing, num_files=2, readings_per_file=settings.readings_per_file,
                               scenario=Scenario(overheating_devices=5)),
    ]  # fmt: skip


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
