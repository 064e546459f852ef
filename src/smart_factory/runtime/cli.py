"""``smart-factory pipeline run|validate|graph|events``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from smart_factory.lakehouse.cli import add_lakehouse_arguments
from smart_factory.lakehouse.paths import checkout_root
from smart_factory.runtime.settings import PipelineSettings

if TYPE_CHECKING:  # Spark is imported only by the commands that need it
    from smart_factory.runtime.executor import FlowRun
    from smart_factory.runtime.pipeline import Pipeline

DEFAULT_SETTINGS = str((checkout_root() or Path.cwd()) / "pipelines" / "pipeline.yml")


def register(commands: argparse._SubParsersAction) -> None:
    pipeline = commands.add_parser("pipeline", help="validate, run and inspect the DLT pipeline")
    actions = pipeline.add_subparsers(dest="pipeline_command", required=True, metavar="ACTION")

    run = actions.add_parser("run", help="run one triggered update")
    _common(run)
    run.add_argument("--full-refresh", nargs="*", metavar="TABLE",
                     help="reset these tables (all of them if none is named) and reprocess their input")  # fmt: skip
    run.add_argument("--graph", type=Path, metavar="HTML", help="also write the pipeline graph to this file")
    run.set_defaults(handler=_run)

    validate = actions.add_parser("validate", help="plan the pipeline and report every problem; writes no data")
    _common(validate)
    validate.set_defaults(handler=_validate)

    graph = actions.add_parser("graph", help="draw the pipeline graph to an HTML file")
    _common(graph)
    graph.add_argument("--output", type=Path, default=Path("pipeline_graph.html"))
    graph.set_defaults(handler=_graph)

    events = actions.add_parser("events", help="show the latest events of the event log")
    _common(events)
    events.add_argument("--limit", type=int, default=30)
    events.set_defaults(handler=_events)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--settings", default=DEFAULT_SETTINGS, help="pipeline settings file (pipelines/pipeline.yml)")
    add_lakehouse_arguments(parser)


def _pipeline(args: argparse.Namespace) -> Pipeline:
    # The settings first: a missing or malformed file is reported at once, not after Spark's ~10 s start.
    settings = PipelineSettings.load(args.settings)
    from smart_factory.lakehouse import get_spark
    from smart_factory.runtime.pipeline import Pipeline

    return Pipeline(settings, get_spark(master=args.master, storage_root=args.storage_root))


def _run(args: argparse.Namespace) -> int:
    from smart_factory.runtime.graph import render_html

    pipeline = _pipeline(args)
    full_refresh: bool | list[str] = False if args.full_refresh is None else (args.full_refresh or True)

    def show(run: FlowRun) -> None:
        if run.state in ("COMPLETED", "FAILED", "SKIPPED"):
            rows = f"{run.metrics.output_rows:>9,} rows" if run.metrics else " " * 14
            print(f"  {run.state:<9} {run.name:<28} {rows}  {run.seconds:5.1f} s", flush=True)

    print(f"Update of {pipeline.settings.name} (target schema {pipeline.settings.target})", flush=True)
    update = pipeline.run(full_refresh=full_refresh, on_progress=show,
                          on_stall=lambda stall: print(f"  STALLED   {stall.message}", flush=True))  # fmt: skip
    print(f"{update.state} in {update.seconds:.1f} s" + (f": {update.error}" if update.error else ""))
    if args.graph and update.graph:
        args.graph.write_text(render_html(update.graph, update.flows, pipeline.settings.name))
        print(f"Graph written to {args.graph}")
    return 0 if update.state == "COMPLETED" else 1


def _validate(args: argparse.Namespace) -> int:
    graph = _pipeline(args).validate()
    for name in graph.order:
        dataset = graph.datasets[name]
        inputs = ", ".join(sorted(dataset.inputs)) or "-"
        print(f"  {dataset.kind:<18} {name:<28} <- {inputs}")
    print(f"{len(graph.order)} datasets, no problems found.")
    return 0


def _graph(args: argparse.Namespace) -> int:
    from smart_factory.runtime.graph import render_html

    pipeline = _pipeline(args)
    args.output.write_text(render_html(pipeline.validate(), None, pipeline.settings.name))
    print(f"Graph written to {args.output}")
    return 0


def _events(args: argparse.Namespace) -> int:
    from pyspark.sql import functions as F

    pipeline = _pipeline(args)
    latest = pipeline.events().orderBy(F.desc("timestamp"), F.desc("sequence.control_plane_seq_no")).limit(args.limit)
    latest.orderBy("timestamp", "sequence.control_plane_seq_no").select(
        "timestamp", "level", "event_type", "origin.flow_name", "message"
    ).show(args.limit, truncate=False)
    sys.stdout.flush()
    return 0
