"""Python UDFs, scalar and pandas, in every kind of flow of a pipeline update.

PySpark 4.2.0 hangs a task whose Python UDF reads straight from a Parquet scan (any Delta
table): the JVM and the Python worker disagree on the UDF command's layout (SPARK-58241).
Every session the project builds turns that columnar path off; these updates would
otherwise never end, so each test has a short timeout.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipeline_support import make_pipeline

pytestmark = pytest.mark.timeout(240)

UDFS = """
import dlt
import pandas as pd
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf, udf

LANDING = spark.conf.get("test.landing")

@udf("double")
def calibrate(value):
    return float(value) * 1.01

@pandas_udf("string")
def band(values: pd.Series) -> pd.Series:
    return values.map(lambda v: "hot" if v >= 40 else "normal")

@dlt.table
def raw():
    return spark.readStream.schema("device STRING, temperature DOUBLE").json(LANDING)

@dlt.table
def calibrated():
    # A stream over a pipeline table (a Delta scan: the path that hung).
    return (dlt.read_stream("raw")
            .withColumn("calibrated", calibrate("temperature"))
            .withColumn("band", band("temperature")))

@dlt.view
def hot():
    return dlt.read("calibrated").where(band("temperature") == "hot")

@dlt.table
def hot_devices():
    return dlt.read("hot").groupBy("device").agg(F.max(calibrate("temperature")).alias("max_calibrated"))
"""


def land(folder: Path, name: str, readings: list[tuple[str, float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"device": device, "temperature": temperature}) for device, temperature in readings]
    (folder / name).write_text("\n".join(lines) + "\n")


def test_scalar_and_pandas_udfs_run_in_streaming_tables_views_and_materialized_views(spark, tmp_path):
    landing = tmp_path / "landing"
    land(landing, "a.json", [("d1", 20.0), ("d2", 45.0), ("d3", 50.0)])
    pipeline = make_pipeline(spark, tmp_path / "p", UDFS, {"test.landing": str(landing)})
    target = pipeline.settings.target

    first = pipeline.run()
    assert first.state == "COMPLETED", first.error
    calibrated = {row.device: (row.calibrated, row.band) for row in spark.table(f"{target}.calibrated").collect()}
    assert calibrated == {"d1": (pytest.approx(20.2), "normal"), "d2": (pytest.approx(45.45), "hot"),
                          "d3": (pytest.approx(50.5), "hot")}  # fmt: skip
    hot = {row.device: row.max_calibrated for row in spark.table(f"{target}.hot_devices").collect()}
    assert hot == {"d2": pytest.approx(45.45), "d3": pytest.approx(50.5)}

    land(landing, "b.json", [("d1", 41.0)])
    second = pipeline.run()  # triggered: only the new file
    assert second.state == "COMPLETED", second.error
    assert second.flow("calibrated").metrics.output_rows == 1
    assert spark.table(f"{target}.calibrated").count() == 4

    refreshed = pipeline.run(full_refresh=True)
    assert refreshed.state == "COMPLETED", refreshed.error
    assert spark.table(f"{target}.calibrated").count() == 4
    assert {row.device for row in spark.table(f"{target}.hot_devices").collect()} == {"d1", "d2", "d3"}
