"""Read and replace small Delta tables from the file list in their newest checksum.

Delta lists a table's data files in each commit's checksum while it has at most 50 of them,
yet reading or overwriting the table rebuilds its state from the log with Spark jobs (0.3
to 0.4 s for each new version). A pipeline update rewrites its materialized views every
time and reads them (and their small sources) right after, so with the helper jar these
go through ``SmallDeltaTable``: a scan of exactly the listed files, and an overwrite made
of Delta's own append plus the removal of the listed files, in one commit. Whenever the
checksum does not say enough (a larger table, a changed schema, clustering), Delta's own
reader and writer do the work: same rows, same kind of commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import DataFrame, SparkSession

from smart_factory.lakehouse.helper_classes import jvm_helper

_HELPER = "smartfactory.lakehouse.SmallDeltaTable"


def read_table(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    """The Delta table at ``path``, at ``version`` (default: the newest)."""
    helper = jvm_helper(spark, _HELPER)
    if helper is not None:
        listed = helper.read(spark._jsparkSession, path, -1 if version is None else version)  # type: ignore[attr-defined]
        if listed is not None:
            return DataFrame(listed, spark)
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def replace_rows(
    frame: DataFrame, path: str, overwrite: Callable[[DataFrame], None], partition_columns: Sequence[str] | None = None
) -> None:
    """Make ``frame`` the rows of the table at ``path``, partitioned by ``partition_columns`` (None: as it is).

    From its checksum when it can; else by ``overwrite(frame)``, which must overwrite the table.
    """
    helper = jvm_helper(frame.sparkSession, _HELPER)
    columns = None if partition_columns is None else list(partition_columns)
    if helper is None or not helper.replace(frame._jdf, path, columns):  # type: ignore[attr-defined]
        overwrite(frame)
