"""Delta idempotent-write bookkeeping: the last batch a writer committed, read from the log.

``committed_txn_version`` reads the newest JSON commits instead of building a snapshot;
whatever the history (a checkpoint after the writer's last commit, other writers in
between, no commit at all), it must answer exactly as Delta's snapshot does.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from smart_factory.runtime.delta_txn import committed_txn_version, snapshot_txn_version


def append(spark: SparkSession, table: str, app_id: str, version: int) -> None:
    (
        spark.range(1).write.format("delta").mode("append")
        .option("txnAppId", app_id).option("txnVersion", version).save(table)
    )  # fmt: skip


def test_the_last_committed_batch_is_read_from_the_log_as_the_snapshot_has_it(spark, tmp_path) -> None:
    table = str(tmp_path / "table")
    assert committed_txn_version(spark, table, "writer") is None  # no table yet

    answers = []
    for batch in range(3):
        append(spark, table, "writer", batch)
        answers.append((committed_txn_version(spark, table, "writer"), snapshot_txn_version(spark, table, "writer")))
    append(spark, table, "writer", 1)  # a replayed batch: Delta skips it, the version stays 2
    answers.append((committed_txn_version(spark, table, "writer"), snapshot_txn_version(spark, table, "writer")))
    # Another writer commits past Delta's checkpoint (every 10 commits): "writer"'s own
    # txn is then only in the checkpoint, and the answer must still be 2.
    for batch in range(12):
        append(spark, table, "other", batch)
    assert (tmp_path / "table" / "_delta_log" / "_last_checkpoint").is_file()
    after_checkpoint = [
        (committed_txn_version(spark, table, app), snapshot_txn_version(spark, table, app))
        for app in ("writer", "other", "never-wrote")
    ]

    assert answers == [(0, 0), (1, 1), (2, 2), (2, 2)]
    assert after_checkpoint == [(2, 2), (11, 11), (None, None)]
