"""Small Delta tables read and replaced from the file list in their newest checksum.

``read_table`` and ``replace_rows`` must give exactly what Delta's reader and overwrite give
(rows, history, time travel), spare the Spark jobs that rebuild the table's state when the
checksum lists the files, and hand over to Delta whenever it does not (or cannot) say enough.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from spark_support import spark_jobs_of

from smart_factory.lakehouse.helper_classes import jvm_helper
from smart_factory.runtime import small_tables
from smart_factory.runtime.small_tables import read_table, replace_rows
from smart_factory.testing.delta_log import commits


@pytest.fixture(autouse=True)
def helper(spark: SparkSession) -> None:
    if jvm_helper(spark, small_tables._HELPER) is None:
        pytest.skip("no helper jar in this session (no JDK compiler)")


def readings(spark: SparkSession, first: int, rows: int = 4) -> DataFrame:
    return spark.range(first, first + rows).selectExpr("id", "id * 1.5 AS temperature")


def rows_of(frame: DataFrame) -> list[tuple]:
    return sorted(tuple(row) for row in frame.collect())


def overwrite_with_delta(path: str, calls: list[str]):
    def overwrite(frame: DataFrame) -> None:
        calls.append(path)
        frame.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)

    return overwrite


def test_reads_equal_deltas_own_at_each_version(spark, tmp_path: Path) -> None:
    table = str(tmp_path / "table")
    for first in (0, 4, 8):
        readings(spark, first).write.format("delta").mode("append").save(table)
    assert rows_of(read_table(spark, table)) == rows_of(spark.read.format("delta").load(table))
    for version in (0, 2):
        expected = rows_of(spark.read.format("delta").option("versionAsOf", version).load(table))
        assert rows_of(read_table(spark, table, version)) == expected


def test_a_table_with_more_files_than_the_checksum_lists_is_read_by_delta(spark, tmp_path: Path) -> None:
    table = str(tmp_path / "table")
    readings(spark, 0, rows=400).repartition(80).write.format("delta").save(table)  # 80 files: over 50
    checksum = json.loads((tmp_path / "table" / "_delta_log" / f"{0:020d}.crc").read_text())
    assert "allFiles" not in checksum
    assert spark.sparkContext._jvm.smartfactory.lakehouse.SmallDeltaTable.read(spark._jsparkSession, table, -1) is None
    assert read_table(spark, table).count() == 400


def test_replacing_rows_commits_an_overwrite_and_keeps_history(spark, tmp_path: Path) -> None:
    table = str(tmp_path / "table")
    readings(spark, 0).write.format("delta").save(table)
    calls: list[str] = []
    replace_rows(readings(spark, 100, rows=2), table, overwrite_with_delta(table, calls))
    assert calls == []  # the checksum listed the files: no Delta overwrite needed
    assert rows_of(spark.read.format("delta").load(table)) == rows_of(readings(spark, 100, rows=2))
    assert rows_of(spark.read.format("delta").option("versionAsOf", 0).load(table)) == rows_of(readings(spark, 0))
    first, replaced = commits(table)
    assert (replaced.operation, set(replaced.removed_files)) == ("WRITE", set(first.added_files))
    assert DeltaTable.forPath(spark, table).history(1).first()["operationParameters"]["mode"] == "Overwrite"


def test_replacing_rows_runs_only_the_write(spark, tmp_path: Path) -> None:
    """The point: no Spark job rebuilds the state of a table version nobody has read yet."""
    table = str(tmp_path / "table")
    readings(spark, 0).write.format("delta").save(table)
    readings(spark, 4).write.format("delta").mode("append").save(table)
    ours = spark_jobs_of(spark, lambda: replace_rows(readings(spark, 8), table, overwrite_with_delta(table, [])))
    readings(spark, 12).write.format("delta").mode("append").save(table)
    deltas = spark_jobs_of(spark, lambda: overwrite_with_delta(table, [])(readings(spark, 8)))
    assert ours < deltas


@pytest.mark.parametrize(
    ("change", "partition_columns"),
    [("a new column", None), ("a new type", None), ("a new partitioning", ["id"])],
)
def test_a_changed_table_shape_is_left_to_deltas_overwrite(
    spark, tmp_path: Path, change: str, partition_columns: list[str] | None
) -> None:
    table = str(tmp_path / "table")
    readings(spark, 0).write.format("delta").save(table)
    new_rows = {
        "a new column": readings(spark, 0).selectExpr("*", "'Lyon' AS plant"),
        "a new type": readings(spark, 0).selectExpr("id", "CAST(temperature AS STRING) AS temperature"),
        "a new partitioning": readings(spark, 0),
    }[change]
    calls: list[str] = []
    replace_rows(new_rows, table, overwrite_with_delta(table, calls), partition_columns)
    assert calls == [table]


def test_a_checksum_whose_file_list_does_not_add_up_is_not_trusted(spark, tmp_path: Path) -> None:
    table = tmp_path / "table"
    readings(spark, 0).write.format("delta").save(str(table))
    readings(spark, 4).write.format("delta").mode("append").save(str(table))
    checksum_file = table / "_delta_log" / f"{1:020d}.crc"
    checksum = json.loads(checksum_file.read_text())
    checksum["allFiles"] = checksum["allFiles"][:1]  # a list missing a file
    checksum_file.write_text(json.dumps(checksum))
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # read the log (and the checksum) afresh
    assert read_table(spark, str(table)).count() == 8
    calls: list[str] = []
    replace_rows(readings(spark, 100), str(table), overwrite_with_delta(str(table), calls))
    assert calls == [str(table)]
    assert rows_of(spark.read.format("delta").load(str(table))) == rows_of(readings(spark, 100))


def test_a_new_table_is_left_to_deltas_overwrite(spark, tmp_path: Path) -> None:
    table = str(tmp_path / "new")
    calls: list[str] = []
    replace_rows(readings(spark, 0), table, overwrite_with_delta(table, calls))
    assert calls == [table] and spark.read.format("delta").load(table).count() == 4
