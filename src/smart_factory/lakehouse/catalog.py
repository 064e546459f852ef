"""The storage layout is the catalog: every Delta table folder is a table, by name.

Spark's built-in Hive metastore (Derby) admits one process at a time, which a workshop
with a notebook, a CLI and a test runner open at once cannot live with. Instead each
session registers, in its in-memory catalog, every Delta table it finds under
``<root>/lakehouse/<schema>/<table>``. Any process, any kernel restart, sees the same tables.
"""

from __future__ import annotations

from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from smart_factory.lakehouse.paths import SCHEMA, StoragePaths


def quote_identifier(name: str) -> str:
    """A Spark SQL identifier in backticks (``a.b`` stays two parts).

    >>> quote_identifier("smart_factory.silver_readings")
    '`smart_factory`.`silver_readings`'
    """
    return ".".join(f"`{part.replace('`', '``')}`" for part in name.split("."))


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def ensure_schema(spark: SparkSession, storage: StoragePaths, schema: str = SCHEMA) -> None:
    location = storage.lakehouse / schema
    spark.sql(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)} LOCATION {_sql_string(str(location))}")


def delta_table_folders(storage: StoragePaths) -> dict[str, Path]:
    """``{"schema.table": folder}`` for each Delta table under the lakehouse folder."""
    found: dict[str, Path] = {}
    for log_dir in sorted(storage.lakehouse.glob("*/*/_delta_log")):
        table_dir = log_dir.parent
        if any(log_dir.glob("*.json")) or any(log_dir.glob("*.checkpoint*.parquet")):
            found[f"{table_dir.parent.name}.{table_dir.name}"] = table_dir
    return found


def register_tables(spark: SparkSession, storage: StoragePaths) -> list[str]:
    """Register every Delta table in the layout not yet known to this session; drop entries
    whose folder is gone. Returns the names newly registered."""
    known = _registered_tables(spark)
    on_disk = delta_table_folders(storage)
    for name in sorted(set(known) - set(on_disk)):
        spark.sql(f"DROP TABLE IF EXISTS {quote_identifier(name)}")
    added = [name for name in on_disk if name not in known]
    for name in added:
        register_table(spark, storage, name)
    return added


def register_table(spark: SparkSession, storage: StoragePaths, name: str) -> None:
    """Make the Delta folder of ``schema.table`` queryable by name in this session."""
    ensure_schema(spark, storage, name.split(".")[0])
    spark.sql(
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(name)} USING DELTA "
        f"LOCATION {_sql_string(str(storage.table(name)))}"
    )


def _registered_tables(spark: SparkSession) -> set[str]:
    # SHOW TABLES reads the session catalog only; Catalog.listDatabases would run a Spark job.
    names = set()
    for (schema,) in spark.sql("SHOW SCHEMAS").collect():
        for row in spark.sql(f"SHOW TABLES IN {quote_identifier(schema)}").collect():
            if not row.isTemporary:
                names.add(f"{schema}.{row.tableName}")
    return names


def save_table(
    dataframe: DataFrame,
    name: str,
    storage: StoragePaths,
    mode: str = "overwrite",
) -> str:
    """Write ``dataframe`` as the Delta table ``name`` in the layout and register it.

    >>> save_table(spark.range(3), "smart_factory.numbers", storage)  # doctest: +SKIP
    'smart_factory.numbers'
    """
    qualified = name if "." in name else f"{SCHEMA}.{name}"
    writer = dataframe.write.format("delta").mode(mode)
    if mode == "overwrite":
        writer = writer.option("overwriteSchema", "true")
    writer.save(str(storage.table(qualified)))
    register_table(dataframe.sparkSession, storage, qualified)
    return qualified
