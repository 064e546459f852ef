"""One warm Spark driver that the workshop's notebook kernels attach to, as notebooks attach to a cluster.

A notebook kernel that starts its own JVM pays for Spark's start and then for a cold JIT:
its first update runs about twice as slow as the same update in a JVM that has done one
before. A presenter opens each notebook in a kernel of its own, so each part paid it again.

Instead, the first workshop kernel starts a *driver host*: a small process of its own
(``python -m smart_factory.lakehouse.shared_driver``) that owns the JVM and its
SparkContext and outlives the kernel. Every workshop kernel then attaches to it:

- through a Py4J server of its own inside that JVM, so callbacks into Python (a stream's
  ``foreachBatch``) reach the kernel that asked for them;
- with a Spark session of its own (``newSession``): its own settings, temporary views and
  streaming queries; tables and cached data are shared, as on a cluster.

A host serves one storage root with one master and one set of settings; a kernel that
asks for others while it runs starts a JVM of its own, as before. It stops once no kernel has been attached for
``$SMART_FACTORY_SHARED_DRIVER_IDLE`` seconds (default 600), when its storage root is
removed, or when someone stops its SparkContext. ``SMART_FACTORY_SHARED_DRIVER=off`` gives
every kernel its own JVM again; ``smart-factory driver stop`` stops a host by hand.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from py4j.protocol import Py4JNetworkError

from smart_factory.errors import EnvironmentProblem
from smart_factory.lakehouse.paths import StoragePaths

SHARED_DRIVER_ENV = "SMART_FACTORY_SHARED_DRIVER"
IDLE_SECONDS_ENV = "SMART_FACTORY_SHARED_DRIVER_IDLE"
DEFAULT_IDLE_SECONDS = 600
HOST_FOLDER = ".driver-host"
_START_TIMEOUT_SECONDS = 180
_POLL_SECONDS = 1.0
# What PySpark's own gateway imports into the JVM view (pyspark.java_gateway.launch_gateway).
_JAVA_IMPORTS = (
    "org.apache.spark.SparkConf", "org.apache.spark.api.java.*", "org.apache.spark.api.python.*",
    "org.apache.spark.ml.python.*", "org.apache.spark.mllib.api.python.*", "org.apache.spark.resource.*",
    "org.apache.spark.sql.Encoders", "org.apache.spark.sql.OnSuccessCall", "org.apache.spark.sql.functions",
    "org.apache.spark.sql.classic.*", "org.apache.spark.sql.api.python.*", "org.apache.spark.sql.hive.*",
    "scala.Tuple2",
)  # fmt: skip


def shared_driver_enabled() -> bool:
    return os.environ.get(SHARED_DRIVER_ENV, "").lower() not in ("off", "0", "false", "no")


@dataclass(frozen=True)
class HostFiles:
    """Where a storage root's driver host keeps its address, its clients and its log."""

    folder: Path

    @classmethod
    def of(cls, storage: StoragePaths) -> HostFiles:
        return cls(storage.root / HOST_FOLDER)

    @property
    def address(self) -> Path:
        return self.folder / "host.json"

    @property
    def clients(self) -> Path:
        return self.folder / "clients"

    @property
    def log(self) -> Path:
        return self.folder / "host.log"

    @contextlib.contextmanager
    def start_lock(self) -> Iterator[None]:
        """Held while a kernel looks for a host and starts one: two kernels never start two."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "start.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield


@dataclass(frozen=True)
class HostAddress:
    pid: int
    port: int
    secret: str
    key: str

    @classmethod
    def read(cls, files: HostFiles) -> HostAddress | None:
        try:
            raw = json.loads(files.address.read_text())
            return cls(int(raw["pid"]), int(raw["port"]), str(raw["secret"]), str(raw["key"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, files: HostFiles) -> None:
        temporary = files.address.with_suffix(".tmp")
        # The secret lets anyone run code in the JVM: readable by this user only.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            json.dump(dataclasses.asdict(self), out)
        temporary.replace(files.address)


def host_key(master: str | None, conf: Mapping[str, str]) -> str:
    """What makes two kernels' Spark the same: the interpreter, the master and the settings asked for."""
    from smart_factory.lakehouse.driver_memory import DRIVER_MEMORY_ENV
    from smart_factory.lakehouse.spark_conf import SPARK_CONF_ENV

    site_file = os.environ.get(SPARK_CONF_ENV, "")
    site_text = Path(site_file).read_text(errors="replace") if site_file and Path(site_file).is_file() else ""
    # The heap asked for is a setting too: a kernel that wants another one gets its own JVM.
    heap = os.environ.get(DRIVER_MEMORY_ENV, "")
    identity = json.dumps([sys.executable, master or "", sorted(conf.items()), site_file, site_text, heap])
    return hashlib.sha256(identity.encode()).hexdigest()[:16]


def _alive(pid: int) -> bool:
    # A host this process started and that has exited is a zombie until reaped: reap it.
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --- the kernel's side ------------------------------------------------------------------


@dataclass
class _Attachment:
    broker: Any  # the connection that made the kernel's own Py4J server, kept to shut it down
    server: Any  # that server, in the JVM
    gateway: Any  # the kernel's connection through it
    session: Any  # this kernel's SparkSession on the shared SparkContext
    client_file: Path


class _HostGone(Exception):
    """The host stopped between being found and being attached to."""


_attached: _Attachment | None = None


def attach(storage: StoragePaths, master: str | None, conf: Mapping[str, str]) -> Any | None:
    """This kernel's Spark session on the storage root's driver host, starting the host if needed.

    None when the root's host runs with another master or other settings: the kernels using
    it keep it, and this one starts a JVM of its own.
    """
    files = HostFiles.of(storage)
    key = host_key(master, conf)
    with files.start_lock():
        host = HostAddress.read(files)
        if host is not None and host.key != key and _alive(host.pid):
            return None
        if host is None or not _alive(host.pid):
            host = _start_host(files, storage, master, conf, key)
        try:
            return _session_on(host, files)
        except (_HostGone, Py4JNetworkError, ConnectionError):  # it stopped a moment ago: start another
            stop_host(files)
            return _session_on(_start_host(files, storage, master, conf, key), files)


def _start_host(
    files: HostFiles, storage: StoragePaths, master: str | None, conf: Mapping[str, str], key: str
) -> HostAddress:
    files.address.unlink(missing_ok=True)
    command = [sys.executable, "-m", __name__, "--storage-root", str(storage.root), "--conf", json.dumps(dict(conf)),
               "--key", key, *(["--master", master] if master else [])]  # fmt: skip
    with files.log.open("ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,  # a kernel's interrupt or restart must not reach the host
        )  # fmt: skip
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        host = HostAddress.read(files)
        if host is not None and host.pid == process.pid:
            return host
        if process.poll() is not None:
            raise EnvironmentProblem(
                f"The shared Spark driver could not start (exit {process.returncode}): {_log_tail(files.log)} "
                f"Its full output is in {files.log}; {SHARED_DRIVER_ENV}=off gives each kernel its own Spark."
            )
        time.sleep(0.1)
    process.kill()
    raise EnvironmentProblem(
        f"The shared Spark driver did not start within {_START_TIMEOUT_SECONDS} s; see {files.log}."
    )


def _session_on(host: HostAddress, files: HostFiles) -> Any:
    global _attached
    from py4j.clientserver import ClientServer, JavaParameters, PythonParameters
    from py4j.java_gateway import java_import
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    def connect(port: int, secret: str) -> Any:
        return ClientServer(
            java_parameters=JavaParameters(port=port, auth_token=secret, auto_convert=True),
            python_parameters=PythonParameters(port=0, eager_load=False),
        )

    broker = connect(host.port, host.secret)
    # The running session's context, never SparkContext.getOrCreate: a stopped host must not
    # quietly get a new context without its settings.
    default_session = broker.jvm.org.apache.spark.sql.classic.SparkSession.getDefaultSession()
    if not default_session.isDefined() or default_session.get().sparkContext().isStopped():
        broker.close()
        raise _HostGone(f"the driver host {host.pid} has no running SparkContext")
    server = broker.jvm.org.apache.spark.api.python.Py4JServer(default_session.get().sparkContext().conf())
    server.start()
    gateway = connect(server.getListeningPort(), server.secret())
    gateway.proc = None
    for name in _JAVA_IMPORTS:
        java_import(gateway.jvm, name)
    jvm = gateway.jvm
    host_session = jvm.org.apache.spark.sql.classic.SparkSession.getDefaultSession().get()
    context = SparkContext(gateway=gateway, jsc=jvm.JavaSparkContext(host_session.sparkContext()))
    session = SparkSession(context, jsparkSession=host_session.newSession())
    files.clients.mkdir(parents=True, exist_ok=True)
    client_file = files.clients / str(os.getpid())
    client_file.write_text(str(host.pid))
    _attached = _Attachment(broker, server, gateway, session, client_file)
    atexit.register(detach)
    return session


def is_attached() -> bool:
    return _attached is not None


def attached_session() -> Any | None:
    """This kernel's session on a host, from any thread (PySpark's active session is per thread)."""
    return _attached.session if _attached is not None else None


def lost_host() -> bool:
    """True when this process was attached to a host that has gone (it detaches, to attach anew)."""
    if _attached is None:
        return False
    try:
        stopped = _attached.session._jsc.sc().isStopped()
    except Exception:  # the connection is gone with the host
        stopped = True
    if stopped:
        detach()
    return stopped


def detach() -> None:
    """Leave the host: this kernel's session and Py4J server go, the shared SparkContext stays."""
    global _attached
    attachment, _attached = _attached, None
    if attachment is None:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    attachment.client_file.unlink(missing_ok=True)
    with contextlib.suppress(Exception):  # the host may be gone already
        attachment.server.shutdown()
    for connection in (attachment.gateway, attachment.broker):
        with contextlib.suppress(Exception):
            connection.close()  # not shutdown(): that would also stop the Java side's server
    # Forget the session and context PySpark keeps, without stopping the shared context.
    SparkSession._instantiatedSession = None
    SparkSession._activeSession = None
    SparkContext._active_spark_context = None
    SparkContext._gateway = None
    SparkContext._jvm = None


@dataclass(frozen=True)
class RunningHost:
    pid: int
    clients: list[int]


def running_host(files: HostFiles) -> RunningHost | None:
    """The storage root's host and the kernels attached to it, if one runs."""
    host = HostAddress.read(files)
    if host is None or not _alive(host.pid):
        return None
    return RunningHost(host.pid, _attached_clients(files))


def stop_host(files: HostFiles) -> bool:
    """Stop the storage root's host, if one runs; True when it did."""
    host = HostAddress.read(files)
    if host is None or not _alive(host.pid):
        files.address.unlink(missing_ok=True)
        return False
    os.kill(host.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while _alive(host.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return True


def _log_tail(log: Path, lines: int = 3) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


# --- the host's side --------------------------------------------------------------------


def serve(storage_root: Path, master: str | None, conf: Mapping[str, str], key: str, idle_seconds: float) -> int:
    """Own the JVM until no kernel has used it for ``idle_seconds``, or the storage root is gone."""
    from smart_factory.lakehouse.session import get_spark

    stopping = False

    def on_term(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    spark = get_spark(master=master, storage_root=storage_root, conf=conf)
    files = HostFiles.of(StoragePaths(storage_root))
    parameters = spark.sparkContext._gateway.gateway_parameters  # type: ignore[union-attr]
    address = HostAddress(os.getpid(), parameters.port, parameters.auth_token, key)
    address.write(files)
    print(f"--- driver host {address.pid} serving {storage_root} ({time.strftime('%Y-%m-%d %H:%M:%S')})", flush=True)
    last_used = time.monotonic()
    try:
        while not stopping and storage_root.is_dir() and _context_running(spark):
            if _attached_clients(files):
                last_used = time.monotonic()
            elif time.monotonic() - last_used > idle_seconds:
                break
            time.sleep(_POLL_SECONDS)
    finally:
        if HostAddress.read(files) == address:
            files.address.unlink(missing_ok=True)
        with contextlib.suppress(Exception):
            spark.stop()
    return 0


def _context_running(spark: Any) -> bool:
    try:
        return not spark.sparkContext._jsc.sc().isStopped()
    except Exception:  # the JVM is gone
        return False


def _attached_clients(files: HostFiles) -> list[int]:
    """Kernels still attached; files of kernels that died without detaching are removed."""
    alive = []
    for client in files.clients.glob("*") if files.clients.is_dir() else []:
        pid = int(client.name) if client.name.isdigit() else -1
        if pid > 0 and _alive(pid):
            alive.append(pid)
        else:
            client.unlink(missing_ok=True)
    return alive


def idle_seconds_setting() -> float:
    raw = os.environ.get(IDLE_SECONDS_ENV, str(DEFAULT_IDLE_SECONDS))
    try:
        return max(float(raw), 0.0)
    except ValueError:
        raise EnvironmentProblem(f"{IDLE_SECONDS_ENV}={raw!r} is not a number of seconds.") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}", description="a shared Spark driver host")
    parser.add_argument("--storage-root", type=Path, required=True)
    parser.add_argument("--master")
    parser.add_argument("--conf", default="{}", help="Spark settings as a JSON object")
    parser.add_argument("--key", required=True)
    args = parser.parse_args(argv)
    return serve(args.storage_root, args.master, json.loads(args.conf), args.key, idle_seconds_setting())


if __name__ == "__main__":
    sys.exit(main())
