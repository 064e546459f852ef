"""The whole Smart Factory pipeline through the local runtime, against the same layers in plain Spark.

Both sides read the same landing folder in the same Spark session and write the same Delta
tables: ``pipelines/dlt_pipeline.py`` run by :class:`~smart_factory.runtime.pipeline.Pipeline`
on one side; on the other, those layers hand-written in Structured Streaming (availableNow
triggers, checkpoints, Delta sinks) and batch Spark for the materialized views.

- ``backfill_pipeline_ratio`` (goal: ratio <= 1.3): one triggered update of a new pipeline
  over 1,000,000 backfilled readings in 10 files (20,000 in 2 when quick) against the plain
  pipeline over the same files. Medians of 3 rounds (1 when quick), the sides alternating
  which runs first. Both start warm on schema: the runtime's schema location is seeded with
  the schema ``cloudFiles`` inferred for these files, and the plain side reads with that
  schema (cold inference is ``backfill_bronze_cold_ratio`` in the ingestion benchmark).
- ``warm_update_seconds`` (goal <= 5): after the backfill, in the same session, an update that
  finds 5 new files of 1,000 readings; median of 5 updates (one when quick). ``details`` holds
  the median seconds of each flow (``UpdateResult.flows``), so one can see where time goes.
- ``warm_update_baseline_seconds``: the same increments through the plain pipeline, run
  alternately with the runtime's. Plain Spark has no materialized views, so it recomputes
  the gold tables and the registry in full, where the runtime MERGEs the touched groups of
  ``gold_device_hourly``.

What the plain side leaves out, as a hand-written job would: expectation metrics (the
runtime observes them in the same pass), the event log, the ingestion ledger and the
idempotent-write bookkeeping. The comparison is of equal *data* work: after the first
round and after the last update, the row counts of every table must match between the
sides, or the benchmark stops.

The readings carry 1% missing device ids (quarantined), 1% re-sent duplicates (dropped in
silver) and 1% late readings; malformed lines are left out, since the plain JSON reader and
``cloudFiles`` disagree on what a non-JSON file yields.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import yaml
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import StreamingQuery
from pyspark.sql.types import StringType, StructField, StructType

from benchmarks import Measurement, benchmark
from benchmarks.ingestion_bench import rotations
from smart_factory.lakehouse import get_spark, storage_of
from smart_factory.runtime.cloud_files import SchemaStore, install_cloud_files
from smart_factory.runtime.executor import FlowRun
from smart_factory.runtime.pipeline import Pipeline
from smart_factory.runtime.settings import PipelineSettings
from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"
BRONZE = "bronze_readings"
COMPARED_TABLES = (BRONZE, "silver_readings", "quarantine_readings", "device_registry",
                   "gold_device_hourly", "gold_plant_line_hourly")  # fmt: skip
SCENARIO = Scenario(late_share=0.01, duplicate_share=0.01)
OVERHEATING_CELSIUS = 40.0
NUM_DEVICES = 2000


@dataclass(frozen=True)
class Sizes:
    """How much the benchmark lands and how often it measures."""

    readings: int
    files: int
    rounds: int
    warm_updates: int
    new_files: int = 5
    readings_per_new_file: int = 1_000


FULL = Sizes(readings=1_000_000, files=10, rounds=3, warm_updates=5)
QUICK = Sizes(readings=20_000, files=2, rounds=1, warm_updates=1)
WARM_UP = Sizes(readings=1_000, files=2, rounds=1, warm_updates=1, readings_per_new_file=100)


@functools.cache
def session() -> tuple[SparkSession, Path]:
    """This module's Spark session and temporary root (the session's storage root lives under it)."""
    root = Path(tempfile.mkdtemp(prefix="pipeline-bench-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return get_spark(master="local[2]", storage_root=root / "storage"), root


class Landing:
    """A landing folder of simulated readings and a device registry, growing file by file."""

    def __init__(self, folder: Path) -> None:
        self.readings = folder / "sensor_readings"
        self.registry = folder / "device_registry"
        devices = DeviceRegistry.generate(num_devices=NUM_DEVICES, seed=42)
        devices.save(self.registry)
        self.simulator = SensorSimulator(devices, seed=42)

    def land(self, files: int, readings_per_file: int) -> None:
        self.simulator.land_batches(self.readings, num_files=files, readings_per_file=readings_per_file,
                                    scenario=SCENARIO)  # fmt: skip

    def inferred_schema(self, spark: SparkSession, schema_location: Path) -> StructType:
        """What the pipeline's ``cloudFiles`` source infers for these files, saved at ``schema_location``."""
        install_cloud_files()
        (
            spark.readStream.format("cloudFiles")
            .option("cloudFiles.format", "json")
            .option("cloudFiles.schemaEvolutionMode", "addNewColumns")
            .option("cloudFiles.schemaLocation", str(schema_location))
            .load(str(self.readings))
        )  # building the stream infers the schema and saves it
        latest = SchemaStore(schema_location).latest()
        if latest is None:
            raise RuntimeError(f"cloudFiles saved no schema in {schema_location}")
        return latest[1]


@dataclass(frozen=True)
class Timing:
    """One update of one side: its wall-clock seconds and the seconds of its parts."""

    seconds: float
    parts: dict[str, float]


class Laps:
    """Seconds between successive :meth:`lap` calls, by name."""

    def __init__(self) -> None:
        self.began = self.last = time.perf_counter()
        self.parts: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.parts[name], self.last = now - self.last, now

    @property
    def total(self) -> float:
        return self.last - self.began


class RuntimeSide:
    """``pipelines/dlt_pipeline.py`` run by the project's runtime, in its own target schema."""

    def __init__(self, spark: SparkSession, folder: Path, landing: Landing, schema_location: Path) -> None:
        raw = yaml.safe_load((PIPELINES / "pipeline.yml").read_text())
        self.target = f"bench_{uuid.uuid4().hex[:8]}"
        raw.update(name=f"Smart_Factory_{self.target}", target=self.target, storage=str(folder / "storage"))
        raw["configuration"].update({"smart_factory.landing_path": str(landing.readings),
                                     "smart_factory.device_registry_path": str(landing.registry)})  # fmt: skip
        self.spark, self.folder = spark, folder
        self.pipeline = Pipeline(PipelineSettings.from_mapping(raw, base=PIPELINES), spark)
        shutil.copytree(schema_location, self.pipeline.layout.schema_location(BRONZE, BRONZE))

    def update(self) -> Timing:
        """One triggered update: its seconds, each flow's, and the time outside the flows."""
        began = time.perf_counter()
        starts, ends = [], []

        def on_progress(run: FlowRun) -> None:
            if run.state == "STARTING":
                starts.append(time.perf_counter())
            elif run.state in ("COMPLETED", "FAILED", "SKIPPED"):
                ends.append(time.perf_counter())

        result = self.pipeline.run(on_progress=on_progress)
        if result.state != "COMPLETED":
            raise RuntimeError(f"the pipeline update {result.state}: {result.error}")
        parts = {
            "before_first_flow": min(starts) - began,  # planning, event log, table setup
            **{run.name: run.seconds for run in result.flows},
            "after_last_flow": time.perf_counter() - max(ends),  # event log flush, catalog
        }
        return Timing(result.seconds, parts)

    def table(self, name: str) -> str:
        return str(storage_of(self.spark).table(f"{self.target}.{name}"))

    def remove(self) -> None:
        shutil.rmtree(Path(self.table(BRONZE)).parent, ignore_errors=True)
        shutil.rmtree(self.folder, ignore_errors=True)


# The plain side restates pipelines/dlt_pipeline.py's transformations on purpose: that file
# is a single DLT source (it needs the runtime's `dlt` and `spark`), and the baseline must be
# plain Spark. The row-count check in measure() catches the two drifting apart.
def validated(bronze: DataFrame) -> DataFrame:
    rules = {
        "device_id_present": "device_id IS NOT NULL",
        "timestamp_parses": "event_time IS NOT NULL",
        "temperature_plausible": "temperature_celsius IS NOT NULL AND temperature_celsius BETWEEN -40 AND 150",
        "vibration_plausible": "vibration_hz IS NOT NULL AND vibration_hz BETWEEN 0 AND 2000",
    }
    broken: Column = F.filter(
        F.array(*[F.when(~F.coalesce(F.expr(rule), F.lit(False)), F.lit(name)) for name, rule in rules.items()]),
        lambda name: name.isNotNull(),
    )
    return (
        bronze.select(
            "device_id",
            F.col("timestamp").alias("raw_timestamp"),
            F.col("timestamp").try_cast("timestamp").alias("event_time"),
            F.col("temperature_celsius").try_cast("double").alias("temperature_celsius"),
            F.col("vibration_hz").try_cast("double").alias("vibration_hz"),
            "plant",
            F.col("floor").try_cast("int").alias("floor"),
            "line",
            "_rescued_data",
            "ingested_at",
            "source_file",
        )
        .withColumn("broken_rules", broken)
        .withColumn("is_quarantined", F.size("broken_rules") > 0)
    )


def device_hourly(silver: DataFrame) -> DataFrame:
    return (
        silver.groupBy(F.window("event_time", "1 hour").alias("hour"), "device_id")
        .agg(
            F.round(F.avg("temperature_celsius"), 2).alias("avg_temperature_celsius"),
            F.max("temperature_celsius").alias("max_temperature_celsius"),
            F.round(F.avg("vibration_hz"), 2).alias("avg_vibration_hz"),
            F.count(F.lit(1)).alias("readings"),
        )
        .select(F.col("hour.start").alias("hour_start"), F.col("hour.end").alias("hour_end"), "*")
        .drop("hour")
    )


def plant_line_hourly(device_hourly: DataFrame, registry: DataFrame) -> DataFrame:
    devices = registry.select("device_id", "plant", "floor", "line", "machine_type")
    return (
        device_hourly.join(devices, "device_id")
        .groupBy("plant", "floor", "line", "hour_start")
        .agg(
            F.round(F.avg("avg_temperature_celsius"), 2).alias("avg_temperature_celsius"),
            F.max("max_temperature_celsius").alias("max_temperature_celsius"),
            F.countDistinct("device_id").alias("devices"),
            F.count_if(F.col("max_temperature_celsius") > OVERHEATING_CELSIUS).alias("overheating_devices"),
            F.sum("readings").alias("readings"),
        )
    )


class PlainSparkSide:
    """The same layers hand-written: streams with availableNow triggers into Delta, then batch gold."""

    def __init__(self, spark: SparkSession, folder: Path, landing: Landing, schema: StructType) -> None:
        self.spark, self.folder, self.landing = spark, folder, landing
        # Spark's JSON reader keeps a line it cannot parse in the "corrupt record" column:
        # the nearest plain-Spark thing to cloudFiles' rescued data.
        self.schema = StructType([*schema.fields, StructField("_rescued_data", StringType())])

    def table(self, name: str) -> str:
        return str(self.folder / "tables" / name)

    def update(self) -> Timing:
        """One triggered run of every layer: its seconds, and each step's."""
        laps = Laps()
        bronze = (
            self.spark.readStream.schema(self.schema)
            .option("columnNameOfCorruptRecord", "_rescued_data")
            .json(str(self.landing.readings))
            .withColumn("ingested_at", F.current_timestamp())
            .withColumn("source_file", F.col("_metadata.file_path"))
        )
        self._write_stream(bronze, BRONZE).awaitTermination()
        laps.lap(BRONZE)
        self._write_stream(validated(self._read_stream(BRONZE)), "readings_validated").awaitTermination()
        laps.lap("readings_validated")
        silver = (
            self._read_stream("readings_validated")
            .where("NOT is_quarantined")
            .dropDuplicates(["device_id", "event_time"])
            .withColumn("is_overheating", F.col("temperature_celsius") > OVERHEATING_CELSIUS)
            .drop("is_quarantined", "broken_rules")
        )
        quarantine = self._read_stream("readings_validated").where("is_quarantined").drop("is_quarantined")
        # Silver and quarantine run side by side (as the runtime runs them), the registry meanwhile.
        queries = [self._write_stream(silver, "silver_readings"), self._write_stream(quarantine, "quarantine_readings")]
        registry = self.spark.read.json(str(self.landing.registry)).select(
            "device_id", "plant", "floor", "line", "machine_type", "model", F.col("install_date").cast("date")
        )
        self._overwrite(registry, "device_registry")
        for query in queries:
            query.awaitTermination()
        laps.lap("silver_quarantine_and_registry")
        self._overwrite(device_hourly(self._read("silver_readings")), "gold_device_hourly")
        laps.lap("gold_device_hourly")
        self._overwrite(plant_line_hourly(self._read("gold_device_hourly"), self._read("device_registry")),
                        "gold_plant_line_hourly")  # fmt: skip
        laps.lap("gold_plant_line_hourly")
        return Timing(laps.total, laps.parts)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _read_stream(self, name: str) -> DataFrame:
        return self.spark.readStream.format("delta").load(self.table(name))

    def _read(self, name: str) -> DataFrame:
        return self.spark.read.format("delta").load(self.table(name))

    def _write_stream(self, frame: DataFrame, name: str) -> StreamingQuery:
        return (
            frame.writeStream.format("delta")
            .option("checkpointLocation", str(self.folder / "checkpoints" / name))
            .trigger(availableNow=True)
            .start(self.table(name))
        )

    def _overwrite(self, frame: DataFrame, name: str) -> None:
        frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(self.table(name))


def row_counts(spark: SparkSession, runtime: RuntimeSide, plain: PlainSparkSide) -> dict[str, int]:
    """Each compared table's rows, after checking both sides hold as many: else the times mean nothing."""
    counts = {}
    for name in COMPARED_TABLES:
        ours, theirs = (spark.read.format("delta").load(side.table(name)).count() for side in (runtime, plain))
        if ours != theirs:
            raise RuntimeError(f"{name}: the runtime wrote {ours:,} rows, plain Spark {theirs:,}: not comparable")
        counts[name] = ours
    return counts


def measure(sizes: Sizes, root: Path, spark: SparkSession) -> list[Measurement]:
    """The figures for ``sizes``, everything under ``root`` (the test runs it on tiny sizes)."""
    landing = Landing(root / "landing")
    landing.land(sizes.files, sizes.readings // sizes.files)
    schema_location = root / "inferred_schema"
    schema = landing.inferred_schema(spark, schema_location)

    def sides(round_number: int) -> tuple[RuntimeSide, PlainSparkSide]:
        return (RuntimeSide(spark, root / f"runtime-{round_number}", landing, schema_location),
                PlainSparkSide(spark, root / f"plain-{round_number}", landing, schema))  # fmt: skip

    runtime, plain = sides(0)
    backfill: dict[str, list[Timing]] = {"runtime": [], "plain": []}
    for round_number, order in enumerate(rotations(list(backfill), sizes.rounds)):
        if round_number:  # a new pipeline and plain folder each round: every round is a backfill
            runtime.remove()
            plain.remove()
            runtime, plain = sides(round_number)
        for side in order:
            backfill[side].append((runtime if side == "runtime" else plain).update())
        if round_number == 0:
            backfill_rows = row_counts(spark, runtime, plain)

    warm: dict[str, list[Timing]] = {"runtime": [], "plain": []}
    for order in rotations(list(warm), sizes.warm_updates):
        landing.land(sizes.new_files, sizes.readings_per_new_file)
        for side in order:
            warm[side].append((runtime if side == "runtime" else plain).update())
    final_rows = row_counts(spark, runtime, plain) if sizes.warm_updates else backfill_rows

    landed = {"readings": sizes.readings, "files": sizes.files}
    increment = {"new_files": sizes.new_files, "readings_per_new_file": sizes.readings_per_new_file}
    measurements = [
        Measurement("backfill_pipeline_ratio", median(backfill["runtime"]), "s", median(backfill["plain"]),
                    goal="ratio <= 1.3",
                    details={**landed, "rounds": sizes.rounds, "rows": backfill_rows,
                             "runtime_seconds": median_parts(backfill["runtime"]),
                             "baseline_seconds": median_parts(backfill["plain"])}),
    ]  # fmt: skip
    if sizes.warm_updates:
        measurements += [
            Measurement("warm_update_seconds", median(warm["runtime"]), "s", goal="value <= 5",
                        details={**increment, "updates": sizes.warm_updates, "rows": final_rows,
                                 "each_update": [round(timing.seconds, 3) for timing in warm["runtime"]],
                                 "flow_seconds": median_parts(warm["runtime"])}),
            Measurement("warm_update_baseline_seconds", median(warm["plain"]), "s",
                        details={**increment, "updates": sizes.warm_updates,
                                 "each_update": [round(timing.seconds, 3) for timing in warm["plain"]],
                                 "step_seconds": median_parts(warm["plain"])}),
        ]  # fmt: skip
    runtime.remove()
    plain.remove()
    return measurements


def median(timings: list[Timing]) -> float:
    return round(statistics.median(timing.seconds for timing in timings), 3)


def median_parts(timings: list[Timing]) -> dict[str, float]:
    """Each part's median seconds (the parts are the same in every timing of one side)."""
    return {name: round(statistics.median(timing.parts[name] for timing in timings), 3) for name in timings[0].parts}


@functools.cache
def warm_up() -> None:
    """A tiny backfill of each side, so JIT compilation and class loading are not timed."""
    spark, root = session()
    measure(WARM_UP, root / "warm-up", spark)


@benchmark
def pipeline_updates(quick: bool) -> list[Measurement]:
    """Backfill and warm updates of the whole pipeline, runtime against plain Spark."""
    spark, root = session()
    if not quick:  # quick runs after the other benchmarks, whose queries warmed the JVM already
        warm_up()
    measurements = measure(QUICK if quick else FULL, root / "measured", spark)
    shutil.rmtree(root / "measured", ignore_errors=True)
    return measurements
