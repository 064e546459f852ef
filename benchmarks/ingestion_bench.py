"""Auto Loader (``cloudFiles``) ingestion against plain Spark file streaming, side by side.

Every figure is a pair of wall-clock seconds measured in the same Spark session on the same
files, alternating which side runs first; the runner prints ``ratio`` = value / baseline.

- ``backfill_bronze_ratio`` (goal <= 1.3): 1,000,000 readings (100,000 when quick) in 10 JSON
  Lines files, ingested by ``cloudFiles`` + :func:`ingest_available` into a new Delta table
  with the schema already inferred (a warm schema location), against
  ``spark.readStream.schema(<that schema>).json(...)`` written to a Delta sink.
- ``backfill_bronze_cold_ratio`` (goal <= 1.6): the same with an empty schema location, so
  the run includes schema inference; same plain baseline.
- ``incremental_ratio`` (goal <= 1.3): a run that finds 5 new files after 20,000 already
  processed against one after 5 processed; medians of 5 runs each. Quick: 2,000 processed,
  medians of 3 (``incremental_history_files`` says which). In full mode
  ``incremental_plain_spark_ratio`` is the same measure for Spark's own file source, so a
  miss can be told apart from what Spark itself costs.

The processed history is built honestly but fast: 20,000 tiny copies of real simulator
files, ingested by the same stream in one batch (a large ``maxFilesPerTrigger``), then one
ordinary untimed run; only the runs after that are timed.

A warm-up run of each side keeps JIT compilation out of the figures; backfill figures are
medians of 3 rounds (1 when quick), each round running the sides in a different order.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import StructType

from benchmarks import Measurement, benchmark
from smart_factory.lakehouse import get_spark
from smart_factory.runtime.cloud_files import SchemaStore, install_cloud_files
from smart_factory.runtime.ingestion import ingest_available
from smart_factory.simulator import DeviceRegistry, SensorSimulator

SCHEMA_HINTS = "temperature_celsius DOUBLE, vibration_hz DOUBLE"
BACKFILL_FILES = 10
NEW_FILES_PER_RUN = 5
READINGS_PER_SMALL_FILE = 5


@dataclass(frozen=True)
class Lab:
    """The benchmark process's one Spark session and one temporary folder for everything."""

    spark: SparkSession
    root: Path

    def folder(self, *parts: str) -> Path:
        """A new, empty folder under the root (any earlier one of that name is removed)."""
        path = self.root.joinpath(*parts)
        shutil.rmtree(path, ignore_errors=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


@functools.cache
def lab() -> Lab:
    # The session's storage root is fixed for the life of the process, so one root serves
    # every benchmark in this module.
    root = Path(tempfile.mkdtemp(prefix="ingestion-bench-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    spark = get_spark(master="local[2]", storage_root=root / "storage")
    install_cloud_files()
    return Lab(spark, root)


def cloud_files_stream(spark: SparkSession, folder: Path, schema_location: Path, **options: str) -> DataFrame:
    reader = (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.schemaLocation", str(schema_location))
        .option("cloudFiles.schemaHints", SCHEMA_HINTS)
    )
    for key, value in options.items():
        reader = reader.option(key, value)
    return reader.load(str(folder))


@dataclass(frozen=True)
class Timing:
    """One timed ``cloudFiles`` run."""

    seconds: float
    build_seconds: float  # building the stream: schema inference on a cold start


def run_cloud_files(
    spark: SparkSession, folder: Path, schema_location: Path, target: Path, **options: str
) -> Timing:
    """One ``ingest_available`` run into ``target/table`` (its checkpoint beside it), timed."""
    build_seconds: list[float] = []

    def build_stream() -> DataFrame:
        began = time.perf_counter()
        stream = cloud_files_stream(spark, folder, schema_location, **options)
        build_seconds.append(time.perf_counter() - began)
        return stream

    began = time.perf_counter()
    ingest_available(
        spark, build_stream, table_path=str(target / "table"), checkpoint=str(target / "checkpoint")
    )
    return Timing(time.perf_counter() - began, build_seconds[0])


def run_plain_spark(spark: SparkSession, folder: Path, schema: StructType, target: Path) -> float:
    """Seconds for one availableNow run of Spark's own JSON file stream into a Delta sink."""
    began = time.perf_counter()
    query = (
        spark.readStream.schema(schema)
        .json(str(folder))
        .writeStream.format("delta")
        .option("checkpointLocation", str(target / "checkpoint"))
        .trigger(availableNow=True)
        .start(str(target / "table"))
    )
    query.awaitTermination()
    return time.perf_counter() - began


def inferred_schema(spark: SparkSession, folder: Path, schema_location: Path) -> StructType:
    """The schema ``cloudFiles`` infers for ``folder`` (saved at ``schema_location``, warming it)."""
    cloud_files_stream(spark, folder, schema_location)  # building the stream infers and saves
    return saved_schema(schema_location)


def saved_schema(schema_location: Path) -> StructType:
    latest = SchemaStore(schema_location).latest()
    if latest is None:
        raise RuntimeError(f"cloudFiles saved no schema in {schema_location}")
    return latest[1]


def land_readings(folder: Path, readings: int, files: int) -> int:
    """Land ``readings`` simulated readings as ``files`` JSON Lines files; returns the lines."""
    simulator = SensorSimulator(DeviceRegistry.generate(num_devices=2000, seed=42), seed=42)
    simulator.land_batches(folder, num_files=files, readings_per_file=readings // files)
    return sum(path.read_bytes().count(b"\n") for path in folder.iterdir())


def check_rows(spark: SparkSession, expected: int, table: Path) -> None:
    """Stop the benchmark when a side did not ingest every record: its time would mean nothing."""
    rows = spark.read.format("delta").load(str(table)).count()
    if rows != expected:
        raise RuntimeError(f"{table} holds {rows:,} rows, expected {expected:,}: the run is not comparable")


@functools.cache
def warm_up() -> None:
    """One tiny run of each side, so JIT compilation and class loading are not timed."""
    spark, workspace = lab().spark, lab().folder("warm-up")
    folder = workspace / "landing" / "sensor_readings"
    land_readings(folder, readings=2_000, files=2)
    run_cloud_files(spark, folder, workspace / "schema", workspace / "cloud_files")
    run_plain_spark(spark, folder, saved_schema(workspace / "schema"), workspace / "plain")


def rotations(sides: list[str], rounds: int) -> Iterator[list[str]]:
    """``sides`` in a different order each round, so none always runs first (or last)."""
    for round_number in range(rounds):
        shift = round_number % len(sides)
        yield sides[shift:] + sides[:shift]


@benchmark
def backfill_bronze(quick: bool) -> list[Measurement]:
    """Backfill 1,000,000 readings (100,000 quick) with cloudFiles, warm and cold, and plain Spark."""
    readings, rounds = (100_000, 1) if quick else (1_000_000, 3)
    spark = lab().spark
    warm_up()
    workspace = lab().folder("backfill")
    folder = workspace / "landing" / "sensor_readings"
    lines = land_readings(folder, readings, BACKFILL_FILES)
    warm_location = workspace / "warm_schema"
    schema = inferred_schema(spark, folder, warm_location)

    inference_seconds: list[float] = []

    def cold(target: Path) -> float:
        timing = run_cloud_files(spark, folder, target / "schema", target)
        inference_seconds.append(timing.build_seconds)
        return timing.seconds

    sides: dict[str, Callable[[Path], float]] = {
        "warm": lambda target: run_cloud_files(spark, folder, warm_location, target).seconds,
        "cold": cold,
        "plain": lambda target: run_plain_spark(spark, folder, schema, target),
    }
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    for round_number, order in enumerate(rotations(list(sides), rounds)):
        for side in order:
            target = lab().folder("backfill", f"{side}-{round_number}")
            seconds[side].append(sides[side](target))
            if round_number == 0:
                check_rows(spark, lines, target / "table")
            shutil.rmtree(target)
    median = {side: statistics.median(values) for side, values in seconds.items()}
    shutil.rmtree(workspace)
    return [
        Measurement("backfill_bronze_ratio", round(median["warm"], 3), "s", round(median["plain"], 3),
                    goal="ratio <= 1.3"),
        Measurement("backfill_bronze_cold_ratio", round(median["cold"], 3), "s", round(median["plain"], 3),
                    goal="ratio <= 1.6"),
        Measurement("backfill_bronze_readings", lines, "readings"),
        Measurement("backfill_bronze_schema_inference_seconds", round(statistics.median(inference_seconds), 3), "s"),
    ]


@contextmanager
def session_conf(spark: SparkSession, settings: dict[str, str]) -> Iterator[None]:
    """``settings`` in force for the block, the session's own values restored after."""
    saved = {key: spark.conf.get(key, None) for key in settings}
    for key, value in settings.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


# Making the 20,000-file history fast to build, not to read later: list those paths with a
# few tasks (not one per file) and pack the files into a few scan partitions (so each table
# gets a few data files, not hundreds). Only the one-off history run is affected.
HISTORY_SETUP_CONF = {
    "spark.sql.sources.parallelPartitionDiscovery.parallelism": "4",
    "spark.sql.files.openCostInBytes": "0",
}


def small_file_contents(folder: Path, count: int = 10) -> list[bytes]:
    """A few real simulator files of a handful of readings, to be copied as many tiny files."""
    land_readings(folder, readings=count * READINGS_PER_SMALL_FILE, files=count)
    return [path.read_bytes() for path in sorted(folder.iterdir())]


def land_copies(folder: Path, prefix: str, count: int, contents: list[bytes]) -> int:
    """``count`` files named ``<prefix>-<n>.json`` cycling through ``contents``; returns their lines."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = 0
    for number in range(count):
        data = contents[number % len(contents)]
        (folder / f"{prefix}-{number:06d}.json").write_bytes(data)
        lines += data.count(b"\n")
    return lines


@dataclass(frozen=True)
class Stream:
    """One checkpointed stream over a landing folder, by cloudFiles or by plain Spark."""

    reader: Literal["cloud_files", "plain"]
    folder: Path
    workspace: Path

    def run(self, spark: SparkSession, schema: StructType, **options: str) -> float:
        if self.reader == "cloud_files":
            return run_cloud_files(spark, self.folder, self.workspace / "schema", self.workspace, **options).seconds
        return run_plain_spark(spark, self.folder, schema, self.workspace)


@benchmark
def incremental(quick: bool) -> list[Measurement]:
    """5 new files after 20,000 processed against after 5 processed: medians of 5 runs each.

    Quick: 2,000 processed, medians of 3, and no plain-Spark reference (to stay in budget).
    """
    readers: tuple[Literal["cloud_files", "plain"], ...] = ("cloud_files",) if quick else ("cloud_files", "plain")
    history, runs = (2_000, 3) if quick else (20_000, 5)
    spark = lab().spark
    warm_up()
    workspace = lab().folder("incremental")
    contents = small_file_contents(workspace / "templates" / "sensor_readings")
    folders = {"long": workspace / "long_history", "short": workspace / "short_history"}
    expected = {
        "long": land_copies(folders["long"], "history", history, contents),
        "short": land_copies(folders["short"], "history", NEW_FILES_PER_RUN, contents),
    }
    schema = inferred_schema(spark, folders["short"], workspace / "schema")
    streams = {
        (reader, length): Stream(reader, folders[length], workspace / f"{reader}-{length}")
        for reader in readers
        for length in folders
    }

    # The history in one batch, then one ordinary run: on restart Spark plans the last
    # committed batch again (every file of it), which in a steady state is a small one.
    with session_conf(spark, HISTORY_SETUP_CONF):
        for stream in streams.values():
            stream.run(spark, schema, **{"cloudFiles.maxFilesPerTrigger": str(history + NEW_FILES_PER_RUN)})
        for length, folder in folders.items():
            expected[length] += land_copies(folder, "settle", NEW_FILES_PER_RUN, contents)
        for stream in streams.values():
            stream.run(spark, schema)

    seconds: dict[tuple[str, str], list[float]] = {key: [] for key in streams}
    for run_number, order in enumerate(rotations(list(streams), runs)):
        for length, folder in folders.items():
            expected[length] += land_copies(folder, f"new-{run_number:02d}", NEW_FILES_PER_RUN, contents)
        for key in order:
            seconds[key].append(streams[key].run(spark, schema))
    for (_reader, length), stream in streams.items():
        check_rows(spark, expected[length], stream.workspace / "table")
    median = {key: round(statistics.median(values), 3) for key, values in seconds.items()}
    shutil.rmtree(workspace)
    measurements = [
        Measurement("incremental_ratio", median["cloud_files", "long"], "s", median["cloud_files", "short"],
                    goal="ratio <= 1.3"),
        Measurement("incremental_history_files", history, "files"),
    ]
    if "plain" in readers:
        measurements.append(
            Measurement("incremental_plain_spark_ratio", median["plain", "long"], "s", median["plain", "short"])
        )
    return measurements
