"""What a Delta table's log says right now, read through Delta's own API (no Spark job)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession


def latest_snapshot(spark: SparkSession, table_path: str) -> Any | None:
    """The table's current Delta snapshot (a JVM object), or None when there is no table yet."""
    if not (Path(table_path) / "_delta_log").is_dir():
        return None
    jvm = spark._jvm
    delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table_path)  # type: ignore[union-attr]
    defaults = [getattr(delta_log, f"update$default${index}")() for index in (1, 2, 3)]
    return delta_log.update(*defaults)


def committed_txn_version(spark: SparkSession, table_path: str, app_id: str) -> int | None:
    """The highest batch id ``app_id`` has committed to the table, or None.

    A micro-batch replayed after a crash (its Delta commit done, Spark's checkpoint commit
    not) must be recognised *before* its write is planned: Delta would skip the write anyway,
    but then no job runs and the batch's expectation metrics would never arrive.
    """
    snapshot = latest_snapshot(spark, table_path)
    if snapshot is None:
        return None
    version = snapshot.transactions().get(app_id)
    return int(version.get()) if version.isDefined() else None


def table_properties(spark: SparkSession, table_path: str) -> dict[str, str]:
    """The table's properties (``TBLPROPERTIES``) as its log holds them."""
    snapshot = latest_snapshot(spark, table_path)
    if snapshot is None:
        return {}
    configuration = snapshot.metadata().configuration()
    return {key: configuration.apply(key) for key in _scala_keys(configuration)}


def _scala_keys(scala_map: Any) -> list[str]:
    keys, iterator = [], scala_map.keysIterator()
    while iterator.hasNext():
        keys.append(iterator.next())
    return keys
