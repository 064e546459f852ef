"""Incremental refresh of materialized views: which queries can be refreshed by groups (read off
Spark's plan), and when the groups are MERGEd rather than the view recomputed."""

from __future__ import annotations

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from smart_factory.runtime import incremental
from smart_factory.runtime.delta_txn import only_rows_added
from smart_factory.runtime.incremental import (
    CHANGE_FEED_PROPERTY,
    COMPLETE_RECOMPUTE,
    delta_version,
    group_keys,
    input_signature,
    refresh_groups,
    remember_refresh,
)
from smart_factory.runtime.small_tables import read_table


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


def per_device(frame: DataFrame) -> DataFrame:
    return frame.groupBy("device_id").agg(F.max("temperature").alias("max_temperature"), F.count("*").alias("n"))


@pytest.mark.parametrize("view_size", ["small", "large"])
def test_inserted_rows_merge_their_groups_and_deleted_rows_recompute_the_view(
    spark, tmp_path, monkeypatch, view_size: str
) -> None:
    """A small view is rewritten in one pass with its recomputed groups, a large one MERGEd."""
    if view_size == "large":
        monkeypatch.setattr(incremental, "REWRITE_MAX_BYTES", 0)
    source, target, state = str(tmp_path / "silver"), str(tmp_path / "gold"), tmp_path / "refresh_state.json"

    def land(*rows: tuple[str, float]) -> None:
        frame = spark.createDataFrame(list(rows), "device_id STRING, temperature DOUBLE")
        frame.write.format("delta").mode("append").option(CHANGE_FEED_PROPERTY, "true").save(source)

    def view_rows() -> list[tuple]:
        return sorted(tuple(row) for row in spark.read.format("delta").load(target).collect())

    def recomputed_rows() -> list[tuple]:
        return sorted(tuple(row) for row in per_device(spark.read.format("delta").load(source)).collect())

    land(("d1", 20.0), ("d2", 30.0))
    per_device(spark.read.format("delta").load(source)).write.format("delta").save(target)
    version = delta_version(spark, source)
    assert version is not None
    remember_refresh(spark, per_device, spark.read.format("delta").load(source), version, state)

    land(("d2", 35.0), ("d3", 10.0))
    assert only_rows_added(source, version.version + 1, version.version + 1) is True
    plan = refresh_groups(spark, per_device, source, target, state)
    assert plan.technique == "GROUP_AGGREGATE" and plan.rows_written == 2  # d2 and d3; d1 untouched
    assert view_rows() == recomputed_rows()
    operation = DeltaTable.forPath(spark, target).history(1).first()["operation"]
    assert operation == ("WRITE" if view_size == "small" else "MERGE")

    spark.sql(f"DELETE FROM delta.`{source}` WHERE device_id = 'd1'")
    now = delta_version(spark, source)
    assert now is not None and only_rows_added(source, now.version, now.version) is False
    plan = refresh_groups(spark, per_device, source, target, state)
    assert plan.technique == COMPLETE_RECOMPUTE and "updated or deleted" in plan.reason


def test_a_commit_gone_from_the_log_leaves_the_question_to_the_change_feed(spark, tmp_path) -> None:
    table = str(tmp_path / "table")
    for first in (0, 5):
        spark.range(first, first + 5).write.format("delta").mode("append").save(table)
    assert only_rows_added(table, 0, 1) is True
    (tmp_path / "table" / "_delta_log" / f"{0:020d}.json").unlink()
    assert only_rows_added(table, 0, 1) is None
    assert only_rows_added(table, 1, 1) is True


@pytest.mark.parametrize("read", ["reader", "checksum file list"])
def test_a_delta_input_is_signed_by_its_version_and_a_file_input_by_its_files(spark, tmp_path, read: str) -> None:
    table, registry = str(tmp_path / "gold"), tmp_path / "registry"
    spark.range(3).withColumnRenamed("id", "device").write.format("delta").save(table)
    registry.mkdir()
    (registry / "devices.json").write_text('{"device": 1, "plant": "Lyon"}\n')

    def view() -> DataFrame:
        devices = spark.read.schema("device LONG, plant STRING").json(str(registry))
        gold = spark.read.format("delta").load(table) if read == "reader" else read_table(spark, table)
        return gold.join(devices, "device")

    signed = input_signature(spark, view())
    assert input_signature(spark, view()) == signed  # nothing changed: the view needs no refresh
    spark.range(3, 4).withColumnRenamed("id", "device").write.format("delta").mode("append").save(table)
    after_append = input_signature(spark, view())
    assert after_append != signed
    (registry / "devices.json").write_text('{"device": 1, "plant": "Lyon"}\n{"device": 2, "plant": "Turin"}\n')
    assert input_signature(spark, view()) not in (signed, after_append)
    pinned = spark.read.format("delta").option("versionAsOf", 0).load(table)
    pinned_signature = input_signature(spark, pinned)
    spark.range(9, 10).withColumnRenamed("id", "device").write.format("delta").mode("append").save(table)
    assert input_signature(spark, pinned) == pinned_signature  # time travel reads version 0, whatever comes after
