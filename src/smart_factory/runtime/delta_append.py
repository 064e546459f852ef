"""Delta's idempotent append (``txnAppId``/``txnVersion``), checked from the commit's checksum.

Delta skips an append whose app id has already committed that version or a later one: how
a micro-batch replayed after a crash is not written twice. It answers that from the table's
whole state, which it rebuilds with Spark jobs over the log for every new version (0.2 to
0.4 s per write, on every stream of every update), though the version's checksum file
lists the same transactions. With the helper jar, ``IdempotentDeltaAppend`` runs Delta's
own write and commit and asks the checksum instead (Delta's check when there is none).
Without it, the same append goes through ``DataFrameWriter``: same commit, slower check.

The caller must be the app id's only writer (a stream's checkpoint lock sees to that):
the checksum answer does not register the app id for Delta's conflict check.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import DataFrame

from smart_factory.lakehouse.helper_classes import jvm_helper

_HELPER = "smartfactory.lakehouse.IdempotentDeltaAppend"


def append_once(
    batch: DataFrame,
    table_path: str,
    app_id: str,
    version: int,
    options: Mapping[str, str] | None = None,
    partition_columns: Sequence[str] = (),
) -> None:
    """Append ``batch`` as version ``version`` of ``app_id``, unless the table has it (or a later one) already.

    ``options`` are Delta writer options (``mergeSchema``, ``delta.*`` table properties...).
    """
    options = dict(options or {})
    helper = jvm_helper(batch.sparkSession, _HELPER)
    if helper is not None:
        helper.append(batch._jdf, table_path, options, list(partition_columns), app_id, version)  # type: ignore[attr-defined]
        return
    writer = (
        batch.write.format("delta").mode("append").options(**options)
        .option("txnAppId", app_id).option("txnVersion", version)
    )  # fmt: skip
    if partition_columns:
        writer = writer.partitionBy(*partition_columns)
    writer.save(table_path)
