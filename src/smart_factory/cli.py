"""The ``smart-factory`` command: one entry point, a sub-command per part of the workshop."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from pyspark.errors import PySparkException

from smart_factory.errors import SmartFactoryError

CommandRegistrar = Callable[[argparse._SubParsersAction], None]


def _registrars() -> list[CommandRegistrar]:
    # Imported here so `smart-factory --help` stays fast and a broken part cannot hide the others.
    from smart_factory.alerts import cli as alerts_cli
    from smart_factory.dashboards import cli as dashboard_cli
    from smart_factory.lakehouse import cli as lakehouse_cli
    from smart_factory.runtime import cli as pipeline_cli
    from smart_factory.simulator import cli as simulator_cli
    from smart_factory.workshop import cli as workshop_cli

    return [workshop_cli.register, simulator_cli.register, pipeline_cli.register, lakehouse_cli.register,
            alerts_cli.register, dashboard_cli.register]  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smart-factory",
        description="Smart Factory IoT pipeline workshop on Spark and Delta Lake.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; project errors become one clear line on stderr and exit code 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except SmartFactoryError as error:
        print(f"smart-factory: error: {error}", file=sys.stderr)
        return 2
    except PySparkException as error:
        # Spark's own message, first line only: the JVM stack trace is in the driver log.
        print(f"smart-factory: Spark error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("smart-factory: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
