"""Which materialized-view queries can be refreshed by groups, read off Spark's plan."""

from __future__ import annotations

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from smart_factory.runtime.incremental import group_keys


@pytest.fixture(scope="module")
def readings(spark) -> DataFrame:
    return spark.createDataFrame(
        [("d1", "2026-01-05 08:10:00", 20.0), ("d2", "2026-01-05 09:10:00", 41.0)],
        "device_id STRING, event_time STRING, temperature DOUBLE",
    ).withColumn("event_time", F.col("event_time").cast("timestamp"))


def hourly(frame: DataFrame) -> DataFrame:
    return frame.groupBy(F.window("event_time", "1 hour").alias("hour"), "device_id").agg(F.max("temperature"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (lambda r: r.groupBy("device_id").count(), ["device_id"]),
        (lambda r: r.groupBy(F.col("device_id").alias("device")).agg(F.avg("temperature")), ["device"]),
        (lambda r: hourly(r), ["hour", "device_id"]),
        # A window given as its start and end still names each group exactly.
        (lambda r: hourly(r).select("hour.start", "hour.end", "device_id", "max(temperature)"),
         ["start", "end", "device_id"]),
        (lambda r: hourly(r).select(F.col("hour.start").alias("s"), "*").drop("hour"), None),  # start alone
        (lambda r: hourly(r).drop("device_id"), None),  # a key left out of the output
        (lambda r: r.groupBy("device_id").count().where("count > 1"), None),  # a filter above the groups
        (lambda r: r.join(r.select("device_id"), "device_id").groupBy("device_id").count(), None),  # two inputs
        (lambda r: r.select("device_id", "temperature"), None),  # no aggregate at all
        (lambda r: r.groupBy(F.upper("device_id")).count(), None),  # a computed key is not a column
    ],
)
def test_group_keys_are_the_output_columns_that_name_each_group(readings, query, expected) -> None:
    assert group_keys(query(readings)) == expected
