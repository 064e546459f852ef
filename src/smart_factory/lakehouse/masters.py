"""Spark master URLs: which ones the project accepts, and making sure a cluster answers.

``local[*]`` runs in this process; ``spark://host:7077`` (a standalone cluster), ``yarn``
and ``k8s://…`` send the work to executors elsewhere. With a cluster master, Spark would
happily wait forever for executors that never come (a typo in the host, a master with no
free workers); here an unreachable master fails at once and a master that grants no
executors fails after ``$SMART_FACTORY_EXECUTOR_TIMEOUT`` seconds, each with one sentence.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass

from pyspark.sql import SparkSession

from smart_factory.errors import ClusterUnavailable, InvalidSparkSetting

MASTER_ENV = "SMART_FACTORY_SPARK_MASTER"
DEFAULT_MASTER = "local[*]"
EXECUTOR_TIMEOUT_ENV = "SMART_FACTORY_EXECUTOR_TIMEOUT"
DEFAULT_EXECUTOR_TIMEOUT_SECONDS = 120.0
ACCEPTED_FORMS = "local, local[N], local[*], spark://host:port[,host2:port2], k8s://https://host:port or yarn"
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_LOCAL = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?")
_HOST_PORT = re.compile(r"(?P<host>[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(?P<port>\d{1,5})")


@dataclass(frozen=True)
class Master:
    """A parsed master URL. ``endpoints`` are the standalone masters' (host, port) pairs."""

    url: str
    kind: str  # "local", "standalone", "kubernetes" or "yarn"
    endpoints: tuple[tuple[str, int], ...] = ()

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    @property
    def is_on_this_machine(self) -> bool:
        """Local mode, or a standalone master on the loopback address (a cluster on a laptop)."""
        return self.is_local or (
            bool(self.endpoints) and all(host.strip("[]") in _LOOPBACK_HOSTS for host, _ in self.endpoints)
        )


def parse_master(url: str, source: str = "master") -> Master:
    """Check ``url`` and say what kind of master it is; ``source`` names the setting in errors.

    >>> parse_master("spark://127.0.0.1:7077").endpoints
    (('127.0.0.1', 7077),)
    """
    text = url.strip()
    if _LOCAL.fullmatch(text):
        return Master(text, "local")
    if text == "yarn":
        return Master(text, "yarn")
    if text.startswith("k8s://") and len(text) > len("k8s://"):
        return Master(text, "kubernetes")
    if text.startswith("spark://"):
        endpoints = [_HOST_PORT.fullmatch(part) for part in text.removeprefix("spark://").split(",")]
        if endpoints and all(match and 0 < int(match["port"]) < 65536 for match in endpoints):
            return Master(text, "standalone", tuple((match["host"], int(match["port"])) for match in endpoints))
    raise InvalidSparkSetting(
        f'{source}="{url}" is not a Spark master URL. Use one of: {ACCEPTED_FORMS} '
        "(a standalone master prints its URL when it starts; `smart-factory cluster start` runs one here)."
    )


def chosen_master(argument: str | None = None) -> tuple[Master, str]:
    """The master to use (the argument, else ``$SMART_FACTORY_SPARK_MASTER``, else ``local[*]``),
    checked, with the name of the setting it came from for error messages."""
    if argument:
        return parse_master(argument, source="master"), "master"
    if os.environ.get(MASTER_ENV):
        return parse_master(os.environ[MASTER_ENV], source=MASTER_ENV), MASTER_ENV
    return parse_master(DEFAULT_MASTER), "the default master"


def executor_timeout() -> float:
    """Seconds to wait for a cluster's first executor, from ``$SMART_FACTORY_EXECUTOR_TIMEOUT``."""
    raw = os.environ.get(EXECUTOR_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_EXECUTOR_TIMEOUT_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise InvalidSparkSetting(
            f'{EXECUTOR_TIMEOUT_ENV}="{raw}" must be a positive number of seconds '
            f"(default {DEFAULT_EXECUTOR_TIMEOUT_SECONDS:.0f})."
        )
    return seconds


def check_reachable(master: Master, source: str, timeout: float) -> None:
    """Fail now, not after Spark's minute of retries, when no standalone master listens."""
    failures = []
    for host, port in master.endpoints:
        try:
            with socket.create_connection((host.strip("[]"), port), timeout=min(timeout, 10.0)):
                return  # one live master of a high-availability list is enough
        except OSError as error:
            failures.append(f"{host}:{port} ({error.strerror or error})")
    if failures:
        raise ClusterUnavailable(
            f"No Spark master answers at {', '.join(failures)}, the master set by {source}. "
            "Start it (`smart-factory cluster start` here, `start-master.sh` on a cluster) or fix the URL."
        )


def wait_for_executors(spark: SparkSession, master: Master, source: str, timeout: float) -> None:
    """Return once a standalone cluster has given this application an executor.

    The SparkContext starts before the cluster grants executors; without this, the first
    query would wait forever on a master whose workers are busy, too small or gone.
    """
    if master.kind != "standalone" or spark.conf.get("spark.dynamicAllocation.enabled", "false") == "true":
        return  # YARN and Kubernetes start executors on demand, and report their own failures
    tracker = spark.sparkContext._jsc.sc().statusTracker()
    deadline = time.monotonic() + timeout
    while len(tracker.getExecutorInfos()) < 2:  # the driver counts as one
        if time.monotonic() > deadline:
            raise ClusterUnavailable(
                f"The Spark master {master.url} (set by {source}) gave this application no executor "
                f"within {timeout:.0f} s. Check on its web UI that workers are alive with free cores "
                f"and at least spark.executor.memory of free memory, and that they can connect back "
                f"to this machine; raise {EXECUTOR_TIMEOUT_ENV} if executors are merely slow to start."
            )
        time.sleep(0.25)
