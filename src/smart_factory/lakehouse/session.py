"""One way to get Spark: Delta enabled, quiet, sized for a laptop, pointed at the storage root.

Every notebook, test and CLI command calls :func:`get_spark`; the same code runs on a
cluster by passing (or exporting) a ``spark://host:7077`` master URL.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from pyspark.errors import PySparkRuntimeError
from pyspark.sql import SparkSession

from smart_factory.errors import EnvironmentProblem, SmartFactoryError, StorageNotWritable
from smart_factory.lakehouse import shared_driver
from smart_factory.lakehouse.catalog import ensure_schema, register_tables
from smart_factory.lakehouse.class_archive import archive_java_options
from smart_factory.lakehouse.driver_memory import driver_memory
from smart_factory.lakehouse.helper_jar import local_file_system_conf, session_jars
from smart_factory.lakehouse.java import check_java
from smart_factory.lakehouse.masters import (
    Master,
    check_reachable,
    chosen_master,
    executor_timeout,
    wait_for_executors,
)
from smart_factory.lakehouse.paths import SCHEMA, STORAGE_ROOT_ENV, StoragePaths
from smart_factory.lakehouse.spark_conf import merge_conf, site_conf
from smart_factory.lakehouse.volumes import install_volume_paths

_STORAGE_ROOT_CONF = "spark.smart_factory.storageRoot"

ROCKSDB_STATE_STORE = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"

# PySpark 4.2.0's columnar-input runner for Arrow-optimised Python UDFs (used when a UDF reads
# straight from a vectorised Parquet scan: every Delta table) writes the input schema where
# the 4.2.0 Python worker expects the UDF count (SPARK-58241, fixed after 4.2.0). The worker
# then waits for bytes that never come and the JVM task for the worker: any `@udf` over a
# Delta table hangs forever. The row-based runner, one ColumnarToRow away, speaks the
# worker's protocol. Set on every session (sessions built elsewhere too): a runtime SQL setting.
PYTHON_UDF_SETTINGS: dict[str, str] = {"spark.sql.execution.arrow.pythonUDF.columnarInput.enabled": "false"}

# Defaults for a 2-core, few-GB laptop; any of them can be overridden through `conf`.
LAPTOP_DEFAULTS: dict[str, str] = {
    **PYTHON_UDF_SETTINGS,
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    # Stateful streams (silver's de-duplication) keep their state in RocksDB, off the JVM
    # heap, as Databricks does: Spark's default store holds every key on the heap, and
    # copies the whole map for each micro-batch. A checkpoint keeps the store it began with.
    "spark.sql.streaming.stateStore.providerClass": ROCKSDB_STATE_STORE,
    # One memory budget for all of RocksDB's caches and write buffers in this JVM.
    "spark.sql.streaming.stateStore.rocksdb.boundedMemoryUsage": "true",
    "spark.sql.streaming.stateStore.rocksdb.maxMemoryUsageMB": "128",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.catalogImplementation": "in-memory",
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    # Spark keeps the file listings its file indexes make in one cache per JVM (250 MB by
    # default, outliving stopped sessions), keyed by index: a stream lists its new files
    # with a new index every micro-batch, so entries are never read again. After the
    # ingestion benchmark's 20,000-file runs they held 390 MB of a 1g heap, and the next
    # million-reading update ran out of memory. Delta tables list files from their log.
    "spark.sql.hive.filesourcePartitionFileCacheSize": "0",
    # Spark keeps 100 compiled query classes by default; one pipeline update needs more than
    # that (each stage of each query, Delta's log replays), so every update compiled about
    # 100 of them again, and the JIT had new classes to warm. 1000 keep them all.
    "spark.sql.codegen.cache.maxEntries": "1000",
    # Delta rebuilds table state with 50 tasks by default: far too many for small tables.
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.streaming.forceDeleteTempCheckpointLocation": "true",
    # A JSON object that repeats a key must not fail a whole ingestion run: last one wins.
    "spark.sql.mapKeyDedupPolicy": "LAST_WIN",
    # Bytes that are not valid in the file's encoding become U+FFFD instead of failing the
    # query: one latin-1 or binary file must not stop every ingestion run after it.
    "spark.sql.legacy.codingErrorAction": "true",
}


def get_spark(
    master: str | None = None,
    storage_root: str | os.PathLike[str] | None = None,
    conf: Mapping[str, str] | None = None,
    app_name: str = "smart-factory",
    shared: bool = False,
) -> SparkSession:
    """The process's Spark session with Delta Lake, creating it on first call.

    ``master`` defaults to ``$SMART_FACTORY_SPARK_MASTER`` or ``local[*]``; ``storage_root``
    to ``$SMART_FACTORY_STORAGE_ROOT`` or the checkout's ``data/``. Tables under the root
    are registered by name (``smart_factory.<table>``) and ``/Volumes/…`` paths map into it.
    A cluster master must answer and grant an executor in time (see docs/scale-out.md).
    With ``shared``, the session is this process's own on a driver that every process asking
    for the same root, master and ``conf`` shares (:mod:`~smart_factory.lakehouse.shared_driver`;
    the workshop's notebooks do this, so only the first kernel pays for a cold JVM).

    >>> spark = get_spark()                      # doctest: +SKIP
    >>> spark.table("smart_factory.silver_readings").count()  # doctest: +SKIP
    """
    storage = StoragePaths.from_env(storage_root)
    running = SparkSession.getActiveSession() or shared_driver.attached_session()
    if running is not None and not shared_driver.lost_host():
        return _reuse(running, storage)
    if shared and shared_driver.shared_driver_enabled():
        _ensure_writable(storage)
        attached = shared_driver.attach(storage, master, dict(conf or {}))
        if attached is not None:
            _attach(attached, storage)
            return attached
    spark_master, master_source = chosen_master(master)
    timeout = executor_timeout()
    check_reachable(spark_master, master_source, timeout)
    _ensure_writable(storage)
    java = check_java()
    jars = session_jars(java)
    builder = SparkSession.builder.master(spark_master.url).appName(app_name)
    java_options = archive_java_options(java, jars)
    for key, value in _session_conf(storage, jars, dict(conf or {}), java_options, spark_master.is_local).items():
        builder = builder.config(key, value)
    _prepare_process_environment(spark_master)
    driver_log = storage.logs / f"spark-driver-{os.getpid()}.log"
    try:
        with _jvm_output_to(driver_log):
            spark = builder.getOrCreate()
    except PySparkRuntimeError as error:
        raise EnvironmentProblem(
            f"Spark could not start ({_last_lines(driver_log) or error}). The JVM's full output is in {driver_log}."
        ) from None
    try:
        wait_for_executors(spark, spark_master, master_source, timeout)
    except EnvironmentProblem:
        spark.stop()
        raise
    _attach(spark, storage)
    return spark


def stop_spark() -> None:
    """Stop this process's session, if any (a new :func:`get_spark` call starts afresh).

    A session on a shared driver only detaches: the driver goes on for the other processes.
    """
    if shared_driver.is_attached():
        shared_driver.detach()
        return
    running = SparkSession.getActiveSession()
    if running is not None:
        running.stop()


def storage_of(spark: SparkSession) -> StoragePaths:
    """The storage root the session was started with."""
    return StoragePaths(Path(spark.conf.get(_STORAGE_ROOT_CONF)))


def _reuse(spark: SparkSession, storage: StoragePaths) -> SparkSession:
    started_with = spark.conf.get(_STORAGE_ROOT_CONF, None)
    if started_with is None:
        # A session someone else built (e.g. Databricks Connect or a bare pyspark shell).
        _attach(spark, storage)
    elif Path(started_with) != storage.root:
        raise SmartFactoryError(
            f"This process's Spark session uses the storage root {started_with}, not "
            f"{storage.root}. Call smart_factory.lakehouse.stop_spark() first, or unset "
            f"{STORAGE_ROOT_ENV} to keep the current one."
        )
    else:
        register_tables(spark, storage)
    return spark


def _quiet_python_side_loggers() -> None:
    # PySpark logs every analysis error it raises as a JSON line on stderr, even when the
    # caller catches it: the error itself still reaches the caller, the duplicate does not.
    from pyspark.logger import PySparkLogger

    for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
    # Py4J logs (with a traceback) every exception a Python callback such as foreachBatch
    # raises, before Spark hands the same exception to the caller.
    logging.getLogger("py4j.clientserver").setLevel(logging.CRITICAL)


def _attach(spark: SparkSession, storage: StoragePaths) -> None:
    _quiet_python_side_loggers()
    for key, value in PYTHON_UDF_SETTINGS.items():
        spark.conf.set(key, value)
    spark.conf.set(_STORAGE_ROOT_CONF, str(storage.root))
    install_volume_paths(storage)
    ensure_schema(spark, storage, SCHEMA)
    register_tables(spark, storage)
    spark.catalog.setCurrentDatabase(SCHEMA)


def _session_conf(
    storage: StoragePaths,
    jars: list[Path],
    overrides: Mapping[str, str],
    driver_class_archive: str = "",
    local_mode: bool = True,
) -> dict[str, str]:
    log4j_config = resources.files("smart_factory.lakehouse") / "log4j2.properties"
    java_options = f"-Dlog4j2.configurationFile=file:{log4j_config} -Duser.timezone=UTC"
    settings = {
        **LAPTOP_DEFAULTS,
        # In local mode the driver runs the tasks too: its heap follows the machine (see driver_memory).
        "spark.driver.memory": driver_memory(),
        "spark.jars": ",".join(str(jar) for jar in jars),
        "spark.sql.warehouse.dir": str(storage.lakehouse),
        # The class archive is the driver's own (executors on a cluster run other JVMs).
        "spark.driver.extraJavaOptions": f"{java_options} {driver_class_archive}".strip(),
        "spark.executor.extraJavaOptions": java_options,
        _STORAGE_ROOT_CONF: str(storage.root),
        **(local_file_system_conf(jars) if local_mode else {}),
    }
    # A site's conf file, then the caller's: list-valued settings (jars, JVM options) add up.
    return merge_conf(settings, site_conf(), overrides)


def _prepare_process_environment(master: Master) -> None:
    # Workers must run this interpreter (the venv's), not whatever `python3` is on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    # glibc gives each thread that allocates its own malloc arena (up to 8 per core); the
    # JVM's many threads turn that into tens of MB of resident memory nobody uses.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    if master.is_on_this_machine:
        # Avoids the "hostname resolves to a loopback address" warning and any DNS wait.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


def _ensure_writable(storage: StoragePaths) -> None:
    try:
        for folder in (storage.root, storage.logs, storage.lakehouse, storage.volumes):
            folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=storage.root, prefix=".write-check-"):
            pass
    except OSError as error:
        raise StorageNotWritable(
            f"The storage root {storage.root} is not writable ({error.strerror or error}). "
            f"Choose another folder with {STORAGE_ROOT_ENV}=/some/folder (or --storage-root), "
            "or fix its permissions."
        ) from None


@contextmanager
def _jvm_output_to(log_file: Path) -> Iterator[None]:
    """Send the JVM's stdout and stderr to ``log_file`` for good.

    The JVM inherits file descriptors 1 and 2 when it starts; pointing them at a file for
    that moment keeps its banner and warnings out of notebook cells (ipykernel forwards
    anything written to those descriptors), while Python's own output is restored after.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    log_fd = os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    saved = [os.dup(1), os.dup(2)]
    try:
        os.write(log_fd, f"--- Spark driver started {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, log_fd):
            os.close(fd)


def _last_lines(log_file: Path, count: int = 3) -> str:
    try:
        lines = [line.strip() for line in log_file.read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    interesting = [line for line in lines if line and not line.startswith(("---", "at "))]
    return " | ".join(interesting[-count:])
