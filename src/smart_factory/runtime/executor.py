"""Run one pipeline update: flows in dependency order, each table written once.

Streaming tables read incrementally with their own checkpoints (everything available,
then stop); materialized views are recomputed and replaced. Each write applies the
dataset's expectations in the same pass. A failing flow fails the update: its own table
keeps its previous version, flows downstream of it are skipped, flows already committed
stay committed (Delta has no multi-table transactions) — and the event log says which.
"""

from __future__ import annotations

import contextvars
import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pyspark.sql import DataFrame, SparkSession

from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse.catalog import register_table
from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.runtime.cloud_files.source import managed_schema_location
from smart_factory.runtime.delta_txn import log_start_version, table_properties
from smart_factory.runtime.event_log import EventLog
from smart_factory.runtime.expectations import (
    ExpectationCheck,
    QualityMetrics,
    expectation_at_fault,
    expectation_failure_from,
)
from smart_factory.runtime.failure_causes import FailureCause, failure_cause
from smart_factory.runtime.incremental import (
    CHANGE_FEED_PROPERTY,
    COMPLETE_RECOMPUTE,
    IncrementalPlan,
    delta_version,
    input_signature,
    refresh_groups,
    remember_refresh,
)
from smart_factory.runtime.ingestion import IngestionResult, append_idempotently, ingest_available
from smart_factory.runtime.planner import PipelineGraph, PlannedDataset, PlannedFlow
from smart_factory.runtime.progress_watch import ProgressWatch
from smart_factory.runtime.reading import dataset_name, reading_with
from smart_factory.runtime.small_tables import read_table, replace_rows
from smart_factory.testing.fault_points import fault_point, fault_window

REFRESH_STATE_FILE = "refresh_state.json"


def signature_file(refresh_state: Path) -> Path:
    """Where a view's input signature is kept: next to its refresh state."""
    return refresh_state.with_name("input_signature.txt")


FlowState = Literal["QUEUED", "STARTING", "RUNNING", "COMPLETED", "FAILED", "SKIPPED"]


@dataclass
class FlowRun:
    name: str
    dataset: str
    state: FlowState = "QUEUED"
    metrics: QualityMetrics | None = None
    error: str | None = None
    seconds: float = 0.0
    cause: FailureCause | None = None  # what made it fail, for the event log's error field


@dataclass
class PipelineLayout:
    """Where one pipeline keeps its tables, checkpoints and inferred schemas."""

    storage: StoragePaths
    pipeline_dir: Path
    target: str

    def table_path(self, dataset: PlannedDataset) -> str:
        if dataset.definition.path:
            return dataset.definition.path
        if dataset.definition.temporary:
            return str(self.pipeline_dir / "tables" / dataset.name)
        return str(self.storage.table(f"{self.target}.{dataset.name}"))

    def checkpoint(self, flow: PlannedFlow) -> str:
        return str(self.pipeline_dir / "checkpoints" / flow.dataset / flow.definition.name)

    def schema_location(self, dataset: str, flow: str) -> str:
        return str(self.pipeline_dir / "schemas" / dataset / flow)

    @property
    def ledger_path(self) -> str:
        return str(self.storage.table(f"{self.target}.ingestion_ledger"))

    def reset(self, dataset: PlannedDataset) -> None:
        """Full refresh: forget the table's data, checkpoints and inferred schemas."""
        for folder in (
            Path(self.table_path(dataset)),
            self.pipeline_dir / "checkpoints" / dataset.name,
            self.pipeline_dir / "schemas" / dataset.name,
        ):
            shutil.rmtree(folder, ignore_errors=True)


class _ExecutionReader:
    """``dlt.read*`` during an update: the Delta tables written earlier in this update."""

    def __init__(
        self, spark: SparkSession, graph: PipelineGraph, layout: PipelineLayout,
        replaced: dict[str, DataFrame] | None = None, checkpoint: str | None = None,
    ) -> None:  # fmt: skip
        self.spark, self.graph, self.layout = spark, graph, layout
        self.replaced = replaced or {}  # dataset name -> the frame to read instead (an incremental refresh)
        self.checkpoint = checkpoint  # the reading flow's

    def owns(self, name: str) -> bool:
        return dataset_name(name, self.layout.target) in self.graph.datasets

    def read(self, name: str, streaming: bool) -> DataFrame:
        dataset = self.graph.datasets[dataset_name(name, self.layout.target)]
        if dataset.name in self.replaced and not streaming:
            return self.replaced[dataset.name]
        if dataset.kind == "view":
            return dataset.flows[0].definition.query()
        path = self.layout.table_path(dataset)
        if not streaming:
            return read_table(self.spark, path)
        reader = self.spark.readStream.format("delta")
        start = log_start_version(path, self.checkpoint) if self.checkpoint else None
        if start is not None:
            reader = reader.option("startingVersion", str(start))
        return reader.load(path)


@dataclass
class UpdateExecutor:
    spark: SparkSession
    graph: PipelineGraph
    layout: PipelineLayout
    events: EventLog
    on_progress: Callable[[FlowRun], None] = lambda run: None
    max_parallel_flows: int = 3
    watch: ProgressWatch | None = None  # reports flows that stop moving; cancels the update's Spark jobs
    flow_runs: dict[str, FlowRun] = field(default_factory=dict)
    # Ledger writes, run beside the flows downstream; the update waits for them at its end.
    _bookkeeping: list[Future[None]] = field(default_factory=list)
    _pool: ThreadPoolExecutor | None = None

    def __post_init__(self) -> None:
        for dataset in self.graph.stored():
            for flow in dataset.flows:
                self.flow_runs[flow.definition.name] = FlowRun(flow.definition.name, dataset.name)

    def run(self) -> list[FlowRun]:
        """Run every stored dataset's flows, independent datasets side by side.

        A dataset starts once everything upstream of it has finished; independent branches
        (silver and quarantine, the registry) overlap, which hides Spark's per-query and
        per-commit latency on small updates. A dataset with its own ``spark_conf`` runs alone,
        since session settings are shared by every thread.
        """
        stored = self.graph.stored()
        upstream = {dataset.name: self._stored_upstream(dataset.name) for dataset in stored}
        pending = [dataset.name for dataset in stored]  # dependencies first
        finished: set[str] = set()
        failed: set[str] = set()
        with ThreadPoolExecutor(max_workers=self.max_parallel_flows, thread_name_prefix="flow") as pool:
            self._pool = pool
            running: dict[Future[None], str] = {}
            try:
                while pending or running:
                    if self.cancelled:
                        self._skip_cancelled(pending)
                        pending.clear()
                    for name in list(pending):
                        if not upstream[name] <= finished or not self._may_start(name, running):
                            continue
                        pending.remove(name)
                        context = contextvars.copy_context()  # each flow sets its own reader and schema location
                        running[pool.submit(context.run, self._run_dataset, name, failed)] = name
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()
                        finished.add(running.pop(future))
            except BaseException:
                # Ctrl+C (or any error here): the running flows' Spark jobs are cancelled, so the
                # pool's shutdown below waits for flows that are ending, not for a stuck task.
                self.cancel()
                raise
            for future in self._bookkeeping:
                future.result()  # a ledger that could not be written fails the update, named
        return list(self.flow_runs.values())

    @property
    def cancelled(self) -> bool:
        return self.watch is not None and self.watch.cancelled.is_set()

    def cancel(self) -> None:
        """Cancel the running flows' Spark jobs and start no other flow; the update ends CANCELED."""
        if self.watch is not None:
            self.watch.cancel()

    def _skip_cancelled(self, pending: list[str]) -> None:
        for name in pending:
            for flow in self.graph.datasets[name].flows:
                run = self.flow_runs[flow.definition.name]
                self._set_state(run, "SKIPPED", message="skipped: the update was cancelled")

    def _in_background(self, job: Callable[[], None]) -> None:
        if self._pool is None:
            job()
            return
        self._bookkeeping.append(self._pool.submit(contextvars.copy_context().run, job))

    def _may_start(self, name: str, running: dict[Future[None], str]) -> bool:
        alone = self._has_own_conf(name) or any(self._has_own_conf(other) for other in running.values())
        return not (alone and running)

    def _has_own_conf(self, name: str) -> bool:
        return any(flow.definition.spark_conf for flow in self.graph.datasets[name].flows)

    def _stored_upstream(self, name: str) -> set[str]:
        """The stored datasets ``name`` reads, looking through views."""
        found: set[str] = set()
        for source in self.graph.datasets[name].inputs:
            if self.graph.datasets[source].kind == "view":
                found |= self._stored_upstream(source)
            else:
                found.add(source)
        return found

    def _run_dataset(self, name: str, failed: set[str]) -> None:
        dataset = self.graph.datasets[name]
        blocked = self._failed_upstream(dataset, failed)
        for flow in dataset.flows:
            run = self.flow_runs[flow.definition.name]
            if blocked:
                self._set_state(run, "SKIPPED", message=f"skipped: upstream '{blocked}' failed")
                continue
            self._run_flow(dataset, flow, run)
            if run.state == "FAILED":
                failed.add(dataset.name)
        if dataset.name not in failed and not blocked:
            self._publish(dataset)

    def _publish(self, dataset: PlannedDataset) -> None:
        """Make a target-schema table queryable by name (``smart_factory.<table>``)."""
        if dataset.definition.temporary or dataset.definition.path:
            return
        if (Path(self.layout.table_path(dataset)) / "_delta_log").is_dir():
            register_table(self.spark, self.layout.storage, f"{self.layout.target}.{dataset.name}")

    def _failed_upstream(self, dataset: PlannedDataset, failed: set[str]) -> str | None:
        pending = list(dataset.inputs)
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in failed:
                return name
            if name not in seen:
                seen.add(name)
                pending.extend(self.graph.datasets[name].inputs)
        return None

    def _run_flow(self, dataset: PlannedDataset, flow: PlannedFlow, run: FlowRun) -> None:
        with self.watch.flow(run.name, run.dataset) if self.watch else nullcontext():
            self._run_watched_flow(dataset, flow, run)

    def _run_watched_flow(self, dataset: PlannedDataset, flow: PlannedFlow, run: FlowRun) -> None:
        started = time.perf_counter()
        self._set_state(run, "STARTING")
        self._set_state(run, "RUNNING")
        try:
            with self._flow_context(flow):
                if dataset.kind == "streaming_table":
                    run.metrics = self._run_streaming(dataset, flow)
                else:
                    run.metrics = self._refresh_materialized_view(dataset, flow)
            self._apply_table_properties(dataset)
        except Exception as error:  # a flow's failure is recorded, never crashes the update
            run.cause = self._cause_of(error, dataset)
            run.error = run.cause.summary
            run.seconds = time.perf_counter() - started
            self._set_state(run, "FAILED", level="ERROR", error=run.cause)
            return
        run.seconds = time.perf_counter() - started
        self._set_state(run, "COMPLETED")

    def _cause_of(self, error: BaseException, dataset: PlannedDataset) -> FailureCause:
        """What made a flow fail: a broken ``fail`` rule, our own error, or the layer of Spark's error that says."""
        if self.cancelled:
            return FailureCause("UpdateCancelled", None, "cancelled with the update (its Spark jobs were stopped)")
        failure = expectation_failure_from(error) or (error if isinstance(error, SmartFactoryError) else None)
        if failure is not None:
            return FailureCause(type(failure).__name__, None, str(failure))
        return expectation_at_fault(failure_cause(error, self._user_files()), dataset.expectations)

    def _user_files(self) -> list[str]:
        """The pipeline's own source files, where a failing UDF or table function is looked for."""
        return sorted({flow.definition.location.file for d in self.graph.datasets.values() for flow in d.flows})

    @contextmanager
    def _flow_context(self, flow: PlannedFlow) -> Iterator[None]:
        token = managed_schema_location.set(self.layout.schema_location(flow.dataset, flow.definition.name))
        saved_conf = {key: self.spark.conf.get(key, None) for key in flow.definition.spark_conf}
        for key, value in flow.definition.spark_conf.items():
            self.spark.conf.set(key, value)
        try:
            checkpoint = self.layout.checkpoint(flow)
            with reading_with(_ExecutionReader(self.spark, self.graph, self.layout, checkpoint=checkpoint)):
                yield
        finally:
            managed_schema_location.reset(token)
            for key, value in saved_conf.items():
                if value is None:
                    self.spark.conf.unset(key)
                else:
                    self.spark.conf.set(key, value)

    def _run_streaming(self, dataset: PlannedDataset, flow: PlannedFlow) -> QualityMetrics:
        table_path = self.layout.table_path(dataset)
        totals = QualityMetrics.empty(dataset.name, dataset.expectations)
        checks: list[ExpectationCheck] = []

        def with_expectations(batch: DataFrame) -> DataFrame:
            checks.append(ExpectationCheck(dataset.name, dataset.expectations))
            return checks[-1].apply(batch)

        append = append_idempotently(
            table_path,
            prepare=with_expectations,
            # The change feed lets materialized views over this table refresh incrementally.
            options={CHANGE_FEED_PROPERTY: "true", **_table_properties(dataset)},
            partition_columns=dataset.definition.partition_cols,
            dataset=dataset.name,
        )

        batch_failures: list[BaseException] = []

        def write_batch(batch: DataFrame, batch_id: int, app_id: str) -> None:
            nonlocal totals
            checks.clear()
            if self.watch:
                self.watch.adopt(flow.definition.name)
            try:
                append(batch, batch_id, app_id)
            except Exception as error:
                # Py4J hands the JVM only this error's traceback as text, and the query fails
                # with that text as its cause; the error itself still knows its Spark error class.
                batch_failures.append(error)
                raise
            if self.watch:
                self.watch.progressed(flow.definition.name)
            if checks:  # not a replayed batch: its metrics were observed while it was written
                totals = totals + checks[0].metrics()

        with _raising_batch_failure(batch_failures):
            ingested = self._ingest(dataset, flow, write_batch)
        for notice in ingested.notices:  # files not read (too large) or changed since they were read
            self.events.emit("notice", notice, {"notice": notice}, level="WARN", flow_name=flow.definition.name,
                             dataset_name=dataset.name)  # fmt: skip
        return totals

    def _ingest(
        self, dataset: PlannedDataset, flow: PlannedFlow, write_batch: Callable[[DataFrame, int, str], None]
    ) -> IngestionResult:
        return ingest_available(
            self.spark,
            flow.definition.query,
            self.layout.table_path(dataset),
            self.layout.checkpoint(flow),
            write_batch=write_batch,
            ledger_path=self.layout.ledger_path,
            run_id=self.events.update_id,
            dataset=dataset.name,
            record_ledger_with=self._in_background,
        )

    def _refresh_materialized_view(self, dataset: PlannedDataset, flow: PlannedFlow) -> QualityMetrics:
        source = self._aggregated_stream(dataset)
        if source is None:
            return self._refresh_whole(dataset, flow)
        source_path = self.layout.table_path(source)
        state_file = Path(self.layout.checkpoint(flow)) / REFRESH_STATE_FILE

        def query_over(frame: DataFrame) -> DataFrame:
            with reading_with(_ExecutionReader(self.spark, self.graph, self.layout, {source.name: frame})):
                return flow.definition.query()

        plan = refresh_groups(
            self.spark, query_over, source_path, self.layout.table_path(dataset), state_file, dataset=dataset.name
        )
        if plan.technique == COMPLETE_RECOMPUTE:
            version = delta_version(self.spark, source_path)
            source_frame = read_table(self.spark, source_path, version.version if version else None)
            metrics = self._recompute(dataset, query_over(source_frame))
            if version is not None:
                remember_refresh(self.spark, query_over, source_frame, version, state_file)
            plan = replace(plan, rows_written=metrics.output_rows)
        else:
            metrics = QualityMetrics(plan.rows_written, 0, ())
        self._emit_plan(dataset, flow, plan)
        return metrics

    def _refresh_whole(self, dataset: PlannedDataset, flow: PlannedFlow) -> QualityMetrics:
        """Recompute a view that cannot be refreshed by groups, unless none of the files it reads changed."""
        frame = flow.definition.query()
        saved = signature_file(Path(self.layout.checkpoint(flow)) / REFRESH_STATE_FILE)
        signature = input_signature(self.spark, frame)
        if signature is not None:
            # The view's rows also depend on its rules: a rule added or changed is a new definition.
            rules = "\n".join(f"{e.action} {e.name} {e.constraint}" for e in dataset.expectations)
            signature = hashlib.sha256(f"{signature}\n{rules}".encode()).hexdigest()
        table_exists = (Path(self.layout.table_path(dataset)) / "_delta_log").is_dir()
        if signature is not None and table_exists and saved.is_file() and saved.read_text() == signature:
            self._emit_plan(dataset, flow, IncrementalPlan("NO_OP", "none of the files it reads changed"))
            return QualityMetrics(0, 0, ())
        saved.unlink(missing_ok=True)  # a recompute that fails half-way must not be taken for done
        metrics = self._recompute(dataset, frame)
        if signature is not None:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(signature)
        reason = "its inputs changed" if signature else "the query reads a clock, randomness or data not in files"
        self._emit_plan(dataset, flow, IncrementalPlan(COMPLETE_RECOMPUTE, reason, metrics.output_rows))
        return metrics

    def _emit_plan(self, dataset: PlannedDataset, flow: PlannedFlow, plan: IncrementalPlan) -> None:
        self.events.emit(
            "planning_information",
            f"Flow '{flow.definition.name}' was refreshed with {plan.technique}: {plan.reason}.",
            {"technique_information": [{"maintenance_type": f"MAINTENANCE_TYPE_{plan.technique}",
                                        "is_chosen": True, "is_applicable": True}]},
            flow_name=flow.definition.name,
            dataset_name=dataset.name,
        )  # fmt: skip

    def _apply_table_properties(self, dataset: PlannedDataset) -> None:
        """Set ``table_properties`` Delta did not take from the writer (it keeps only ``delta.*`` options)."""
        wanted = {key: str(value) for key, value in dataset.definition.table_properties.items()}
        path = self.layout.table_path(dataset)
        current = table_properties(self.spark, path)
        missing = {key: value for key, value in wanted.items() if current.get(key) != value}
        if missing and (Path(path) / "_delta_log").is_dir():
            assignments = ", ".join(f"{_sql_string(key)} = {_sql_string(value)}" for key, value in missing.items())
            self.spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({assignments})")

    def _aggregated_stream(self, dataset: PlannedDataset) -> PlannedDataset | None:
        """The one streaming table a materialized view reads, when it could be refreshed by groups."""
        if dataset.expectations or len(dataset.flows) != 1 or len(dataset.inputs) != 1:
            return None
        source = self.graph.datasets[next(iter(dataset.inputs))]
        return source if source.kind == "streaming_table" else None

    def _recompute(self, dataset: PlannedDataset, frame: DataFrame) -> QualityMetrics:
        """Replace the view's data; the caller then saves the refresh state that says from what."""
        check = ExpectationCheck(dataset.name, dataset.expectations)
        table_path = self.layout.table_path(dataset)

        def overwrite(rows: DataFrame) -> None:
            writer = rows.write.format("delta").mode("overwrite").option("overwriteSchema", "true")
            _with_layout_options(writer, dataset).save(table_path)

        with fault_window("during_merge", table_path=table_path, dataset=dataset.name):
            replace_rows(check.apply(frame), table_path, overwrite, dataset.definition.partition_cols)
        fault_point("after_recompute", dataset=dataset.name)
        return check.metrics()

    def _set_state(self, run: FlowRun, state: FlowState, *, level: str = "INFO", error: FailureCause | None = None,
                   message: str | None = None) -> None:  # fmt: skip
        run.state = state
        details: dict[str, Any] = {"status": state}
        if state == "COMPLETED" and run.metrics is not None:
            details["metrics"] = {
                "num_output_rows": run.metrics.output_rows,
                "executor_time_ms": int(run.seconds * 1000),
            }
            details["data_quality"] = {
                "dropped_records": run.metrics.dropped_records,
                "expectations": [
                    {"name": r.name, "dataset": r.dataset, "passed_records": r.passed_records,
                     "failed_records": r.failed_records}
                    for r in run.metrics.expectations
                ],
            }  # fmt: skip
        self.events.emit(
            "flow_progress",
            message or f"Flow '{run.name}' is {state}." + (f" {error.summary}" if error else ""),
            details,
            level=level,
            flow_name=run.name,
            dataset_name=run.dataset,
            error=error,
        )
        if self.watch:
            self.watch.progressed(run.name)
        self.on_progress(run)


@contextmanager
def _raising_batch_failure(batch_failures: list[BaseException]) -> Iterator[None]:
    """Let the error a micro-batch raised, rather than the query's wrapper of it, fail the flow."""
    try:
        yield
    except Exception as error:
        if not batch_failures or isinstance(error, SmartFactoryError):
            raise
        raise batch_failures[-1] from error


def _with_layout_options(writer: Any, dataset: PlannedDataset) -> Any:
    if dataset.definition.partition_cols:
        writer = writer.partitionBy(*dataset.definition.partition_cols)
    return writer.options(**_table_properties(dataset))


def _table_properties(dataset: PlannedDataset) -> dict[str, str]:
    return {key: str(value) for key, value in dataset.definition.table_properties.items()}


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
