"""Incremental refresh of materialized views that aggregate one streaming table.

A view such as gold's hourly aggregates groups the rows of one append-only streaming table
by keys (a device, an event-time window). When new rows arrive, only the groups they fall
into can change — however late the rows are. So instead of recomputing the whole view,
the runtime reads the source's new rows from its change data feed, finds the groups they
touch, recomputes just those groups from the full source and MERGEs them into the view.
This is what Databricks calls the ``GROUP_AGGREGATE`` technique of materialized-view
incremental refresh (the event log's ``planning_information`` event says which technique
ran); any query that is not of that shape, or any change the technique cannot follow
(a new query, a source rewritten or fully refreshed, a new output schema), falls back to a
complete recompute, which is always correct.

Which columns are the group keys is read off Spark's analysed plan: ``Project*`` over one
``Aggregate`` over a single relation, with every grouping expression passed through to the
output unchanged (those output columns are the MERGE keys).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import reduce
from pathlib import Path
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from smart_factory.runtime.delta_txn import latest_snapshot, only_rows_added, table_size, updated_snapshot
from smart_factory.runtime.files import write_text_atomically
from smart_factory.runtime.small_tables import read_table, replace_rows
from smart_factory.testing.fault_points import fault_point, fault_window

CHANGE_FEED_PROPERTY = "delta.enableChangeDataFeed"
COMPLETE_RECOMPUTE = "COMPLETE_RECOMPUTE"
_CHANGE_COLUMNS = ("_change_type", "_commit_version", "_commit_timestamp")
# A view up to this size is rewritten whole with its recomputed groups rather than MERGEd.
REWRITE_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SourceVersion:
    """A Delta table's identity and version: a new id means the table was recreated."""

    table_id: str
    version: int


@dataclass(frozen=True)
class RefreshState:
    """What the view was last computed from, kept next to the flow's checkpoint."""

    fingerprint: str
    source: SourceVersion

    @classmethod
    def load(cls, file: Path) -> RefreshState | None:
        try:
            raw = json.loads(file.read_text())
            return cls(raw["fingerprint"], SourceVersion(**raw["source"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no state, or an unreadable one: recompute in full

    def save(self, file: Path) -> None:
        write_text_atomically(file, json.dumps(asdict(self)))


@dataclass(frozen=True)
class IncrementalPlan:
    """How the view was refreshed this time, for metrics and the event log."""

    technique: str  # "GROUP_AGGREGATE", "NO_OP" or COMPLETE_RECOMPUTE
    reason: str
    rows_written: int = 0


def _recompute(reason: str) -> IncrementalPlan:
    return IncrementalPlan(COMPLETE_RECOMPUTE, reason)


def delta_version(spark: SparkSession, path: str) -> SourceVersion | None:
    """The table's id and latest version, from its log (no Spark job)."""
    snapshot = latest_snapshot(spark, path)
    if snapshot is None:
        return None
    return SourceVersion(str(snapshot.metadata().id()), int(snapshot.version()))


def group_keys(frame: DataFrame) -> list[str] | None:
    """The output columns that carry the grouping keys of ``frame``, or None if it is no group aggregate.

    A key may reach the output whole, or — for a struct such as a time window — as all of its
    fields (``hour.start`` and ``hour.end``), which identify it just as well.
    """
    plan = frame._jdf.queryExecution().analyzed()
    projections = []
    while plan.nodeName() == "Project":
        projections.append(plan.projectList())
        plan = plan.child()
    if plan.nodeName() != "Aggregate" or plan.collectLeaves().size() != 1:
        return None
    grouping = [plan.groupingExpressions().apply(i) for i in range(plan.groupingExpressions().size())]
    if not grouping or not all(expression.nodeName() == "AttributeReference" for expression in grouping):
        return None
    # Follow each grouping attribute up through aliases and projections to the output.
    carried = {expression.exprId().id(): _Carried(index) for index, expression in enumerate(grouping)}
    for expressions in [plan.aggregateExpressions(), *reversed(projections)]:
        carried = _carried_through(expressions, carried)
    output = frame._jdf.queryExecution().analyzed().output()
    columns = [(output.apply(i).name(), carried.get(output.apply(i).exprId().id())) for i in range(output.size())]
    keys: list[str] = []
    for index, expression in enumerate(grouping):
        whole = [name for name, key in columns if key == _Carried(index)]
        fields = {key.field: name for name, key in columns if key and key.group == index and key.field is not None}
        if whole:
            keys.append(whole[0])
        elif fields and len(fields) == _struct_width(expression):
            keys.extend(fields[ordinal] for ordinal in sorted(fields))
        else:
            return None  # a grouping key is not in the output: rows cannot be matched to groups
    return keys


@dataclass(frozen=True)
class _Carried:
    group: int  # which grouping expression
    field: int | None = None  # which of its struct fields, or None for all of it


def _struct_width(expression: Any) -> int:
    data_type = expression.dataType()
    return len(data_type.fields()) if data_type.typeName() == "struct" else -1


def _carried_through(expressions: Any, carried: dict[int, _Carried]) -> dict[int, _Carried]:
    """``{output exprId: key}`` for the expressions that pass a grouping key (or one of its fields) on as is."""
    result: dict[int, _Carried] = {}
    for i in range(expressions.size()):
        expression = expressions.apply(i)
        inner = expression.child() if expression.nodeName() == "Alias" else expression
        if inner.nodeName() == "AttributeReference":
            key = carried.get(inner.exprId().id())
        elif inner.nodeName() == "GetStructField" and inner.child().nodeName() == "AttributeReference":
            whole = carried.get(inner.child().exprId().id())
            key = _Carried(whole.group, int(inner.ordinal())) if whole and whole.field is None else None
        else:
            key = None
        if key is not None:
            result[expression.exprId().id()] = key
    return result


def fingerprint(spark: SparkSession, query_over: Callable[[DataFrame], DataFrame], source_schema: StructType) -> str:
    """Changes when the query, its input schema or its output schema changes — not when the data does.

    The query is planned over an empty input of the source's schema, so no snapshot version
    of the source enters the plan.
    """
    frame = query_over(spark.createDataFrame([], source_schema))
    # The canonical plan's text names no expression ids or data, so it is stable across sessions.
    canonical = frame._jdf.queryExecution().analyzed().canonicalized().toString()
    return hashlib.sha256(f"{canonical}\n{frame.schema.json()}".encode()).hexdigest()


# Functions whose value changes while the inputs do not: such a view is always recomputed.
_CLOCK_FUNCTIONS = re.compile(r"current_timestamp|current_date|current_time|localtimestamp|now\(", re.IGNORECASE)
_FILE_RELATION = "org.apache.spark.sql.execution.datasources.HadoopFsRelation"
_DELTA_FILE_INDEX = "org.apache.spark.sql.delta.files.TahoeLogFileIndex"
# A scan of a given list of a version's files (small_tables.read_table's).
_DELTA_FILE_LIST = "org.apache.spark.sql.delta.files.TahoeBatchFileIndex"


def input_signature(spark: SparkSession, frame: DataFrame) -> str | None:
    """Changes when the query or anything it reads changes.

    A Delta table is identified by its id and the version the query reads: that names its
    data exactly, and the log says it without the Spark jobs that listing the table's files
    would run. Any other file source by its files (path, size, modification time).
    ``None`` when unchanged inputs would not prove an unchanged result: a non-deterministic
    query, a clock function, or an input that is not a set of files (Delta tables and file
    sources are). A view whose signature matches its last refresh needs no refresh at all.
    """
    plan = frame._jdf.queryExecution().analyzed()
    canonical = plan.canonicalized().toString()
    if not plan.deterministic() or _CLOCK_FUNCTIONS.search(canonical):
        return None
    jvm = spark.sparkContext._jvm
    file_relation = jvm.java.lang.Class.forName(_FILE_RELATION)
    inputs: list[str] = []
    leaves = plan.collectLeaves()
    for index in range(leaves.size()):
        leaf = leaves.apply(index)
        if leaf.getClass().getSimpleName() != "LogicalRelation" or not file_relation.isInstance(leaf.relation()):
            return None
        location = leaf.relation().location()
        index = location.getClass().getName()  # (Delta's jar is not on Class.forName's path)
        if index == _DELTA_FILE_INDEX:
            inputs.append(_delta_input(location))
        elif index == _DELTA_FILE_LIST:
            snapshot = location.snapshot()
            listed = f"{location.addFiles().size()} {location.sizeInBytes()}"
            inputs.append(f"delta {snapshot.metadata().id()} {snapshot.version()} files {listed}")
        else:
            inputs.extend(_file_inputs(spark, location.inputFiles()))
    text = "\n".join([canonical, frame.schema.json(), *sorted(inputs)])
    return hashlib.sha256(text.encode()).hexdigest()


def _delta_input(location: Any) -> str:
    """``delta <table id> <version>`` for the version a Delta scan reads (a pinned one, or the latest)."""
    snapshot = location if location.isTimeTravelQuery() else updated_snapshot(location.deltaLog())
    return f"delta {snapshot.metadata().id()} {snapshot.version()}"


def _file_inputs(spark: SparkSession, names: Any) -> list[str]:
    jvm = spark.sparkContext._jvm
    hadoop_conf = spark.sparkContext._jsc.hadoopConfiguration()
    described = []
    for name in names:
        path = jvm.org.apache.hadoop.fs.Path(name)
        status = path.getFileSystem(hadoop_conf).getFileStatus(path)
        described.append(f"{name} {status.getLen()} {status.getModificationTime()}")
    return described


def _columns(schema: StructType) -> list[tuple[str, str]]:
    # Delta stores every column as nullable, so nullability is no difference worth a recompute.
    return [(field.name, field.dataType.simpleString()) for field in schema.fields]


def _null_safe_match(keys: list[str], left: str, right: str) -> Column:
    return reduce(
        lambda condition, key: condition & F.col(f"{left}.`{key}`").eqNullSafe(F.col(f"{right}.`{key}`")),
        keys,
        F.lit(True),
    )


def refresh_groups(
    spark: SparkSession,
    query_over: Callable[[DataFrame], DataFrame],
    source_path: str,
    target_path: str,
    state_file: Path,
    dataset: str | None = None,
) -> IncrementalPlan:
    """MERGE the groups touched since the last refresh, or say why a complete recompute is needed.

    ``query_over(source)`` evaluates the view's query with its one input replaced by ``source``.
    On success the state is saved; after a complete recompute call :func:`remember_refresh`.
    ``dataset`` names the view, for fault points restricted to one dataset.
    """
    now = delta_version(spark, source_path)
    state = RefreshState.load(state_file)
    if now is None or state is None or not (Path(target_path) / "_delta_log").is_dir():
        return _recompute("first refresh")
    full_source = read_table(spark, source_path, now.version)
    full = query_over(full_source)
    keys = group_keys(full)
    if keys is None:
        return _recompute("the query is not a group aggregate whose keys are all in its output")
    if state.fingerprint != fingerprint(spark, query_over, full_source.schema):
        return _recompute("the query or its input schema changed")
    if state.source.table_id != now.table_id or state.source.version > now.version:
        return _recompute("the source was refreshed in full")
    if _columns(spark.read.format("delta").load(target_path).schema) != _columns(full.schema):
        return _recompute("the view's schema changed")
    if state.source.version == now.version:
        return IncrementalPlan("NO_OP", "no new rows in the source since the last refresh")
    changes = (
        spark.read.format("delta")
        .option("readChangeFeed", "true")
        .option("startingVersion", state.source.version + 1)
        .option("endingVersion", now.version)
        .load(source_path)
    )
    # The log says whether rows were only added, with no Spark job; the change feed answers
    # when the commits have been cleaned out of the log.
    only_inserts = only_rows_added(source_path, state.source.version + 1, now.version)
    if only_inserts is None:
        only_inserts = not changes.where(F.col("_change_type") != "insert").limit(1).count()
    if not only_inserts:
        return _recompute("rows of the source were updated or deleted")
    touched = query_over(changes.drop(*_CHANGE_COLUMNS)).select(*keys).distinct()
    recomputed = full.alias("view").join(touched.alias("touched"), _null_safe_match(keys, "view", "touched"),
                                         "left_semi")  # fmt: skip
    size = table_size(target_path)
    with fault_window("during_merge", table_path=target_path, dataset=dataset):
        if size is not None and size <= REWRITE_MAX_BYTES:
            written = _rewrite_groups(spark, target_path, recomputed, touched, keys)
        else:
            written = _merge_groups(spark, target_path, recomputed, keys)
    # A crash here re-reads these versions next time: recomputing a group from the full source
    # and MERGEing it again gives the same row, so the MERGE may safely happen twice.
    fault_point("after_merge", dataset=dataset)
    RefreshState(state.fingerprint, now).save(state_file)
    return IncrementalPlan("GROUP_AGGREGATE", f"recomputed the groups touched by versions "
                           f"{state.source.version + 1}-{now.version} of the source", written)  # fmt: skip


def _merge_groups(spark: SparkSession, target_path: str, recomputed: DataFrame, keys: list[str]) -> int:
    """MERGE the recomputed groups into the view: Delta rewrites only the files that hold one."""
    merge = (
        DeltaTable.forPath(spark, target_path)
        .alias("target")
        .merge(recomputed.alias("source"), _null_safe_match(keys, "target", "source"))
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
    )
    metrics = merge.execute()
    return int(metrics.first()["num_affected_rows"]) if metrics is not None else 0


def _rewrite_groups(
    spark: SparkSession, target_path: str, recomputed: DataFrame, touched: DataFrame, keys: list[str]
) -> int:
    """The MERGE's result in one pass: the untouched groups as they are, then the recomputed ones.

    For a small view MERGE's first pass (a join to find the files holding a touched group)
    costs more than it saves: nearly every file holds one, and MERGE rewrites them anyway.
    """
    counted = Observation("recomputed groups")
    untouched = (
        read_table(spark, target_path).alias("view")
        .join(touched.alias("touched"), _null_safe_match(keys, "view", "touched"), "left_anti")
    )  # fmt: skip
    # Both joins read the same touched groups: Spark reuses that broadcast, the change feed is read once.
    rows = untouched.unionByName(recomputed.observe(counted, F.count(F.lit(1)).alias("rows")))
    replace_rows(rows, target_path, lambda frame: frame.write.format("delta").mode("overwrite").save(target_path))
    return int(counted.get.get("rows") or 0)


def remember_refresh(
    spark: SparkSession,
    query_over: Callable[[DataFrame], DataFrame],
    source: DataFrame,
    version: SourceVersion,
    state_file: Path,
) -> None:
    """After a complete recompute from ``source`` at ``version``, let the next refresh be incremental."""
    if group_keys(query_over(source)) is not None:
        RefreshState(fingerprint(spark, query_over, source.schema), version).save(state_file)
