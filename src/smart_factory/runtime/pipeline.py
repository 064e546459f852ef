"""A pipeline: settings, its source files, and updates — the notebook and CLI entry point.

pipeline = Pipeline.load("pipelines/pipeline.yml")
pipeline.validate()          # plan only: every problem, with file and line
update = pipeline.run()      # one triggered update
update.state                 # "COMPLETED"
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession

from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse import get_spark, storage_of
from smart_factory.lakehouse.catalog import register_table
from smart_factory.lakehouse.volumes import resolve_path
from smart_factory.runtime.cloud_files import install_cloud_files
from smart_factory.runtime.event_log import EVENT_LOG_TABLE, FINAL_UPDATE_STATES, EventLog
from smart_factory.runtime.executor import FlowRun, PipelineLayout, UpdateExecutor
from smart_factory.runtime.failure_causes import failure_cause
from smart_factory.runtime.graph import LiveGraph
from smart_factory.runtime.ingestion import exclusive_run
from smart_factory.runtime.loader import load_pipeline_files
from smart_factory.runtime.ownership import PIPELINE_ID_FILE, PipelineOwner, claim_tables, default_pipeline_id
from smart_factory.runtime.planner import PipelineGraph, plan_pipeline
from smart_factory.runtime.progress_watch import ProgressWatch, Stall, progress_timeout
from smart_factory.runtime.settings import PipelineSettings
from smart_factory.runtime.unfinished import UnfinishedUpdates
from smart_factory.testing.fault_points import fault_point

UpdateState = str  # INITIALIZING, SETTING_UP_TABLES, RUNNING, COMPLETED, FAILED, CANCELED
_KEPT = "each table keeps its last committed version, and the next update carries on from there"


@dataclass
class UpdateResult:
    update_id: str
    state: UpdateState
    flows: list[FlowRun] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    graph: PipelineGraph | None = None  # the plan the update ran, for drawing it

    def flow(self, name: str) -> FlowRun:
        return next(run for run in self.flows if run.name == name)


@dataclass
class Pipeline:
    settings: PipelineSettings
    spark: SparkSession
    _watch: ProgressWatch | None = field(default=None, init=False, repr=False)  # the running update's

    @classmethod
    def load(cls, settings_file: str | Path, spark: SparkSession | None = None) -> Pipeline:
        settings = PipelineSettings.load(settings_file)
        return cls(settings, spark or get_spark())

    @property
    def layout(self) -> PipelineLayout:
        storage = storage_of(self.spark)
        folder = (
            Path(resolve_path(self.settings.storage))
            if self.settings.storage
            else storage.pipelines / self.settings.name
        )
        return PipelineLayout(storage, folder, self.settings.target)

    @property
    def pipeline_id(self) -> str:
        id_file = self.layout.pipeline_dir / PIPELINE_ID_FILE
        if not id_file.exists():
            id_file.parent.mkdir(parents=True, exist_ok=True)
            id_file.write_text(default_pipeline_id(self.settings.name))
        return id_file.read_text().strip()

    @property
    def event_log_path(self) -> str:
        return str(self.layout.storage.table(f"{self.settings.target}.{EVENT_LOG_TABLE}"))

    def validate(self) -> PipelineGraph:
        """Load the files and plan the graph; raises with every problem found. Writes no data.

        Tables another pipeline owns are refused here, before any flow starts (``runtime/ownership.py``).
        """
        install_cloud_files()
        for key, value in self.settings.configuration.items():
            self.spark.conf.set(key, value)
        registry = load_pipeline_files(list(self.settings.libraries), self.spark)
        graph = plan_pipeline(self.spark, registry, self.settings.target, self.layout.schema_location)
        return claim_tables(self.spark, graph, self.layout, PipelineOwner(self.pipeline_id, self.settings.name))

    def run(
        self,
        full_refresh: bool | list[str] = False,
        on_progress: Callable[[FlowRun], None] | None = None,
        show_graph: bool = False,
        on_stall: Callable[[Stall], None] | None = None,
    ) -> UpdateResult:
        """One triggered update. Refused if another process is running this pipeline.

        ``show_graph`` draws the pipeline graph in the notebook cell and redraws it in place
        as each flow starts and finishes. A flow that makes no progress for
        ``smart_factory.flowProgressTimeout`` seconds is reported in the event log and to
        ``on_stall`` (called from a watcher thread); :meth:`cancel` or Ctrl+C ends the update
        as CANCELED.
        """
        started = time.perf_counter()
        layout = self.layout
        update_id = str(uuid.uuid4())
        events = EventLog(self.spark, self.event_log_path, self.pipeline_id, self.settings.name, update_id,
                          self.settings.target)  # fmt: skip
        result = UpdateResult(update_id, "INITIALIZING")
        unfinished = UnfinishedUpdates(layout.pipeline_dir)
        # Everything that writes the event log happens under the lock, the final write included:
        # a marker found by the lock's next holder then surely belongs to a dead process.
        with exclusive_run(layout.pipeline_dir, what=f"pipeline {self.settings.name}"):
            self._close_unfinished_updates(events, unfinished)
            unfinished.start(update_id)
            try:
                self._run_update(events, result, full_refresh, on_progress, show_graph, on_stall)
            except KeyboardInterrupt:
                result.error = "interrupted (Ctrl+C): the running flows were stopped; " + _KEPT
                self._progress(events, result, "CANCELED", error=result.error)
                raise
            except SmartFactoryError as error:
                result.error = str(error)
                self._progress(events, result, "FAILED", error=result.error)
            except Exception as error:  # not ours to explain, but the update must not stay RUNNING
                result.error = failure_cause(error).summary
                self._progress(events, result, "FAILED", error=result.error)
                raise
            finally:
                fault_point("before_event_log_write")
                events.flush()
                events.checkpoint_soon()
                # Anything else that ends the update here (a SystemExit, say) left no final state:
                # the marker stays, and the next update records this one as FAILED.
                if result.state in FINAL_UPDATE_STATES:
                    unfinished.finish(update_id)
                self._publish_event_log()
        result.seconds = time.perf_counter() - started
        return result

    def _run_update(
        self,
        events: EventLog,
        result: UpdateResult,
        full_refresh: bool | list[str],
        on_progress: Callable[[FlowRun], None] | None,
        show_graph: bool,
        on_stall: Callable[[Stall], None] | None,
    ) -> None:
        events.emit("create_update", f"Update {result.update_id[:8]} started.",
                    {"cause": "API_CALL", "full_refresh": bool(full_refresh)})  # fmt: skip
        events.flush_soon()  # committed while the pipeline is planned (which writes nothing)
        self._progress(events, result, "INITIALIZING")
        for notice in self.settings.notices:
            events.emit("notice", notice, {"notice": notice}, level="WARN")
        self._progress(events, result, "SETTING_UP_TABLES")
        graph = result.graph = self.validate()
        self._emit_definitions(events, graph)
        layout = self.layout
        events.wait()  # the record that this update started is in the log before any table changes
        self._apply_full_refresh(graph, layout, full_refresh)
        self._progress(events, result, "RUNNING")
        live = LiveGraph(self.settings.name) if show_graph else None

        def progress(run: FlowRun) -> None:
            if live:
                live.update(run)
            if on_progress:
                on_progress(run)

        def stalled(stall: Stall) -> None:
            events.emit("notice", stall.message, {"flow_stalled": {"since": stall.since.isoformat(),
                        "seconds": round(stall.seconds), "spark_jobs": list(stall.jobs)}},
                        level="WARN", flow_name=stall.flow, dataset_name=stall.dataset)  # fmt: skip
            if on_stall:
                on_stall(stall)

        timeout = progress_timeout(self.settings.configuration)
        watch = self._watch = ProgressWatch(self.spark, result.update_id, timeout, stalled)
        executor = UpdateExecutor(self.spark, graph, layout, events, progress, watch=watch)
        if live:
            live.start(graph, list(executor.flow_runs.values()))
        try:
            with watch.watching():
                result.flows = executor.run()
        finally:
            self._watch = None
        failed = [run for run in result.flows if run.state == "FAILED"]
        if watch.cancelled.is_set():
            result.error = "cancelled: the running flows were stopped; " + _KEPT
            self._progress(events, result, "CANCELED", error=result.error)
            return
        if failed:
            result.error = "; ".join(f"flow '{run.name}' failed: {run.error}" for run in failed)
        self._progress(events, result, "FAILED" if failed else "COMPLETED", error=result.error)

    def cancel(self) -> None:
        """Cancel the running update (from another thread): its Spark jobs stop, it ends CANCELED."""
        watch = self._watch
        if watch is not None:
            watch.cancel()

    def _close_unfinished_updates(self, events: EventLog, unfinished: UnfinishedUpdates) -> None:
        """Record as FAILED every earlier update whose process died before its final event-log write."""
        left_behind = unfinished.left_behind()
        # A process killed after its final write but before removing its marker did finish.
        finished = events.updates_with_final_state([update.update_id for update in left_behind])
        for update in left_behind:
            if update.update_id not in finished:
                closing = events.for_update(update.update_id)
                closing.emit("update_progress", update.message(),
                             {"state": "FAILED", "process_id": update.process_id, "started_at": update.started_at},
                             level="ERROR", error=update.message(), flush=True)  # fmt: skip
            unfinished.finish(update.update_id)

    def events(self) -> DataFrame:
        """The event log, newest last."""
        return (
            self.spark.read.format("delta")
            .load(self.event_log_path)
            .orderBy("timestamp", "sequence.control_plane_seq_no")
        )

    def _progress(self, events: EventLog, result: UpdateResult, state: UpdateState, error: str | None = None) -> None:
        result.state = state
        events.emit(
            "update_progress",
            f"Update {result.update_id[:8]} is {state}." + (f" {error}" if error else ""),
            {"state": state},
            level="ERROR" if state == "FAILED" else "INFO",
            error=error,
        )

    def _emit_definitions(self, events: EventLog, graph: PipelineGraph) -> None:
        for dataset in graph.datasets.values():
            for flow in dataset.flows:
                events.emit(
                    "flow_definition",
                    f"Flow '{flow.definition.name}' is defined as {dataset.kind.replace('_', ' ')} '{dataset.name}'.",
                    {
                        "output_dataset": dataset.name,
                        "input_datasets": sorted(flow.inputs),
                        "flow_type": dataset.kind,
                        "schema": [
                            {"name": f.name, "data_type": f.dataType.simpleString()} for f in flow.schema.fields
                        ],
                        "expectations": [
                            {"name": e.name, "constraint": e.constraint, "action": e.action}
                            for e in dataset.expectations
                        ],
                        "source_code_location": str(flow.definition.location),
                    },
                    flow_name=flow.definition.name,
                    dataset_name=dataset.name,
                )

    def _apply_full_refresh(self, graph: PipelineGraph, layout: PipelineLayout, full_refresh: bool | list[str]) -> None:
        if not full_refresh:
            return
        names = set(graph.datasets) if full_refresh is True else set(full_refresh)
        unknown = names - set(graph.datasets)
        if unknown:
            raise SmartFactoryError(f"--full-refresh names unknown datasets: {', '.join(sorted(unknown))}")
        for name in names:
            dataset = graph.datasets[name]
            if dataset.kind != "view":
                layout.reset(dataset)
                self.spark.sql(f"DROP TABLE IF EXISTS `{self.settings.target}`.`{name}`")

    def _publish_event_log(self) -> None:
        if (Path(self.event_log_path) / "_delta_log").is_dir():
            register_table(self.spark, self.layout.storage, f"{self.settings.target}.{EVENT_LOG_TABLE}")
