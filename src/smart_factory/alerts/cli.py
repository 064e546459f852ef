"""``smart-factory alerts evaluate|run|validate|receive``."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path

from smart_factory.alerts.definition import DEFAULT_ALERTS_DIR, load_alerts
from smart_factory.alerts.destinations import configured_destinations
from smart_factory.errors import AlertQueryError
from smart_factory.lakehouse.cli import add_lakehouse_arguments
from smart_factory.lakehouse.paths import SCHEMA, StoragePaths


def register(commands: argparse._SubParsersAction) -> None:
    alerts = commands.add_parser("alerts", help="evaluate the alerts in alerts/ and send their notifications")
    actions = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    evaluate = actions.add_parser("evaluate", help="evaluate the alerts once (for notebooks and cron)")
    _common(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    run = actions.add_parser("run", help="evaluate each alert on its schedule until Ctrl+C or SIGTERM")
    _common(run)
    run.add_argument("--max-evaluations", type=int, metavar="N", help="stop after N evaluation runs")
    run.set_defaults(handler=_run)

    validate = actions.add_parser(
        "validate", help="check the definitions, plan each query against the tables (runs none), list the destinations"
    )
    validate.add_argument("--alerts-dir", type=Path, default=DEFAULT_ALERTS_DIR, help="folder of alert .yml files")
    validate.add_argument("--definitions-only", action="store_true",
                          help="check the files only, without Spark (queries are not planned)")  # fmt: skip
    add_lakehouse_arguments(validate)
    validate.set_defaults(handler=_validate)

    receive = actions.add_parser(
        "receive", help="a local webhook that prints each notification it gets (an operator's inbox for workshops)"
    )
    receive.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    receive.set_defaults(handler=_receive)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alerts-dir", type=Path, default=DEFAULT_ALERTS_DIR, help="folder of alert .yml files")
    parser.add_argument("--name", action="append", metavar="NAME", help="only this alert (repeatable)")
    parser.add_argument("--schema", default=SCHEMA, help=f"schema of the alert_history table (default {SCHEMA})")
    add_lakehouse_arguments(parser)


def _evaluate(args: argparse.Namespace) -> int:
    from smart_factory.alerts.evaluation import AlertEvaluator
    from smart_factory.lakehouse import get_spark

    alerts = load_alerts(args.alerts_dir, args.name)
    evaluator = AlertEvaluator(get_spark(master=args.master, storage_root=args.storage_root), schema=args.schema)
    evaluations = evaluator.evaluate(alerts)
    for evaluation in evaluations:
        print(evaluation)
    # Non-zero when someone should look: a query failed, or a notification is still waiting to go out.
    troubled = any(e.error or any(not d.delivered for d in e.deliveries) for e in evaluations)
    return 1 if troubled else 0


def _run(args: argparse.Namespace) -> int:
    from smart_factory.alerts.evaluation import AlertEvaluator
    from smart_factory.alerts.scheduler import AlertScheduler, stop_on_signals
    from smart_factory.lakehouse import get_spark

    alerts = load_alerts(args.alerts_dir, args.name)
    evaluator = AlertEvaluator(get_spark(master=args.master, storage_root=args.storage_root), schema=args.schema)
    for alert in alerts:
        print(f"{alert.name}: {alert.schedule.describe()}", flush=True)
    with stop_on_signals(threading.Event()) as stop:
        runs = AlertScheduler(evaluator.evaluate, alerts, report=lambda line: print(line, flush=True)).run(
            stop, max_runs=args.max_evaluations
        )
    print(f"Stopped after {runs} evaluation run(s).")
    return 0


def _validate(args: argparse.Namespace) -> int:
    alerts = load_alerts(args.alerts_dir)
    for alert in alerts:
        print(f"{alert.name} ({alert.source_file})")
        print(f"  condition {alert.condition.describe()}, empty result -> {alert.condition.empty_result_state}")
        print(f"  schedule  {alert.schedule.describe()}")
        settings = alert.notification
        print(f"  notify    retrigger_seconds={settings.retrigger_seconds}, notify_on_ok={settings.notify_on_ok}")
    for destination in configured_destinations(StoragePaths.from_env(args.storage_root)):
        print(f"destination {destination.label}")
    if args.definitions_only:
        print(f"{len(alerts)} alert(s), no problems in the definitions (queries not planned).")
        return 0
    from smart_factory.alerts.planning import alert_query_problems
    from smart_factory.lakehouse import get_spark

    problems = alert_query_problems(get_spark(master=args.master, storage_root=args.storage_root), alerts)
    if problems:
        raise AlertQueryError(problems)
    print(f"{len(alerts)} alert(s), no problems found.")
    return 0


def _receive(args: argparse.Namespace) -> int:
    from smart_factory.alerts.receiver import LocalReceiver, ReceivedRequest
    from smart_factory.alerts.scheduler import stop_on_signals

    def show(request: ReceivedRequest) -> None:
        print(f"--- {request.title}\n{request.body}\n", flush=True)

    try:
        receiver = LocalReceiver(port=args.port, on_request=show).start()
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}; choose another with --port")
        return 2
    with stop_on_signals(threading.Event()) as stop:  # before "Listening": a Ctrl+C right after it is handled
        print(f"Listening. Send alerts here with SMART_FACTORY_ALERT_DESTINATIONS={receiver.url}", flush=True)
        while not stop.wait(0.5):  # short waits: the signal handler runs between them
            pass
    receiver.stop()
    print(f"Stopped after {len(receiver.requests)} notification(s).")
    return 0
