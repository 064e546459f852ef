"""Small DataFrames from rows held in Python, built in the JVM alone.

``spark.createDataFrame(rows)`` ships the rows through a Python RDD, so the first one in a
session starts Spark's Python worker daemon (about 1.5 s on a cold JVM, on 2 busy cores) and
every later one runs a Python task. The runtime writes a few such rows in every update (the
event log, the ingestion ledger, alert history), so they travel as one JSON literal instead
and ``from_json`` builds the rows inside the query: no Python worker, no extra job.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StructType


def local_rows(spark: SparkSession, rows: Iterable[Sequence[Any]], schema: StructType | str) -> DataFrame:
    """A DataFrame of ``rows`` (tuples in the schema's column order) with exactly ``schema``.

    Values follow ``createDataFrame``'s conventions: nested structs as tuples, naive
    datetimes in the local time zone. A value that does not fit its column raises, as it
    would there, instead of turning into a null.
    """
    struct = schema if isinstance(schema, StructType) else DataType.fromDDL(schema)
    assert isinstance(struct, StructType)
    payload = json.dumps([_json_value(row, struct) for row in rows], allow_nan=True)
    parsed = F.from_json(F.lit(payload), ArrayType(struct), {"mode": "FAILFAST"})
    return spark.range(1).select(F.inline(parsed))  # one column per field, in the schema's order


def _json_value(value: Any, kind: DataType) -> Any:
    if value is None:
        return None
    if isinstance(kind, StructType):
        if isinstance(value, Mapping):
            value = [value.get(name) for name in kind.names]
        return {field.name: _json_value(item, field.dataType) for field, item in zip(kind.fields, value, strict=True)}
    if isinstance(kind, ArrayType):
        return [_json_value(item, kind.elementType) for item in value]
    if isinstance(kind, MapType):
        return {str(key): _json_value(item, kind.valueType) for key, item in value.items()}
    if isinstance(value, datetime):
        # Naive means local time, as createDataFrame reads it; the offset makes that explicit.
        return value.astimezone().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value
