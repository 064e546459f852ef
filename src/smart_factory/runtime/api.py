"""The Delta Live Tables Python API (``import dlt``), for pipeline files run locally.

The names, arguments and meaning follow Databricks' DLT Python reference
(https://docs.databricks.com/en/delta-live-tables/python-ref.html); the newer spelling
``from pyspark import pipelines as dp`` maps onto the same functions. Decorators only
record definitions; the planner and executor decide what runs, and when.

    import dlt

    @dlt.table(comment="Raw readings")
    @dlt.expect_or_drop("has_device", "device_id IS NOT NULL")
    def bronze():
        return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(path)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from smart_factory.errors import PipelineDefinitionError
from smart_factory.runtime.definitions import (
    EXPECTATIONS_ATTRIBUTE,
    DatasetDefinition,
    DatasetKind,
    Expectation,
    ExpectationAction,
    FlowDefinition,
    SourceLocation,
)
from smart_factory.runtime.reading import current_reader
from smart_factory.runtime.registry import active_registry

QueryFunction = Callable[[], Any]
_THIS_MODULE = ("runtime/api.py",)


def _here() -> SourceLocation:
    return SourceLocation.of_caller(_THIS_MODULE)


def _check_type(
    location: SourceLocation, argument: str, value: Any, expected: type | tuple, what: str
) -> None:
    if value is not None and not isinstance(value, expected):
        raise PipelineDefinitionError(
            f"{location}: {argument} must be {what}, got {type(value).__name__} {value!r}"
        )


def _check_query(location: SourceLocation, decorator: str, function: Any) -> None:
    if not callable(function):
        raise PipelineDefinitionError(
            f"{location}: @{decorator} decorates a function that returns a DataFrame, got {function!r}"
        )


def _dataset_decorator(
    kind: DatasetKind,
    decorator: str,
    query_function: QueryFunction | None,
    options: dict[str, Any],
) -> Any:
    location = _here()
    _check_type(location, "name", options.get("name"), str, "a string")
    _check_type(location, "comment", options.get("comment"), str, "a string")
    _check_type(location, "spark_conf", options.get("spark_conf"), Mapping, "a dict of strings")
    _check_type(location, "table_properties", options.get("table_properties"), Mapping, "a dict of strings")
    for argument in ("partition_cols", "cluster_by"):
        _check_type(location, argument, options.get(argument), (list, tuple), "a list of column names")

    def register(function: QueryFunction) -> QueryFunction:
        _check_query(location, decorator, function)
        name = options.get("name") or function.__name__
        registry = active_registry()
        registry.add_dataset(
            DatasetDefinition(
                name=name,
                kind=kind,
                location=location,
                query=function,
                comment=options.get("comment"),
                spark_conf=dict(options.get("spark_conf") or {}),
                table_properties=dict(options.get("table_properties") or {}),
                partition_cols=tuple(options.get("partition_cols") or ()),
                cluster_by=tuple(options.get("cluster_by") or ()),
                schema=options.get("schema"),
                temporary=bool(options.get("temporary", False)),
                path=options.get("path"),
            )
        )
        if kind != "view":
            registry.add_flow(FlowDefinition(name=name, target=name, query=function, location=location,
                                             spark_conf=dict(options.get("spark_conf") or {})))  # fmt: skip
        # Returned unchanged so expectation decorators above @dlt.table still attach to it.
        return function

    return register(query_function) if query_function is not None else register


def table(query_function: QueryFunction | None = None, *, name: str | None = None, comment: str | None = None,
          spark_conf: dict | None = None, table_properties: dict | None = None,
          partition_cols: list[str] | None = None, cluster_by: list[str] | None = None,
          schema: Any = None, temporary: bool = False, path: str | None = None,
          row_filter: str | None = None, format: str | None = None) -> Any:  # fmt: skip
    """A table: a streaming table if the query returns a streaming DataFrame, else a materialized view."""
    return _dataset_decorator("table", "dlt.table", query_function, locals())


def materialized_view(query_function: QueryFunction | None = None, *, name: str | None = None,
                      comment: str | None = None, spark_conf: dict | None = None,
                      table_properties: dict | None = None, partition_cols: list[str] | None = None,
                      cluster_by: list[str] | None = None, schema: Any = None, temporary: bool = False,
                      path: str | None = None, row_filter: str | None = None,
                      format: str | None = None) -> Any:  # fmt: skip
    return _dataset_decorator("materialized_view", "dp.materialized_view", query_function, locals())


def view(query_function: QueryFunction | None = None, *, name: str | None = None,
         comment: str | None = None, spark_conf: dict | None = None) -> Any:  # fmt: skip
    """A view: computed when read, never stored."""
    return _dataset_decorator("view", "dlt.view", query_function, locals())


temporary_view = view


def create_streaming_table(name: str, comment: str | None = None, spark_conf: dict | None = None,
                           table_properties: dict | None = None, partition_cols: list[str] | None = None,
                           cluster_by: list[str] | None = None, path: str | None = None,
                           schema: Any = None, expect_all: dict[str, str] | None = None,
                           expect_all_or_drop: dict[str, str] | None = None,
                           expect_all_or_fail: dict[str, str] | None = None,
                           row_filter: str | None = None, format: str | None = None) -> None:  # fmt: skip
    """A streaming table that ``@append_flow`` queries write into."""
    location = _here()
    _check_type(location, "name", name, str, "a string")
    declared = (
        _expectations(location, expect_all or {}, "warn")
        + _expectations(location, expect_all_or_drop or {}, "drop")
        + _expectations(location, expect_all_or_fail or {}, "fail")
    )
    active_registry().add_dataset(
        DatasetDefinition(
            name=name, kind="streaming_table", location=location, comment=comment,
            spark_conf=dict(spark_conf or {}), table_properties=dict(table_properties or {}),
            partition_cols=tuple(partition_cols or ()), cluster_by=tuple(cluster_by or ()),
            schema=schema, path=path, declared_expectations=declared,
        )
    )  # fmt: skip


create_target_table = create_streaming_table  # the older Databricks name


FlowDecorator = Callable[[QueryFunction], QueryFunction]


def append_flow(*, target: str, name: str | None = None, spark_conf: dict | None = None,
                comment: str | None = None, once: bool = False) -> FlowDecorator:  # fmt: skip
    """A flow that appends its query's rows to the streaming table ``target``."""
    location = _here()
    _check_type(location, "target", target, str, "a dataset name")

    def register(function: QueryFunction) -> QueryFunction:
        _check_query(location, "dlt.append_flow", function)
        active_registry().add_flow(
            FlowDefinition(name=name or function.__name__, target=target, query=function, location=location,
                           spark_conf=dict(spark_conf or {}), once=once, comment=comment)
        )  # fmt: skip
        return function

    return register


def _expectations(location: SourceLocation, rules: Any, action: ExpectationAction) -> tuple[Expectation, ...]:
    if not isinstance(rules, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in rules.items()
    ):
        raise PipelineDefinitionError(
            f"{location}: expectations must be a dict of rule name to SQL condition, got {rules!r}"
        )
    return tuple(Expectation(name, constraint, action) for name, constraint in rules.items())


def _expectation_decorator(rules: Mapping[str, str], action: ExpectationAction) -> Callable:
    location = _here()
    expectations = _expectations(location, rules, action)

    def attach(function: QueryFunction) -> QueryFunction:
        _check_query(location, f"dlt.expect ({action})", function)
        # Decorators apply bottom-up: prepend, so the rules keep the order they are written in.
        existing = getattr(function, EXPECTATIONS_ATTRIBUTE, ())
        setattr(function, EXPECTATIONS_ATTRIBUTE, expectations + tuple(existing))
        return function

    return attach


def expect(name: str, constraint: str) -> Callable:
    """Keep rows that break ``constraint``; count them (DLT's *warn* action)."""
    return _expectation_decorator({name: constraint}, "warn")


def expect_or_drop(name: str, constraint: str) -> Callable:
    """Drop rows that break ``constraint``; count them."""
    return _expectation_decorator({name: constraint}, "drop")


def expect_or_fail(name: str, constraint: str) -> Callable:
    """Stop the flow on the first row that breaks ``constraint``; the table keeps its last version."""
    return _expectation_decorator({name: constraint}, "fail")


def expect_all(expectations: dict[str, str]) -> Callable:
    return _expectation_decorator(expectations, "warn")


def expect_all_or_drop(expectations: dict[str, str]) -> Callable:
    return _expectation_decorator(expectations, "drop")


def expect_all_or_fail(expectations: dict[str, str]) -> Callable:
    return _expectation_decorator(expectations, "fail")


def read(name: str) -> Any:
    """The pipeline dataset ``name`` as a batch DataFrame (``LIVE.`` prefix optional)."""
    return current_reader().read(name, streaming=False)


def read_stream(name: str) -> Any:
    """The pipeline dataset ``name`` as a streaming DataFrame (``LIVE.`` prefix optional)."""
    return current_reader().read(name, streaming=True)
