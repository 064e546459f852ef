# The Smart Factory pipeline, in Databricks Delta Live Tables Python syntax.
#
# It runs unchanged on Databricks (create a pipeline with this file as its source) and
# locally with `smart-factory pipeline run`: both provide `spark` and the `dlt` module.
#
#   landing zone (JSON) -> bronze_readings -> readings_validated -> silver_readings -> gold_*
#                                                                \-> quarantine_readings
import dlt
from pyspark.sql import functions as F

LANDING_PATH = spark.conf.get("smart_factory.landing_path", "/Volumes/main/smart_factory/landing/sensor_readings")
REGISTRY_PATH = spark.conf.get(
    "smart_factory.device_registry_path", "/Volumes/main/smart_factory/landing/device_registry"
)
# Read as text and typed in device_registry(), so a value that does not fit is kept and warned about.
REGISTRY_COLUMNS = (
    "device_id STRING, plant STRING, floor STRING, line STRING, machine_type STRING, model STRING, install_date STRING"
)
OVERHEATING_CELSIUS = float(spark.conf.get("smart_factory.overheating_celsius", "40"))

# A reading is valid when all of these hold; invalid readings go to quarantine, not silver.
VALID_READING = {
    "device_id_present": "device_id IS NOT NULL",
    "timestamp_parses": "event_time IS NOT NULL",
    "temperature_plausible": "temperature_celsius IS NOT NULL AND temperature_celsius BETWEEN -40 AND 150",
    "vibration_plausible": "vibration_hz IS NOT NULL AND vibration_hz BETWEEN 0 AND 2000",
}
BROKEN_RULES = F.filter(
    F.array(*[F.when(~F.coalesce(F.expr(rule), F.lit(False)), F.lit(name)) for name, rule in VALID_READING.items()]),
    lambda name: name.isNotNull(),
)


@dlt.table(comment="Sensor readings exactly as they landed: one row per JSON record, all fields as text.")
def bronze_readings():
    return (
        spark.readStream.format("cloudFiles")
        .option("cloudFiles.format", "json")
        .option("cloudFiles.schemaEvolutionMode", "addNewColumns")
        .load(LANDING_PATH)
        .withColumn("ingested_at", F.current_timestamp())
        .withColumn("source_file", F.col("_metadata.file_path"))
    )


# Databricks' quarantine pattern: validate once (a temporary table with the rules as
# metrics and an is_quarantined flag), then split valid and invalid rows.
@dlt.table(comment="Typed readings, each checked once against VALID_READING.", temporary=True)
@dlt.expect_all(VALID_READING)
def readings_validated():
    return (
        dlt.read_stream("bronze_readings")
        .select(
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
        .withColumn("broken_rules", BROKEN_RULES)
        .withColumn("is_quarantined", F.size("broken_rules") > 0)
    )


@dlt.table(comment="Clean readings: valid, typed, each reading once, hot ones flagged.")
@dlt.expect("rescued_data_empty", "_rescued_data IS NULL")
@dlt.expect("below_overheating_threshold", f"temperature_celsius <= {OVERHEATING_CELSIUS}")
def silver_readings():
    return (
        dlt.read_stream("readings_validated")
        .where("NOT is_quarantined")
        .dropDuplicates(["device_id", "event_time"])  # a gateway re-sending a reading never counts twice
        .withColumn("is_overheating", F.col("temperature_celsius") > OVERHEATING_CELSIUS)
        .drop("is_quarantined", "broken_rules")
    )


@dlt.table(comment="Readings that broke a rule, with the names of the rules they broke.")
def quarantine_readings():
    return dlt.read_stream("readings_validated").where("is_quarantined").drop("is_quarantined")


@dlt.table(comment="The factory's devices: where each one is and what it is.")
@dlt.expect_or_drop("device_id_present", "device_id IS NOT NULL")  # a device without an id joins no reading
@dlt.expect("floor_is_a_number", "get_json_object(_rescued_data, '$.floor') IS NULL")
@dlt.expect("install_date_is_a_date", "get_json_object(_rescued_data, '$.install_date') IS NULL")
def device_registry():
    # The registry's columns are known: reading with them spares Spark a pass over the file to infer them.
    # The registry is kept by hand, so a value that is not of its column's type ("floor": "three")
    # reads null there and is kept, as it was written, in _rescued_data (as Auto Loader rescues data).
    registry = spark.read.schema(REGISTRY_COLUMNS).json(REGISTRY_PATH)
    typed = {"floor": F.col("floor").try_cast("bigint"), "install_date": F.col("install_date").try_cast("date")}
    misfits = F.to_json(
        F.struct(*[F.when(value.isNull() & F.col(name).isNotNull(), F.col(name)).alias(name)
                   for name, value in typed.items()])
    )  # fmt: skip
    return registry.withColumn("_rescued_data", F.when(misfits != "{}", misfits)).withColumns(typed)


@dlt.table(comment="Hourly temperature and vibration per device (event-time hours, late readings included).")
def gold_device_hourly():
    return (
        dlt.read("silver_readings")
        .groupBy(F.window("event_time", "1 hour").alias("hour"), "device_id")
        .agg(
            F.round(F.avg("temperature_celsius"), 2).alias("avg_temperature_celsius"),
            F.max("temperature_celsius").alias("max_temperature_celsius"),
            F.round(F.avg("vibration_hz"), 2).alias("avg_vibration_hz"),
            F.count(F.lit(1)).alias("readings"),
        )
        .select(F.col("hour.start").alias("hour_start"), F.col("hour.end").alias("hour_end"), "*")
        .drop("hour")
    )


@dlt.table(comment="Each plant and line per hour: temperatures and how many machines ran hot.")
def gold_plant_line_hourly():
    devices = dlt.read("device_registry").select("device_id", "plant", "floor", "line", "machine_type")
    return (
        dlt.read("gold_device_hourly")
        .join(devices, "device_id")
        .groupBy("plant", "floor", "line", "hour_start")
        .agg(
            F.round(F.avg("avg_temperature_celsius"), 2).alias("avg_temperature_celsius"),
            F.max("max_temperature_celsius").alias("max_temperature_celsius"),
            F.countDistinct("device_id").alias("devices"),
            F.count_if(F.col("max_temperature_celsius") > OVERHEATING_CELSIUS).alias("overheating_devices"),
            F.sum("readings").alias("readings"),
        )
    )
