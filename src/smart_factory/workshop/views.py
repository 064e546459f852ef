"""The questions the notebooks ask of the landing zone, the tables, the ledger and the event log.

Every answer is a :class:`~smart_factory.workshop.display.Table` computed by Spark (no Python
loop over readings), ordered, and free of times and absolute paths, so it can be compared
run to run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from smart_factory.lakehouse import DEVICE_REGISTRY_LANDING, READINGS_LANDING
from smart_factory.runtime.ledger import LEDGER_TABLE
from smart_factory.runtime.pipeline import UpdateResult
from smart_factory.runtime.planner import PipelineGraph
from smart_factory.simulator import LandingManifest
from smart_factory.simulator.clock import format_timestamp
from smart_factory.workshop.display import BarChart, Table, TextBlock
from smart_factory.workshop.session import Workshop, WorkshopError

OVERHEATING_CELSIUS = 40.0
PIPELINE_TABLES = ("bronze_readings", "silver_readings", "quarantine_readings", "device_registry",
                   "gold_device_hourly", "gold_plant_line_hourly")  # fmt: skip
# The landing zone's JSON as text: giving the schema saves Spark a pass over the files to infer it,
# and text keeps every value (a temperature of "hot" too) for try_cast to judge.
LANDED_READINGS_SCHEMA = (
    "device_id STRING, timestamp STRING, temperature_celsius STRING, vibration_hz STRING, "
    "plant STRING, floor STRING, line STRING"
)
REGISTRY_SCHEMA = "device_id STRING, plant STRING, floor INT, line STRING, machine_type STRING"
EXPECTATIONS_SCHEMA = "array<struct<name: string, dataset: string, passed_records: bigint, failed_records: bigint>>"


def file_name(path: Column) -> Column:
    """The last part of a file path: what people recognise, and the same on every machine."""
    return F.regexp_extract(path, r"([^/]+)$", 1)


# --- part 1: the landing zone ---------------------------------------------------------------


def registry_overview(factory: Workshop) -> Table:
    """Devices per plant: how many, on how many lines, of how many machine types."""
    devices = factory.spark.read.schema(REGISTRY_SCHEMA).json(DEVICE_REGISTRY_LANDING)
    overview = devices.groupBy("plant").agg(
        F.count("*").alias("devices"),
        F.countDistinct("floor").alias("floors"),
        F.countDistinct("line").alias("lines"),
        F.countDistinct("machine_type").alias("machine_types"),
    )
    return Table.from_dataframe(overview, ["plant"], limit=None)


def landing_summary(manifest: LandingManifest) -> Table:
    """One row per landed file: its simulated window and what is in it."""
    rows = [
        [landed.name, landed.kind, format_timestamp(landed.window_start), landed.counts.readings,
         landed.counts.duplicate_records, landed.counts.truncated_lines + landed.counts.wrong_type_lines,
         landed.counts.late_readings, landed.counts.readings_with_humidity]
        for landed in manifest.files
    ]  # fmt: skip
    return Table(["file", "kind", "window_start", "readings", "re_sent", "garbled_lines", "late", "with_humidity"],
                 rows)  # fmt: skip


def _landed_json(factory: Workshop) -> DataFrame:
    # Dirty input must not fail the query (Spark 4 is ANSI): try_cast, never cast.
    return (
        factory.spark.read.schema(LANDED_READINGS_SCHEMA)
        .json(READINGS_LANDING)
        .withColumn("temperature", F.col("temperature_celsius").try_cast("double"))
    )


def temperature_histogram(factory: Workshop) -> BarChart:
    """How many readings fell in each 1 °C band; bands at or over 40 °C in red."""
    bands = (
        _landed_json(factory)
        .where(F.col("temperature").isNotNull())
        .groupBy(F.floor("temperature").alias("band"))
        .count()
        .orderBy("band")
        .collect()
    )
    return BarChart([(float(row.band), row["count"]) for row in bands], "Readings per 1 °C band (landing zone)",
                    "temperature_celsius", threshold=OVERHEATING_CELSIUS)  # fmt: skip


# --- part 2: the pipeline and its tables ------------------------------------------------------


def pipeline_plan(graph: PipelineGraph) -> Table:
    """What validation found: each dataset, its kind, what it reads and the rules it checks."""
    rows = [
        [name, graph.datasets[name].kind.replace("_", " "), ", ".join(sorted(graph.upstream_of(name))) or "files",
         ", ".join(e.name for e in graph.datasets[name].expectations)]
        for name in graph.order
    ]  # fmt: skip
    return Table(["dataset", "kind", "reads", "expectations"], rows)


def expectation_metrics(update: UpdateResult) -> Table:
    """Each expectation's passed and failed records in one update, as the graph's boxes sum them."""
    rows = []
    for run in update.flows:
        for result in run.metrics.expectations if run.metrics else ():
            checked = result.passed_records + result.failed_records
            rows.append([result.dataset, result.name, result.passed_records, result.failed_records,
                         round(100 * result.passed_records / checked, 2) if checked else None])  # fmt: skip
    return Table(["dataset", "expectation", "passed", "failed", "pass_pct"], rows)


def table_counts(factory: Workshop, names: Sequence[str] = PIPELINE_TABLES) -> Table:
    return Table(["table", "rows"], [[name, factory.count(name)] for name in names if factory.has_table(name)])


def counts(factory: Workshop, names: Sequence[str] = PIPELINE_TABLES) -> dict[str, int]:
    return {name: factory.count(name) for name in names if factory.has_table(name)}


def compare_counts(before: Mapping[str, int], after: Mapping[str, int], expected: Mapping[str, int] | None = None
                   ) -> Table:  # fmt: skip
    """Rows per table before and after, and (where known) how many the new files should add."""
    expected = expected or {}
    columns = ["table", "before", "after", "added"] + (["expected"] if expected else [])
    rows = []
    for name in after:
        row = [name, before.get(name, 0), after[name], after[name] - before.get(name, 0)]
        rows.append(row + ([expected.get(name)] if expected else []))
    return Table(columns, rows, missing="")


def table_head(factory: Workshop, name: str, columns: Sequence[str], order_by: Sequence[str], limit: int = 5
               ) -> Table:  # fmt: skip
    """The first rows of a table, sorted; ``source_file`` shows the file name only."""
    frame = factory.table(name)
    selected = [file_name(F.col(c)).alias(c) if c == "source_file" else F.col(c) for c in columns]
    return Table.from_dataframe(frame.select(*selected), order_by, limit)


def quarantine_by_rule(factory: Workshop) -> Table:
    """Quarantined records per broken rule (a record can break several)."""
    per_rule = (
        factory.table("quarantine_readings")
        .select(F.explode("broken_rules").alias("broken_rule"))
        .groupBy("broken_rule")
        .count()
        .withColumnRenamed("count", "records")
    )
    return Table.from_dataframe(per_rule, ["broken_rule"], limit=None)


# --- part 3: exactly once ------------------------------------------------------------------------


def update_numbers(factory: Workshop) -> dict[str, int]:
    """``{update_id: 1, 2, …}`` in the order the updates started (from the event log)."""
    starts = (
        factory.table("event_log")
        .where("event_type = 'create_update'")
        .select("origin.update_id", "timestamp", "sequence.control_plane_seq_no")
        .orderBy("timestamp", "control_plane_seq_no")
        .collect()
    )
    return {row.update_id: number for number, row in enumerate(starts, start=1)}


def _numbered(factory: Workshop, frame: DataFrame, update_id: str) -> DataFrame:
    numbers = update_numbers(factory)
    mapping = F.create_map(*[F.lit(item) for pair in numbers.items() for item in pair]) if numbers else None
    return frame.withColumn("update", mapping[F.col(update_id)] if mapping is not None else F.lit(None))


def landing_vs_ledger(factory: Workshop) -> Table:
    """Files in the landing zone, files the pipeline has read (the ledger), and files waiting."""
    landed = {path.name for path in factory.storage.readings_landing.iterdir() if not path.name.startswith((".", "_"))}
    read = set()
    if factory.has_table(LEDGER_TABLE):
        read = {row.name for row in factory.table(LEDGER_TABLE).select(file_name(F.col("file_path")).alias("name"))
                .collect()}  # fmt: skip
    return Table(["files_landed", "files_read_by_the_pipeline", "files_waiting"],
                 [[len(landed), len(landed & read), len(landed - read)]])  # fmt: skip


def ledger_by_file(factory: Workshop) -> Table:
    """The per-file ledger: which update read each file, and how many records it gave."""
    ledger = _numbered(factory, factory.table(LEDGER_TABLE), "run_id").select(
        file_name(F.col("file_path")).alias("file"), "update", "records"
    )
    return Table.from_dataframe(ledger, ["update", "file"], limit=None)


def ledger_by_update(factory: Workshop) -> Table:
    """Per update: files read, records read, and whether any file was read twice."""
    ledger = _numbered(factory, factory.table(LEDGER_TABLE), "run_id")
    per_update = ledger.groupBy("update").agg(
        F.count("*").alias("files_read"),
        F.sum("records").alias("records_read"),
        F.countDistinct("file_path").alias("distinct_files"),
    )
    return Table.from_dataframe(per_update, ["update"], limit=None)


def rows_written_per_update(factory: Workshop) -> Table:
    """From the event log: rows each flow wrote in each update (the Databricks event-log query)."""
    written = (
        factory.table("event_log")
        .where("event_type = 'flow_progress' AND details:flow_progress.status::string = 'COMPLETED'")
        .select(
            "origin.update_id",
            F.col("origin.flow_name").alias("flow"),
            F.expr("details:flow_progress.metrics.num_output_rows::bigint").alias("rows"),
        )
    )
    numbered = _numbered(factory, written, "update_id")
    updates = sorted(set(update_numbers(factory).values()))
    pivot = numbered.groupBy("flow").pivot("update", updates).agg(F.sum("rows"))
    order = F.array_position(F.array(*[F.lit(name) for name in _flow_order(factory)]), F.col("flow"))
    rows = pivot.orderBy(order, "flow").collect()
    return Table(["flow"] + [f"update_{number}" for number in updates], [list(row) for row in rows])


def _flow_order(factory: Workshop) -> list[str]:
    order = ["bronze_readings", "readings_validated", "silver_readings", "quarantine_readings"]
    return order + [name for name in PIPELINE_TABLES if name not in order]


# --- part 4: schema change, rescued data and late readings ---------------------------------------


def columns_of(factory: Workshop, name: str) -> Table:
    return Table(["column", "type"], [[f.name, f.dataType.simpleString()] for f in factory.table(name).schema.fields])


def humidity_by_landing(factory: Workshop) -> Table:
    """Bronze rows per landing, and how many carry humidity_percent (older rows read null)."""
    landings = enumerate(factory.progress.landings, start=1)
    landing_of = {name: f"{number}. {entry['what']} (part {entry['part']})"
                  for number, entry in landings for name in entry["files"]}  # fmt: skip
    mapping = F.create_map(*[F.lit(item) for pair in landing_of.items() for item in pair])
    bronze = factory.table("bronze_readings")
    humidity = F.col("humidity_percent") if "humidity_percent" in bronze.columns else F.lit(None)
    per_landing = (
        bronze.withColumn("landing", F.coalesce(mapping[file_name(F.col("source_file"))], F.lit("(other)")))
        .groupBy("landing")
        .agg(F.count("*").alias("bronze_rows"), F.count(humidity).alias("with_humidity"))
    )
    return Table.from_dataframe(per_landing, ["landing"], limit=None)


def readings_per_hour(factory: Workshop) -> dict[str, int]:
    """Readings per event-time hour in gold (``gold_device_hourly``)."""
    hours = factory.table("gold_device_hourly").groupBy("hour_start").agg(F.sum("readings").alias("readings"))
    return {format_timestamp_hour(row.hour_start): row.readings for row in hours.orderBy("hour_start").collect()}


def format_timestamp_hour(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:00")


def compare_hours(before: Mapping[str, int], after: Mapping[str, int]) -> Table:
    rows = [[hour, before.get(hour, 0), after[hour], after[hour] - before.get(hour, 0)] for hour in sorted(after)]
    return Table(["hour (UTC)", "readings_before", "readings_after", "added"], rows)


def rescued_fields(rescued: DataFrame, example_width: int = 48) -> Table:
    """What the rescued data column caught, per field: how many records and one example value.

    ``_file_path`` (present on every rescued record) is left out: it is where, not what.
    """
    fields = (
        rescued.where(F.col("_rescued_data").isNotNull())
        .select(F.explode(F.from_json("_rescued_data", "map<string,string>")).alias("field", "value"))
        .where(F.col("field") != "_file_path")
        .groupBy("field")
        .agg(F.count("*").alias("records"), F.min("value").alias("example"))
        .withColumn("example", F.when(F.length("example") > example_width,
                                      F.concat(F.substring("example", 1, example_width - 1), F.lit("…")))
                    .otherwise(F.col("example")))
    )  # fmt: skip
    return Table.from_dataframe(fields, ["field"], limit=None)


def failure_summary(update: UpdateResult) -> TextBlock:
    """Why an update failed: each failed flow and its cause, as the event log records it."""
    failed = [run for run in update.flows if run.state == "FAILED"]
    if not failed:
        return TextBlock(update.error or "Nothing failed.")
    return TextBlock("\n".join(f"Flow {run.name} failed: {_without_machine_details(run.error)}" for run in failed))


def _without_machine_details(error: str | None) -> str:
    # The offending row's ingestion time and file path say nothing about why it broke the rule.
    text = re.sub(r'"ingested_at":"[^"]*",?', "", error or "")
    return re.sub(r'"source_file":"[^"]*/([^"/]+)"', r'"source_file":"\1"', text)


def bar_chart(frame: DataFrame, x: str, y: str, title: str) -> BarChart:
    """A bar per row of ``frame`` (a query's result): ``x`` labels the bars, ``y`` sizes them, in the query's order."""
    missing = [name for name in (x, y) if name not in frame.columns]
    if missing:
        raise WorkshopError(f"bar_chart: the query has no column {', '.join(missing)}; it returns "
                            f"{', '.join(frame.columns)}")  # fmt: skip
    return BarChart([(str(row[x]), int(row[y] or 0)) for row in frame.collect()], title, x)
