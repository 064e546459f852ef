"""``smart-factory demo``: what ``make demo`` runs."""

from __future__ import annotations

import argparse

from smart_factory.lakehouse.cli import add_lakehouse_arguments
from smart_factory.workshop.demo import DemoSettings, run_demo


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="run the workshop end to end on fresh local data")
    add_lakehouse_arguments(demo)
    demo.add_argument("--devices", type=int, default=DemoSettings.num_devices)
    demo.add_argument("--files", type=int, default=DemoSettings.num_files)
    demo.add_argument("--readings-per-file", type=int, default=DemoSettings.readings_per_file)
    demo.add_argument("--seed", type=int, default=DemoSettings.seed)
    demo.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    run_demo(
        DemoSettings(
            storage_root=args.storage_root,
            master=args.master,
            num_devices=args.devices,
            num_files=args.files,
            readings_per_file=args.readings_per_file,
            seed=args.seed,
        )
    )
    return 0
