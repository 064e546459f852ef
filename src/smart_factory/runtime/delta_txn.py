"""Delta's record of idempotent writes: the last ``txnVersion`` committed for an app id."""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import SparkSession


def committed_txn_version(spark: SparkSession, table_path: str, app_id: str) -> int | None:
    """The highest batch id ``app_id`` has committed to the table, or None.

    A micro-batch replayed after a crash (its Delta commit done, Spark's checkpoint commit
    not) must be skipped *before* it is planned: Delta would skip it anyway, but then no job
    runs and the batch's expectation metrics would never arrive.
    """
    if not (Path(table_path) / "_delta_log").is_dir():
        return None
    jvm = spark._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table_path)  # type: ignore[union-attr]
    defaults = [getattr(delta_log, f"update$default${index}")() for index in (1, 2, 3)]
    version = delta_log.update(*defaults).transactions().get(app_id)
    return int(version.get()) if version.isDefined() else None
