"""Delta's idempotent append, checked from the commit's checksum (``append_once``).

With the helper jar, the batch-already-in question is answered from the version's checksum
file instead of Delta's state rebuild; without it (or without a checksum), Delta answers.
Either way the table must end up exactly as Delta's own ``txnAppId``/``txnVersion`` write
leaves it: each batch once, the ``txn`` action recorded, the writer's options applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pyspark.sql import SparkSession
from spark_support import spark_jobs_of

from smart_factory.lakehouse.helper_classes import jvm_helper
from smart_factory.runtime import delta_append
from smart_factory.runtime.delta_append import append_once
from smart_factory.runtime.delta_txn import snapshot_txn_version, table_properties
from smart_factory.testing.delta_log import commits


@pytest.fixture(params=["checksum", "delta"])
def check(request: pytest.FixtureRequest, spark: SparkSession, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Which side answers: the helper from the checksum, or Delta's DataFrameWriter path."""
    if request.param == "checksum" and jvm_helper(spark, delta_append._HELPER) is None:
        pytest.skip("no helper jar in this session (no JDK compiler)")
    if request.param == "delta":
        monkeypatch.setattr(delta_append, "jvm_helper", lambda spark, name: None)
    yield request.param


def batch(spark: SparkSession, first: int, rows: int = 3):
    return spark.range(first, first + rows).selectExpr("id", "CAST(id AS STRING) AS label")


def test_each_batch_is_written_once_whatever_is_replayed(spark, tmp_path: Path, check: str) -> None:
    table = tmp_path / "table"
    append_once(batch(spark, 0), str(table), "writer", 0)
    append_once(batch(spark, 3), str(table), "writer", 1)
    append_once(batch(spark, 3), str(table), "writer", 1)  # replayed after a crash: skipped
    append_once(batch(spark, 0), str(table), "writer", 0)  # an older one too
    append_once(batch(spark, 100), str(table), "another writer", 0)  # its own numbering
    ids = sorted(row.id for row in spark.read.format("delta").load(str(table)).collect())
    assert ids == [0, 1, 2, 3, 4, 5, 100, 101, 102]
    # Three commits, each an ordinary WRITE with its txn action, as Delta's own write makes them.
    assert [(commit.operation, commit.transactions) for commit in commits(table)] == [
        ("WRITE", (("writer", 0),)), ("WRITE", (("writer", 1),)), ("WRITE", (("another writer", 0),))
    ]
    assert snapshot_txn_version(spark, str(table), "writer") == 1


def test_without_checksums_delta_itself_answers(spark, tmp_path: Path, check: str) -> None:
    table = tmp_path / "table"
    append_once(batch(spark, 0), str(table), "writer", 0)
    append_once(batch(spark, 3), str(table), "writer", 1)
    for checksum in (table / "_delta_log").glob("*.crc"):
        checksum.unlink()
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()  # read the log afresh, now without checksums
    append_once(batch(spark, 3), str(table), "writer", 1)
    append_once(batch(spark, 6), str(table), "writer", 2)
    assert spark.read.format("delta").load(str(table)).count() == 9


def test_writer_options_apply_as_with_dataframe_writer(spark, tmp_path: Path, check: str) -> None:
    table = tmp_path / "table"
    options = {"delta.enableChangeDataFeed": "true", "mergeSchema": "true"}
    append_once(batch(spark, 0), str(table), "writer", 0, options, partition_columns=["label"])
    wider = batch(spark, 3).selectExpr("*", "id * 10 AS reading")
    append_once(wider, str(table), "writer", 1, options, partition_columns=["label"])
    assert table_properties(spark, str(table))["delta.enableChangeDataFeed"] == "true"
    assert spark.read.format("delta").load(str(table)).columns == ["id", "label", "reading"]
    assert sorted(path.name for path in table.glob("label=*")) == [f"label={n}" for n in range(6)]
    changes = spark.read.format("delta").option("readChangeFeed", "true").option("startingVersion", 1).load(str(table))
    assert changes.count() == 3


def test_the_checksum_spares_the_state_rebuild(spark, tmp_path: Path, check: str) -> None:
    """The point of the helper: an append to a table version nobody read runs only its write job."""
    table = tmp_path / "table"
    for version in range(3):
        append_once(batch(spark, 3 * version), str(table), "writer", version)
    jobs = spark_jobs_of(spark, lambda: append_once(batch(spark, 9), str(table), "writer", 3))
    if check == "checksum":
        assert jobs == 1  # writing the files
    else:
        assert jobs > 1  # Delta rebuilds the state to find the writer's last version
