"""Plan a pipeline before any data moves: resolve the dataflow graph and check it.

Every query function is called once with a *planning reader*: ``dlt.read_stream("x")``
returns x's own planned streaming DataFrame and ``dlt.read("x")`` an empty DataFrame of
x's schema, so the whole graph is analysed by Spark — column names, types, expectation
SQL — without reading or writing data. Each problem is reported with the file and line of
the definition at fault, all at once (:class:`PipelinePlanningError`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Literal

from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import BooleanType, StructType

from smart_factory.errors import PipelinePlanningError, SmartFactoryError
from smart_factory.runtime.cloud_files.source import managed_schema_location
from smart_factory.runtime.definitions import DatasetDefinition, Expectation, FlowDefinition
from smart_factory.runtime.failure_causes import failure_cause
from smart_factory.runtime.reading import dataset_name, reading_with
from smart_factory.runtime.registry import PipelineRegistry

PlannedKind = Literal["streaming_table", "materialized_view", "view"]


@dataclass
class PlannedFlow:
    definition: FlowDefinition
    dataset: str
    is_streaming: bool = False
    schema: StructType = field(default_factory=StructType)
    inputs: set[str] = field(default_factory=set)


@dataclass
class PlannedDataset:
    definition: DatasetDefinition
    kind: PlannedKind
    flows: list[PlannedFlow] = field(default_factory=list)
    schema: StructType = field(default_factory=StructType)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def inputs(self) -> set[str]:
        return set().union(*(flow.inputs for flow in self.flows)) if self.flows else set()

    @property
    def expectations(self) -> tuple[Expectation, ...]:
        return self.definition.expectations


@dataclass
class PipelineGraph:
    datasets: dict[str, PlannedDataset]
    order: list[str]  # dependencies first

    def stored(self) -> list[PlannedDataset]:
        return [self.datasets[name] for name in self.order if self.datasets[name].kind != "view"]

    def upstream_of(self, name: str) -> set[str]:
        return self.datasets[name].inputs


class _UnresolvableRead(Exception):
    """Aborts a query function that reads something the plan cannot give it."""


class _PlanningReader:
    def __init__(self, planner: _Planner) -> None:
        self.planner = planner

    def owns(self, name: str) -> bool:
        return dataset_name(name, self.planner.target) in self.planner.definitions

    def read(self, name: str, streaming: bool) -> DataFrame:
        return self.planner.read(name, streaming)


class _Planner:
    def __init__(
        self,
        spark: SparkSession,
        registry: PipelineRegistry,
        target: str,
        schema_location: Callable[[str, str], str] | None,
    ) -> None:
        self.spark = spark
        self.target = target
        self.schema_location = schema_location
        self.problems: list[str] = []
        self.definitions: dict[str, DatasetDefinition] = {}
        self.flows_by_target: dict[str, list[FlowDefinition]] = {}
        self.planned: dict[str, PlannedDataset] = {}
        self.frames: dict[str, DataFrame] = {}  # each dataset's planned DataFrame
        self.evaluating: list[tuple[str, PlannedFlow | None]] = []
        self.order: list[str] = []
        self.cycles_reported: set[frozenset[str]] = set()
        self._index(registry)

    def _index(self, registry: PipelineRegistry) -> None:
        for definition in registry.datasets:
            if definition.name in self.definitions:
                first = self.definitions[definition.name]
                self.problems.append(
                    f"{definition.location}: dataset '{definition.name}' is defined twice "
                    f"(first at {first.location}); dataset names must be unique"
                )
                continue
            self.definitions[definition.name] = definition
        for flow in registry.flows:
            target = dataset_name(flow.target, self.target)
            if target not in self.definitions:
                self.problems.append(f"{flow.location}: flow '{flow.name}' writes to unknown dataset '{flow.target}'")
                continue
            target_kind = self.definitions[target].kind
            if flow.name != target and target_kind in ("materialized_view", "view"):
                self.problems.append(
                    f"{flow.location}: append_flow '{flow.name}' targets '{target}', a {target_kind.replace('_', ' ')}"
                    "; append flows can only write to streaming tables"
                )
                continue
            self.flows_by_target.setdefault(target, []).append(flow)
        flow_names = [flow.name for flow in registry.flows]
        for flow in registry.flows:
            if flow.name != flow.target and flow_names.count(flow.name) > 1:
                self.problems.append(f"{flow.location}: flow name '{flow.name}' is used twice")

    def plan(self) -> PipelineGraph:
        with reading_with(_PlanningReader(self)):
            for name in list(self.definitions):
                self.ensure_planned(name)
        if self.problems:
            raise PipelinePlanningError(_unique(self.problems))
        return PipelineGraph(self.planned, self.order)

    def ensure_planned(self, name: str) -> PlannedDataset | None:
        if name in self.planned:
            return self.planned[name]
        if any(evaluating == name for evaluating, _ in self.evaluating):
            cycle = [evaluating for evaluating, _ in self.evaluating]
            cycle = [*cycle[cycle.index(name) :], name]
            if frozenset(cycle) not in self.cycles_reported:
                self.cycles_reported.add(frozenset(cycle))
                where = ", ".join(f"{n} ({self.definitions[n].location})" for n in cycle[:-1])
                self.problems.append(f"cycle in the dataflow graph: {' -> '.join(cycle)}: {where}")
            return None
        definition = self.definitions[name]
        if definition.kind == "view":
            return self._plan_view(definition)
        return self._plan_stored(definition)

    def _plan_view(self, definition: DatasetDefinition) -> PlannedDataset | None:
        flow = PlannedFlow(
            FlowDefinition(definition.name, definition.name, definition.query, definition.location),
            definition.name,
        )
        frame = self._evaluate(definition, flow)
        if frame is None:
            return None
        planned = PlannedDataset(definition, "view", [flow], frame.schema)
        self._check_expectations(definition, frame)
        return self._record(planned, frame)

    def _plan_stored(self, definition: DatasetDefinition) -> PlannedDataset | None:
        flows = self.flows_by_target.get(definition.name, [])
        if not flows:
            self.problems.append(
                f"{definition.location}: streaming table '{definition.name}' has no flow writing to it; "
                "add an @append_flow(target=...)"
            )
            return None
        planned_flows, frames = [], []
        for flow_definition in flows:
            flow = PlannedFlow(flow_definition, definition.name)
            frame = self._evaluate(definition, flow)
            if frame is None:
                return None
            flow.is_streaming, flow.schema = frame.isStreaming, frame.schema
            planned_flows.append(flow)
            frames.append(frame)
        kind: PlannedKind
        if definition.kind == "streaming_table" or (definition.kind == "table" and frames[0].isStreaming):
            kind = "streaming_table"
        else:
            kind = "materialized_view"
        for flow, frame in zip(planned_flows, frames, strict=True):
            if kind == "streaming_table" and not flow.is_streaming:
                self.problems.append(
                    f"{flow.definition.location}: flow '{flow.definition.name}' of streaming table "
                    f"'{definition.name}' returns a batch DataFrame; use dlt.read_stream / spark.readStream"
                )
            elif kind == "streaming_table":
                self._check_streaming_output(definition, frame)
        self._check_expectations(definition, frames[0])
        return self._record(PlannedDataset(definition, kind, planned_flows, frames[0].schema), frames[0])

    def _record(self, planned: PlannedDataset, frame: DataFrame) -> PlannedDataset:
        self.planned[planned.name] = planned
        self.frames[planned.name] = frame
        self.order.append(planned.name)
        return planned

    def _evaluate(self, definition: DatasetDefinition, flow: PlannedFlow) -> DataFrame | None:
        self.evaluating.append((definition.name, flow))
        location = self.schema_location(definition.name, flow.definition.name) if self.schema_location else None
        token = managed_schema_location.set(location)
        try:
            frame = flow.definition.query()
            if not isinstance(frame, DataFrame):
                self.problems.append(
                    f"{flow.definition.location}: the query of '{definition.name}' returned "
                    f"{type(frame).__name__}, not a DataFrame"
                )
                return None
            frame.schema  # noqa: B018  (forces Spark's analysis: unknown columns surface here)
            return frame
        except _UnresolvableRead:
            return None
        except SmartFactoryError as error:
            self.problems.append(f"{flow.definition.location}: dataset '{definition.name}': {error}")
            return None
        except PySparkException as error:
            self.problems.append(f"{flow.definition.location}: dataset '{definition.name}': {_first_line(error)}")
            return None
        except Exception as error:  # the user's code raised: report it at its own line, not as a traceback
            cause = failure_cause(error, [flow.definition.location.file])
            self.problems.append(f"{cause.location or flow.definition.location}: dataset '{definition.name}': "
                                 f"{replace(cause, location=None, function=None).summary}")  # fmt: skip
            return None
        finally:
            managed_schema_location.reset(token)
            self.evaluating.pop()

    def read(self, name: str, streaming: bool) -> DataFrame:
        reader_name, current_flow = self.evaluating[-1]
        reader_location = current_flow.definition.location if current_flow else self.definitions[reader_name].location
        target = dataset_name(name, self.target)
        if target not in self.definitions:
            self.problems.append(f"{reader_location}: dataset '{reader_name}' reads unknown dataset '{name}'")
            raise _UnresolvableRead
        if current_flow is not None:
            current_flow.inputs.add(target)
        planned = self.ensure_planned(target)
        if planned is None:
            raise _UnresolvableRead
        frame = self.frames[target]
        if planned.kind == "view":
            return frame
        if streaming and planned.kind == "materialized_view":
            self.problems.append(
                f"{reader_location}: '{reader_name}' streams from materialized view '{target}', which can be "
                "rewritten on every update; read it with dlt.read (batch) instead"
            )
            raise _UnresolvableRead
        if streaming:
            return frame
        return self.spark.createDataFrame([], planned.schema)

    def _check_expectations(self, definition: DatasetDefinition, frame: DataFrame) -> None:
        names: set[str] = set()
        for expectation in definition.expectations:
            if expectation.name in names:
                self.problems.append(
                    f"{definition.location}: expectation '{expectation.name}' is declared twice on '{definition.name}'"
                )
            names.add(expectation.name)
            try:
                checked = frame.select(F.expr(expectation.constraint).alias("check")).schema["check"].dataType
            except PySparkException as error:
                self.problems.append(
                    f"{definition.location}: expectation '{expectation.name}' on '{definition.name}' "
                    f"({expectation.constraint!r}) is not valid SQL here: {_first_line(error)}"
                )
                continue
            if not isinstance(checked, BooleanType):
                self.problems.append(
                    f"{definition.location}: expectation '{expectation.name}' on '{definition.name}' must be a "
                    f"true/false condition, but {expectation.constraint!r} is {checked.simpleString()}"
                )

    def _check_streaming_output(self, definition: DatasetDefinition, frame: DataFrame) -> None:
        # A streaming table only appends; Spark refuses aggregations that could still change
        # (no watermark). Ask Spark's own checker now rather than fail mid-update.
        jvm = self.spark._jvm
        try:
            jvm.org.apache.spark.sql.catalyst.analysis.UnsupportedOperationChecker.checkForStreaming(  # type: ignore[union-attr]
                frame._jdf.queryExecution().analyzed(),
                jvm.org.apache.spark.sql.streaming.OutputMode.Append(),  # type: ignore[union-attr]
            )
        except Exception as error:
            self.problems.append(
                f"{definition.location}: streaming table '{definition.name}' cannot append this query: "
                f"{_first_line(error)}. Add a watermark (.withWatermark(...)) before the aggregation, or make "
                "it a materialized view by reading its input with dlt.read (batch)"
            )


def plan_pipeline(
    spark: SparkSession,
    registry: PipelineRegistry,
    target: str,
    schema_location: Callable[[str, str], str] | None = None,
) -> PipelineGraph:
    """Resolve and check the graph of ``registry``; raises :class:`PipelinePlanningError`.

    ``schema_location(dataset, flow)`` gives the folder where a flow's Auto Loader source keeps
    its inferred schema (the runtime manages one per flow, as Databricks does).
    """
    return _Planner(spark, registry, target, schema_location).plan()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
