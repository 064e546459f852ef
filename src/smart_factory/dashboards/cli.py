"""``smart-factory dashboard serve|export``: the dashboards as a live page or a file to mail around."""

from __future__ import annotations

import argparse
from pathlib import Path

from smart_factory.lakehouse.paths import SCHEMA

# Nothing heavy is imported until a command runs, so `smart-factory --help` stays fast.
DEFAULT_HOST = "127.0.0.1"  # this machine only: the lakehouse is not for the whole network by default
DEFAULT_PORT = 8050
DEFAULT_REFRESH_SECONDS = 10.0


def register(commands: argparse._SubParsersAction) -> None:
    dashboard = commands.add_parser("dashboard", help="serve or export the Operations and Pipeline Health dashboards")
    actions = dashboard.add_subparsers(dest="dashboard_command", required=True, metavar="ACTION")

    serve = actions.add_parser("serve", help="serve the dashboards as a web page that refreshes itself")
    _lakehouse(serve)
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this "
                       "machine only; 0.0.0.0 opens it to the network)")  # fmt: skip
    serve.add_argument("--port", type=int, default=DEFAULT_PORT,
                       help=f"port (default {DEFAULT_PORT}; 0 picks a free one)")  # fmt: skip
    serve.add_argument("--refresh-seconds", type=float, default=DEFAULT_REFRESH_SECONDS,
                       help="how often the page looks for new data")  # fmt: skip
    serve.set_defaults(handler=_serve)

    export = actions.add_parser("export", help="write the dashboards to one self-contained HTML file")
    _lakehouse(export)
    export.add_argument("--out", type=Path, default=Path("smart_factory_dashboards.html"),
                        help="the HTML file to write")  # fmt: skip
    export.add_argument("--dashboard", action="append", dest="dashboards", metavar="NAME",
                        help="operations or pipeline-health (repeatable; default: both)")  # fmt: skip
    export.set_defaults(handler=_export)


def _lakehouse(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage-root", help="lakehouse folder (default: $SMART_FACTORY_STORAGE_ROOT or data/)")
    parser.add_argument("--schema", default=SCHEMA, help=f"the pipeline's target schema (default {SCHEMA})")


def _serve(args: argparse.Namespace) -> int:
    from smart_factory.dashboards.render import shared_reader
    from smart_factory.dashboards.server import serve

    reader = shared_reader(args.storage_root, args.schema)
    serve(reader, host=args.host, port=args.port, refresh_seconds=args.refresh_seconds)
    return 0


def _export(args: argparse.Namespace) -> int:
    from smart_factory.dashboards.export import export_html
    from smart_factory.dashboards.render import shared_reader
    from smart_factory.dashboards.spec import DASHBOARDS, get_dashboard

    dashboards = [get_dashboard(name) for name in args.dashboards or DASHBOARDS]
    written = export_html(dashboards, shared_reader(args.storage_root, args.schema), args.out)
    print(f"Dashboards ({', '.join(dashboard.name for dashboard in dashboards)}) written to {written}")
    return 0
