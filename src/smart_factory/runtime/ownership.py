"""Each pipeline table belongs to one pipeline, as on Databricks.

Databricks records the pipeline that maintains a streaming table or materialized view in
the table property ``pipelines.pipelineId``; a dataset can be the target of one pipeline
only, and moving a table to another pipeline means setting that property to the new
pipeline's id (Databricks docs: "Move tables between pipelines"). Here, the settings file's
``name`` is the pipeline (its id derives from it), and the Delta table's own properties hold
the record:

- At planning, before any flow starts, every table the pipeline would write is checked: one
  recorded as another pipeline's is refused (:class:`TableOwnershipError`, naming the table
  and both pipelines), so the refused update writes no table.
- The planned graph carries the owner among each table's ``table_properties``, which the
  executor sets right after the table's flow commits: the update that creates a table owns it.
- A table written before owners were recorded has none. The pipeline whose checkpoints for it
  are in its own folder adopts it; any other is refused, since that table may be another
  pipeline's first update at work, or a script's.

>>> claim_tables(spark, graph, layout, PipelineOwner(pipeline_id, "Smart_Factory_Pipeline"))  # doctest: +SKIP
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from pyspark.sql import SparkSession

from smart_factory.errors import TableOwnershipError
from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.runtime.delta_txn import table_properties
from smart_factory.runtime.executor import PipelineLayout
from smart_factory.runtime.planner import PipelineGraph, PlannedDataset

OWNER_ID_PROPERTY = "pipelines.pipelineId"  # Databricks' own key, so its documented hand-over works here
# Ours: lets the refusal name the owner, which an id alone would not.
OWNER_NAME_PROPERTY = "smart_factory.pipelineName"
PIPELINE_ID_FILE = "pipeline_id"


def default_pipeline_id(name: str) -> str:
    """The id a pipeline gets from its name: the same name on any machine is the same pipeline."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"smart-factory:{name}"))


@dataclass(frozen=True)
class PipelineOwner:
    """A pipeline as a table's owner: its id (what is recorded) and its name (what is shown)."""

    pipeline_id: str
    name: str | None

    def describe(self) -> str:
        if self.name:
            return f"pipeline '{self.name}' (id {self.pipeline_id})"
        return f"the pipeline with id {self.pipeline_id}"


def claim_tables(spark: SparkSession, graph: PipelineGraph, layout: PipelineLayout,
                 owner: PipelineOwner) -> PipelineGraph:  # fmt: skip
    """Refuse tables another pipeline owns; the graph whose tables then record ``owner``.

    Raises :class:`TableOwnershipError` listing every table the pipeline may not write.
    Reads each existing table's properties from its Delta log; writes nothing.
    """
    problems = [problem for dataset in _published(graph) if (problem := _problem(spark, dataset, layout, owner))]
    if problems:
        raise TableOwnershipError(problems, _remedy(owner))
    owned = {name: _recording(dataset, owner) for name, dataset in graph.datasets.items()}
    return PipelineGraph(owned, graph.order)


def _published(graph: PipelineGraph) -> list[PlannedDataset]:
    # Temporary tables live in the pipeline's own folder, which no other pipeline writes.
    return [dataset for dataset in graph.stored() if not dataset.definition.temporary]


def _problem(spark: SparkSession, dataset: PlannedDataset, layout: PipelineLayout, owner: PipelineOwner) -> str | None:
    path = layout.table_path(dataset)
    if not (Path(path) / "_delta_log").is_dir():
        return None  # a new table: this update creates it, and owns it
    table = path if dataset.definition.path else f"{layout.target}.{dataset.name}"
    properties = table_properties(spark, path)
    recorded = properties.get(OWNER_ID_PROPERTY)
    if recorded == owner.pipeline_id:
        return None
    if recorded:
        holder = _recorded_owner(recorded, properties.get(OWNER_NAME_PROPERTY), layout.storage)
        return f"table {table} belongs to {holder.describe()}; pipeline '{owner.name}' cannot write it"
    if any(Path(layout.checkpoint(flow)).exists() for flow in dataset.flows):
        return None  # written by this pipeline before owners were recorded: adopted
    return (
        f"table {table} exists without an owning pipeline, and pipeline '{owner.name}' has never written it "
        "(another pipeline's first update may be creating it right now, or a script made it)"
    )


def _recorded_owner(pipeline_id: str, recorded_name: str | None, storage: StoragePaths) -> PipelineOwner:
    """The owner as recorded; its name only when it still fits the id (a hand-over may set the id alone)."""
    if recorded_name and default_pipeline_id(recorded_name) == pipeline_id:
        return PipelineOwner(pipeline_id, recorded_name)
    for id_file in sorted(storage.pipelines.glob(f"*/{PIPELINE_ID_FILE}")):
        if id_file.read_text().strip() == pipeline_id:
            return PipelineOwner(pipeline_id, id_file.parent.name)
    return PipelineOwner(pipeline_id, None)


def _recording(dataset: PlannedDataset, owner: PipelineOwner) -> PlannedDataset:
    if dataset.kind == "view" or dataset.definition.temporary:
        return dataset
    properties = {**dataset.definition.table_properties, OWNER_ID_PROPERTY: owner.pipeline_id}
    if owner.name:
        properties[OWNER_NAME_PROPERTY] = owner.name
    return replace(dataset, definition=replace(dataset.definition, table_properties=properties))


def _remedy(owner: PipelineOwner) -> str:
    return (
        "A table belongs to the pipeline that created it, as on Databricks. To hand one over to "
        f"pipeline '{owner.name}', remove its definition from its owner's files, then either drop it "
        "(delete its folder) so that the next update creates it afresh, or move it with "
        f"ALTER TABLE <table> SET TBLPROPERTIES ('{OWNER_ID_PROPERTY}' = '{owner.pipeline_id}') "
        "and run this pipeline with --full-refresh <table>, so that its flows start from the beginning."
    )
