"""Streams over pipeline tables start from the Delta log, not a snapshot, when that is the same.

A new stream reading a table whose whole history only added rows reads the log from version
0 (``startingVersion``): the same rows, without the Spark jobs that list a snapshot's files
(on the first batch, and again when the next run re-plans that batch). Any history that
removed or rewrote data keeps Delta's default, the snapshot.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession

from smart_factory.runtime.delta_txn import append_only_history, log_start_version


def append(spark: SparkSession, table: str, first: int, count: int, extra: bool = False) -> None:
    frame = spark.range(first, first + count).selectExpr("id", *(["'x' AS extra"] if extra else []))
    frame.write.format("delta").mode("append").option("mergeSchema", "true").save(table)


def stream_rows(spark: SparkSession, table: str, checkpoint: Path, start: int | None) -> list[tuple]:
    reader = spark.readStream.format("delta")
    if start is not None:
        reader = reader.option("startingVersion", str(start))
    name = f"rows_{checkpoint.name}"
    query = (
        reader.load(table).writeStream.format("memory").queryName(name)
        .option("checkpointLocation", str(checkpoint)).trigger(availableNow=True).start()
    )  # fmt: skip
    query.awaitTermination()
    return sorted(tuple(row) for row in spark.table(name).collect())


def test_appends_compaction_and_new_columns_read_from_the_log_give_the_snapshot_rows(spark, tmp_path) -> None:
    table = str(tmp_path / "table")
    append(spark, table, 0, 5)
    append(spark, table, 5, 5, extra=True)  # schema evolution: a column added
    spark.sql(f"OPTIMIZE delta.`{table}`")  # compaction removes files, but changes no data
    append(spark, table, 10, 2, extra=True)

    assert append_only_history(table)
    start = log_start_version(table, tmp_path / "new_stream")
    assert start == 0
    from_log = stream_rows(spark, table, tmp_path / "from_log", start)
    from_snapshot = stream_rows(spark, table, tmp_path / "from_snapshot", None)
    assert from_log == from_snapshot
    assert len(from_log) == 12 and (0, None) in from_log and (11, "x") in from_log


def test_a_history_that_removed_rows_starts_from_the_snapshot(spark, tmp_path) -> None:
    deleted, overwritten = str(tmp_path / "deleted"), str(tmp_path / "overwritten")
    append(spark, deleted, 0, 5)
    spark.sql(f"DELETE FROM delta.`{deleted}` WHERE id = 3")
    append(spark, overwritten, 0, 5)
    spark.range(2).write.format("delta").mode("overwrite").save(overwritten)

    for table in (deleted, overwritten):
        assert not append_only_history(table)
        assert log_start_version(table, tmp_path / "new_stream") is None
    assert log_start_version(str(tmp_path / "no_table"), tmp_path / "new_stream") is None


def test_a_dropped_column_or_a_missing_first_commit_starts_from_the_snapshot(spark, tmp_path) -> None:
    # Dropping a column changes only metadata (no file is removed), but Delta would refuse
    # to stream across it from the log, so the history does not qualify.
    dropped = str(tmp_path / "dropped")
    append(spark, dropped, 0, 3, extra=True)
    spark.sql(
        f"ALTER TABLE delta.`{dropped}` SET TBLPROPERTIES ('delta.columnMapping.mode' = 'name', "
        "'delta.minReaderVersion' = '2', 'delta.minWriterVersion' = '5')"
    )
    assert append_only_history(dropped)  # a property change alone still qualifies
    spark.sql(f"ALTER TABLE delta.`{dropped}` DROP COLUMN extra")
    assert not append_only_history(dropped)

    trimmed = tmp_path / "trimmed"
    append(spark, str(trimmed), 0, 3)
    append(spark, str(trimmed), 3, 3)
    (trimmed / "_delta_log" / f"{0:020d}.json").unlink()  # as log retention would, after a checkpoint
    assert not append_only_history(str(trimmed))


def test_a_stream_keeps_the_start_it_began_with(spark, tmp_path) -> None:
    table = str(tmp_path / "table")
    append(spark, table, 0, 4)
    from_log, from_snapshot = tmp_path / "began_from_log", tmp_path / "began_from_snapshot"
    stream_rows(spark, table, from_log, log_start_version(table, from_log))
    stream_rows(spark, table, from_snapshot, None)  # began before this choice existed

    # A later DELETE does not change how either stream began: its first batch is re-planned
    # on restart as it was run.
    spark.sql(f"DELETE FROM delta.`{table}` WHERE id = 0")
    assert log_start_version(table, from_log) == 0
    assert log_start_version(table, from_snapshot) is None
    # A new stream now starts from the snapshot.
    assert log_start_version(table, tmp_path / "new_stream") is None
