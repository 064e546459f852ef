"""``smart-factory demo``: what ``make demo`` runs — the workshop's notebooks, in order, with papermill."""

from __future__ import annotations

import argparse
from pathlib import Path

from smart_factory.lakehouse.cli import add_lakehouse_arguments


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the workshop notebooks in order into runs/<UTC time>/ and print a summary",
        description="Runs notebooks/NN_*.ipynb in order with papermill (each starts from the previous one's data), "
        "saves the executed copies under runs/<UTC time>/ and prints a one-screen summary. Exits non-zero, naming "
        "the notebook and cell, if one fails.",
    )
    add_lakehouse_arguments(demo)
    demo.add_argument(
        "-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="override a notebook parameter, e.g. -p num_devices 100 (repeatable)",
    )  # fmt: skip
    demo.add_argument("--parameters", type=Path, metavar="FILE.yml", help="parameters from a YAML mapping")
    demo.add_argument("--notebooks", type=Path, help="folder of the numbered notebooks (default: notebooks/)")
    demo.add_argument("--runs", type=Path, help="where run folders go (default: runs/)")
    demo.add_argument("--kernel-per-notebook", action="store_true",
                      help="start a fresh kernel (and Spark) for each notebook, as Jupyter does; slower")  # fmt: skip
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.paths import StoragePaths
    from smart_factory.workshop.runner import load_parameters_file, parse_value, run_series
    from smart_factory.workshop.session import DASHBOARDS_FILE

    overrides = load_parameters_file(args.parameters) if args.parameters else {}
    if args.storage_root:
        overrides["storage_root"] = str(Path(args.storage_root).resolve())
    if args.master:
        overrides["spark_master"] = args.master
    overrides.update({name: parse_value(value) for name, value in args.parameter})

    def report(run) -> None:
        print(f"  {run.notebook:<42} done in {run.seconds:5.0f} s", flush=True)

    print("Running the workshop notebooks:", flush=True)
    run = run_series(
        overrides,
        notebooks_dir=args.notebooks,
        runs_dir=args.runs,
        on_notebook=report,
        shared_kernel=not args.kernel_per_notebook,
    )
    print(f"\n{run.summary}\n")
    dashboards = StoragePaths.from_env(overrides.get("storage_root")).root / DASHBOARDS_FILE
    if dashboards.is_file():
        print(f"Dashboards: {dashboards.as_uri()}")
    print(f"All {len(run.notebooks)} notebooks ran in {run.seconds:.0f} s; executed copies in {run.run_dir}/")
    return 0
