"""``smart-factory doctor``, ``sql``, ``driver`` and ``cluster start``: check the set-up, query the
lakehouse, see or stop the notebooks' shared driver, run a Spark standalone cluster on this machine."""

from __future__ import annotations

import argparse
import signal
import time
from importlib import metadata
from pathlib import Path

import pyspark

from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse.delta_jars import delta_coordinate, delta_jars, fetch_with_maven
from smart_factory.lakehouse.helper_jar import helper_jars
from smart_factory.lakehouse.java import check_java
from smart_factory.lakehouse.paths import StoragePaths


def add_lakehouse_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every Spark-using command shares."""
    parser.add_argument(
        "--storage-root", help="lakehouse folder (default: $SMART_FACTORY_STORAGE_ROOT or data/)"
    )
    parser.add_argument(
        "--master", help="Spark master URL (default: $SMART_FACTORY_SPARK_MASTER or local[*])"
    )


def register(commands: argparse._SubParsersAction) -> None:
    doctor = commands.add_parser(
        "doctor", help="check Java, the Delta jars and the storage root, then start Spark"
    )
    add_lakehouse_arguments(doctor)
    doctor.set_defaults(handler=run_doctor)

    jars = commands.add_parser(
        "fetch-jars", help="copy the Delta jars into a folder with Maven, for an air-gapped set-up"
    )
    jars.add_argument("folder", type=Path, help="where to put them; then export SMART_FACTORY_JARS_DIR")
    jars.set_defaults(handler=run_fetch_jars)

    archive = commands.add_parser(
        "class-archive", help="build the JVM class archive that makes Spark start faster (make install does)"
    )
    archive.set_defaults(handler=run_class_archive)

    sql = commands.add_parser("sql", help="run one Spark SQL statement against the lakehouse")
    add_lakehouse_arguments(sql)
    sql.add_argument("statement", help='e.g. "SELECT count(*) FROM smart_factory.bronze_readings"')
    sql.add_argument("--limit", type=int, default=50, help="rows to show (default 50)")
    sql.set_defaults(handler=run_sql)

    driver = commands.add_parser("driver", help="the warm Spark driver the workshop's notebooks share")
    driver_actions = driver.add_subparsers(dest="driver_command", required=True, metavar="ACTION")
    for action, text, handler in (("status", "say whether one runs for the storage root", run_driver_status),
                                  ("stop", "stop it (the next notebook starts another)", run_driver_stop)):  # fmt: skip
        command = driver_actions.add_parser(action, help=text)
        command.add_argument("--storage-root", help="lakehouse folder (default: $SMART_FACTORY_STORAGE_ROOT or data/)")
        command.set_defaults(handler=handler)

    cluster = commands.add_parser("cluster", help="run a Spark standalone cluster on this machine")
    actions = cluster.add_subparsers(dest="cluster_command", required=True, metavar="ACTION")
    start = actions.add_parser(
        "start", help="start a master and workers on 127.0.0.1, print the master URL; Ctrl+C stops them"
    )
    start.add_argument("--storage-root", help="its logs go under <root>/logs/ (default: as for every command)")
    start.add_argument("--workers", type=int, default=2, help="workers to start (2)")
    start.add_argument("--cores", type=int, default=1, help="cores each worker offers (1)")
    start.add_argument("--memory", default="1g", help="memory each worker offers (1g)")
    start.set_defaults(handler=run_cluster_start)


def run_doctor(args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.session import get_spark

    storage = StoragePaths.from_env(args.storage_root)
    java = check_java()
    print(f"Java          {java.major_version} ({java.executable})")
    print(f"PySpark       {pyspark.__version__}, delta-spark {metadata.version('delta-spark')}")
    jars = delta_jars()
    print(f"Delta jars    {delta_coordinate()} ({len(jars)} jars in {jars[0].parent})")
    helpers = helper_jars(java.executable)
    print(f"JVM helpers   {helpers[0] if helpers else 'none: cloudFiles uses Spark expressions only (slower)'}")
    started = time.perf_counter()
    spark = get_spark(master=args.master, storage_root=storage.root)
    print(f"Spark         {spark.sparkContext.master}, started in {time.perf_counter() - started:.1f} s")
    tables = spark.sql("SHOW TABLES IN smart_factory").collect()
    print(f"Storage root  {storage.root} ({len(tables)} tables in smart_factory)")
    print("All good.")
    return 0


def run_fetch_jars(args: argparse.Namespace) -> int:
    jars = fetch_with_maven(args.folder)
    print(f"{len(jars)} jars for {delta_coordinate()} in {args.folder}.")
    print(f"Use them with: export SMART_FACTORY_JARS_DIR={args.folder.expanduser().resolve()}")
    return 0


def run_class_archive(_args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.class_archive import build_class_archive

    try:
        archive = build_class_archive()
    except SmartFactoryError as error:  # no Java, say: `smart-factory doctor` explains; install goes on
        print(f"No class archive ({error}).")
        return 0
    print(f"Class archive {archive}" if archive else "No class archive: Spark starts without one.")
    return 0


def run_sql(args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.session import get_spark

    spark = get_spark(master=args.master, storage_root=args.storage_root)
    spark.sql(args.statement).show(args.limit, truncate=False)
    return 0


def run_driver_status(args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.shared_driver import HostFiles, running_host

    files = HostFiles.of(StoragePaths.from_env(args.storage_root))
    host = running_host(files)
    if host is None:
        print(f"No shared driver runs for {files.folder.parent}.")
        return 0
    print(f"Shared driver: process {host.pid}, {len(host.clients)} notebook(s) attached; its log is {files.log}.")
    return 0


def run_driver_stop(args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.shared_driver import HostFiles, stop_host

    files = HostFiles.of(StoragePaths.from_env(args.storage_root))
    print("Stopped the shared driver." if stop_host(files) else f"No shared driver runs for {files.folder.parent}.")
    return 0


def run_cluster_start(args: argparse.Namespace) -> int:
    from smart_factory.lakehouse.standalone import start_cluster

    # The daemons run in their own process groups, so Ctrl+C reaches only this process:
    # it (or a plain `kill`) must end in cluster.stop(), never leave the daemons behind.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    cluster = start_cluster(
        args.storage_root, workers=args.workers, cores_per_worker=args.cores, memory_per_worker=args.memory
    )
    try:
        print(f"Master   {cluster.master_url}   (web UI {cluster.web_ui_url})")
        print(f"Workers  {args.workers} x {args.cores} core, {args.memory}; logs in {cluster.folder}")
        print(f"Use it:  export SMART_FACTORY_SPARK_MASTER={cluster.master_url}")
        print("Ctrl+C stops the cluster.", flush=True)
        while all(process.poll() is None for process in cluster.processes):
            time.sleep(1)
        print(f"A Spark daemon exited; see {cluster.folder}. Stopping the cluster.")
        return 1
    except KeyboardInterrupt:
        print("Stopping the cluster.", flush=True)
        return 0
    finally:
        cluster.stop()
