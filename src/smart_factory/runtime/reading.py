"""How ``dlt.read``/``dlt.read_stream`` and ``spark.read.table`` find pipeline datasets.

The planner and the executor each install a reader while they evaluate query functions:
the planner's wires datasets to each other in memory (nothing is read), the executor's
reads the Delta tables written earlier in the update. ``spark.read.table("LIVE.x")``,
``spark.readStream.table("x")`` and ``spark.table("x")`` are routed the same way when ``x``
is a dataset of the pipeline; any other name goes to Spark's catalog as usual.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.readwriter import DataFrameReader
from pyspark.sql.streaming.readwriter import DataStreamReader

from smart_factory.errors import PipelineDefinitionError


class DatasetReader(Protocol):
    def read(self, name: str, streaming: bool) -> DataFrame: ...

    def owns(self, name: str) -> bool: ...


_current: ContextVar[DatasetReader | None] = ContextVar("pipeline_dataset_reader", default=None)


def current_reader() -> DatasetReader:
    reader = _current.get()
    if reader is None:
        raise PipelineDefinitionError(
            "dlt.read/dlt.read_stream only work inside a dataset's query function while the "
            "pipeline runs (call them from the function body, not at the top of the file)."
        )
    return reader


@contextmanager
def reading_with(reader: DatasetReader) -> Iterator[None]:
    _install_table_routing()
    token = _current.set(reader)
    try:
        yield
    finally:
        _current.reset(token)


def dataset_name(name: str, target_schema: str | None) -> str:
    """``LIVE.x``, ``<schema>.x`` and ``<catalog>.<schema>.x`` all name the dataset ``x``.

    >>> dataset_name("LIVE.silver", "smart_factory"), dataset_name("main.smart_factory.gold", "smart_factory")
    ('silver', 'gold')
    """
    parts = name.strip("`").split(".")
    if len(parts) >= 2 and parts[0].lower() == "live":
        return ".".join(parts[1:])
    if target_schema and len(parts) >= 2 and parts[-2].lower() == target_schema.lower():
        return parts[-1]
    return name


def _install_table_routing() -> None:
    if getattr(DataFrameReader.table, "__pipeline_routing__", False):
        return

    def route(original: Any, streaming: bool) -> Any:
        @functools.wraps(original)
        def table(self: Any, tableName: str, *args: Any, **kwargs: Any) -> DataFrame:
            reader = _current.get()
            if reader is not None and reader.owns(tableName):
                return reader.read(tableName, streaming=streaming)
            return original(self, tableName, *args, **kwargs)

        table.__pipeline_routing__ = True  # type: ignore[attr-defined]
        return table

    DataFrameReader.table = route(DataFrameReader.table, streaming=False)  # type: ignore[method-assign]
    DataStreamReader.table = route(DataStreamReader.table, streaming=True)  # type: ignore[method-assign]
    original_session_table = SparkSession.table

    @functools.wraps(original_session_table)
    def session_table(self: SparkSession, tableName: str) -> DataFrame:
        reader = _current.get()
        if reader is not None and reader.owns(tableName):
            return reader.read(tableName, streaming=False)
        return original_session_table(self, tableName)

    SparkSession.table = session_table  # type: ignore[method-assign]
