"""Where the decorators put what a pipeline file declares while it is being loaded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from smart_factory.errors import PipelineDefinitionError
from smart_factory.runtime.definitions import DatasetDefinition, FlowDefinition


@dataclass
class PipelineRegistry:
    datasets: list[DatasetDefinition] = field(default_factory=list)
    flows: list[FlowDefinition] = field(default_factory=list)

    def add_dataset(self, dataset: DatasetDefinition) -> None:
        self.datasets.append(dataset)

    def add_flow(self, flow: FlowDefinition) -> None:
        self.flows.append(flow)


_active_registry: ContextVar[PipelineRegistry | None] = ContextVar("active_registry", default=None)


def active_registry() -> PipelineRegistry:
    registry = _active_registry.get()
    if registry is None:
        raise PipelineDefinitionError(
            "Pipeline decorators (@dlt.table, @dlt.view, …) only register datasets while a pipeline "
            "file is loaded: run it with `smart-factory pipeline run` or Pipeline.load(...).run()."
        )
    return registry


@contextmanager
def collecting_definitions() -> Iterator[PipelineRegistry]:
    registry = PipelineRegistry()
    token = _active_registry.set(registry)
    try:
        yield registry
    finally:
        _active_registry.reset(token)
