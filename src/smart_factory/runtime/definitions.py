"""What a pipeline file declares, as plain frozen records. Nothing here touches Spark.

Decorators in :mod:`smart_factory.runtime.api` only *register* these; planning and
execution live in the planner and executor. Every definition keeps the file and line it
came from, so any later error can point at the code that caused it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ExpectationAction = Literal["warn", "drop", "fail"]
DatasetKind = Literal["table", "materialized_view", "streaming_table", "view"]
EXPECTATIONS_ATTRIBUTE = "__pipeline_expectations__"


@dataclass(frozen=True)
class SourceLocation:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{Path(self.file).name}:{self.line}"

    @classmethod
    def of_caller(cls, skip_modules: tuple[str, ...]) -> SourceLocation:
        """The first frame outside ``skip_modules``: the pipeline file's line."""
        for frame in inspect.stack(context=0)[1:]:
            if not any(frame.filename.endswith(module) for module in skip_modules):
                return cls(frame.filename, frame.lineno)
        return cls("<unknown>", 0)


@dataclass(frozen=True)
class Expectation:
    name: str
    constraint: str
    action: ExpectationAction


@dataclass(frozen=True)
class DatasetDefinition:
    """A table, materialized view, streaming table or (temporary) view.

    ``kind == "table"`` is decided at planning time, as Databricks decides it: a query that
    returns a streaming DataFrame makes a streaming table, a batch one a materialized view.
    """

    name: str
    kind: DatasetKind
    location: SourceLocation
    query: Callable[[], Any] | None = None
    comment: str | None = None
    spark_conf: dict[str, str] = field(default_factory=dict)
    table_properties: dict[str, str] = field(default_factory=dict)
    partition_cols: tuple[str, ...] = ()
    cluster_by: tuple[str, ...] = ()
    schema: Any = None  # StructType or DDL string
    temporary: bool = False
    path: str | None = None
    declared_expectations: tuple[Expectation, ...] = ()  # create_streaming_table(expect_all=…)

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        """Declared ones plus those the expectation decorators attached to the query function."""
        attached = getattr(self.query, EXPECTATIONS_ATTRIBUTE, ()) if self.query else ()
        return self.declared_expectations + tuple(attached)

    @property
    def is_stored(self) -> bool:
        return self.kind != "view"


@dataclass(frozen=True)
class FlowDefinition:
    """A query that writes into a dataset: the dataset's own query, or an ``append_flow``."""

    name: str
    target: str
    query: Callable[[], Any]
    location: SourceLocation
    spark_conf: dict[str, str] = field(default_factory=dict)
    once: bool = False
    comment: str | None = None
