"""One Smart Factory scenario, run the same way in local mode and on a standalone cluster.

``land_and_run`` lands seeded readings in two batches and runs the real pipeline after
each (the second batch changes the schema and arrives hours late), so both runs see the same
bytes in the same order. ``python -c "import scale_out_support as s; s.main(folder, result)"``
runs it in a fresh process with whatever master ``$SMART_FACTORY_SPARK_MASTER`` names.
"""

from __future__ import annotations

import functools
import json
import operator
import sys
from pathlib import Path

from pipeline_support import smart_factory_pipeline
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator

SEED = 7
# Columns whose values depend on when and where a run happened, not on what it computed.
RUN_SPECIFIC_COLUMNS = ("ingested_at",)
# A reading re-sent in a later file is kept once in silver, but which copy (so which
# source_file) depends on the order tasks ran in: on a cluster as on Databricks.
EITHER_COPY_COLUMNS = {"silver_readings": ("source_file",)}
# Sums of doubles depend on the order of the partial sums, so a rounded average can land on
# either side of a 0.01 step (30.29 or 30.30), and twice in a roll-up of averages.
ROUNDING_TOLERANCE = 0.02 + 1e-9
AGGREGATE_KEYS = {
    "gold_device_hourly": ("hour_start", "device_id"),
    "gold_plant_line_hourly": ("plant", "floor", "line", "hour_start"),
}


def land_and_run(spark: SparkSession, folder: Path) -> str:
    """Run the scenario in ``folder``; return the pipeline's target schema."""
    landing, registry_folder = folder / "landing", folder / "registry"
    registry = DeviceRegistry.generate(num_devices=40, seed=SEED)
    registry.save(registry_folder)
    simulator = SensorSimulator(registry, seed=SEED)
    simulator.land_batches(
        landing, num_files=2, readings_per_file=300,
        scenario=Scenario(malformed=True, duplicate_share=0.03, late_share=0.05, malformed_share=0.01),
    )  # fmt: skip
    pipeline = smart_factory_pipeline(spark, folder, landing, registry_folder)
    for update_number in (1, 2):
        if update_number == 2:
            simulator.land_batches(
                landing, num_files=1, readings_per_file=300,
                scenario=Scenario(schema_change=True, overheating_devices=3, late_share=0.2, duplicate_share=0.03),
            )  # fmt: skip
        update = pipeline.run()
        if update.state != "COMPLETED":
            raise AssertionError(f"update {update_number} ended {update.state}: {update.error}")
    return pipeline.settings.target


def comparable(name: str, table: DataFrame, folder: Path) -> DataFrame:
    """Table ``name`` without run-specific columns, its file paths relative to the run's ``folder``."""
    table = table.drop(*RUN_SPECIFIC_COLUMNS, *EITHER_COPY_COLUMNS.get(name, ()))
    for name, data_type in table.dtypes:
        if data_type == "string":
            # Paths appear as file:/… (source_file) and inside rescued-data JSON.
            table = table.withColumn(name, F.replace(F.col(name), F.lit(f"file:{folder}/"), F.lit("")))
    return table


def differences(name: str, left: DataFrame, right: DataFrame) -> DataFrame:
    """Rows of table ``name`` not in both, order aside; aggregates compared within rounding."""
    keys = AGGREGATE_KEYS.get(name)
    if keys is None:
        return left.exceptAll(right).unionAll(right.exceptAll(left))
    # One row per key on each side: a row missing on one side has nulls there, and differs.
    joined = left.alias("left").join(right.alias("right"), list(keys), "full_outer")
    mismatches = [
        (F.abs(F.col(f"left.{column}") - F.col(f"right.{column}")) > ROUNDING_TOLERANCE)
        | (F.col(f"left.{column}").isNull() != F.col(f"right.{column}").isNull())
        if data_type == "double"
        else ~F.col(f"left.{column}").eqNullSafe(F.col(f"right.{column}"))
        for column, data_type in left.dtypes
        if column not in keys
    ]
    return joined.where(functools.reduce(operator.or_, mismatches))


def processes_using(folder: Path) -> list[str]:
    """Processes that name ``folder`` on their command line, work in it or hold a file open in
    it (a daemon's log): the daemons, executors and Python workers of a cluster kept there.
    Empty once that cluster is truly gone."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            places = [str((entry / "cwd").readlink())] + [str(fd.readlink()) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue  # ended meanwhile, or not ours to inspect
        if str(folder) in command or any(place.startswith(str(folder)) for place in places):
            found.append(f"{entry.name}: {command[:160]}")
    return found


def main(folder: str, result_file: str) -> None:
    """The child-process side: run the scenario on ``$SMART_FACTORY_SPARK_MASTER``, report how."""
    from smart_factory.lakehouse import get_spark

    spark = get_spark(app_name="smart-factory-scale-out")
    target = land_and_run(spark, Path(folder))
    result = {"target": target, "master": spark.sparkContext.master, "application_id": spark.sparkContext.applicationId}
    Path(result_file).write_text(json.dumps(result))
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
