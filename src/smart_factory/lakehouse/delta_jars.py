"""The Delta Lake jars: resolved once through Spark's own package mechanism, then cached.

The first session on a machine runs ``spark-submit --packages io.delta:…`` (Ivy, as
``configure_spark_with_delta_pip`` would) in a child process whose output we keep, so a
network failure becomes one clear sentence. The jars it fetched are listed in a manifest;
every later session, notebook kernel and worker loads them with ``spark.jars`` and never
resolves again, so starting needs no network.

An air-gapped site points ``SMART_FACTORY_JARS_DIR`` at a folder holding the jars (for
example filled by ``mvn dependency:copy``, see the README); it is then used as it is.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import pyspark

from smart_factory.errors import DeltaJarsUnavailable

JARS_DIR_ENV = "SMART_FACTORY_JARS_DIR"
CACHE_DIR_ENV = "SMART_FACTORY_CACHE_DIR"
# A site's own Ivy settings (a company mirror, say), passed to Spark as spark.jars.ivySettings.
IVY_SETTINGS_ENV = "SMART_FACTORY_IVY_SETTINGS"
SCALA_BINARY_VERSION = "2.13"
MANIFEST_NAME = "jars.txt"
_AIR_GAP_HINT = (
    f"On a machine without network access, set {JARS_DIR_ENV} to a folder holding the Delta "
    "jars (see the README, 'Air-gapped set-up')."
)


def delta_coordinate() -> str:
    """The Maven coordinate of the Delta jar matching the installed delta-spark and PySpark.

    delta-spark publishes one artifact per Spark minor version (``delta-spark_4.2_2.13``).
    """
    spark_minor = ".".join(pyspark.__version__.split(".")[:2])
    return f"io.delta:delta-spark_{spark_minor}_{SCALA_BINARY_VERSION}:{metadata.version('delta-spark')}"


def cache_root() -> Path:
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "smart-factory"


def delta_jars() -> list[Path]:
    """Paths of the jars a session needs for Delta, resolving and caching them on first use."""
    air_gap_folder = os.environ.get(JARS_DIR_ENV)
    if air_gap_folder:
        return _jars_from_folder(Path(air_gap_folder).expanduser(), source=f"{JARS_DIR_ENV}")
    cache = cache_root() / _cache_key()
    cached = _read_manifest(cache)
    if cached is not None:
        return cached
    with _exclusive_lock(cache):
        cached = _read_manifest(cache)  # another process may have resolved while we waited
        if cached is not None:
            return cached
        jars = _resolve_with_spark_packages(cache)
        (cache / MANIFEST_NAME).write_text("".join(f"{jar}\n" for jar in jars))
        return jars


def _cache_key() -> str:
    return delta_coordinate().split(":", 1)[1].replace(":", "-")


def _jars_from_folder(folder: Path, source: str) -> list[Path]:
    jars = sorted(folder.glob("*.jar")) if folder.is_dir() else []
    names = [jar.name for jar in jars]
    missing = [
        artifact
        for artifact in ("delta-spark_", "delta-storage-")
        if not any(artifact in name for name in names)
    ]
    if missing:
        raise DeltaJarsUnavailable(
            f"The Delta Lake jars are missing from {folder} (set by {source}): no "
            f"{' or '.join(m.rstrip('_-') + '*.jar' for m in missing)} there. It needs the jars of "
            f"{delta_coordinate()} and its dependencies; fill it with `mvn dependency:copy` "
            "(see the README) or unset the variable to download them once."
        )
    return _without_jars_spark_ships(jars)


def _read_manifest(cache: Path) -> list[Path] | None:
    manifest = cache / MANIFEST_NAME
    if not manifest.is_file():
        return None
    jars = [Path(line) for line in manifest.read_text().splitlines() if line.strip()]
    if not jars or not all(jar.is_file() for jar in jars):
        return None  # a cleaned cache: resolve again
    return jars


@contextmanager
def _exclusive_lock(cache: Path) -> Iterator[None]:
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _resolve_with_spark_packages(cache: Path) -> list[Path]:
    """Run Spark's package resolver once; return the jars it placed in the Ivy folder."""
    ivy_dir = cache / "ivy"
    spark_submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    with tempfile.TemporaryDirectory() as scratch:
        empty_app = Path(scratch) / "resolve_only.py"
        empty_app.write_text("# resolves --packages, then exits\n")
        environment = {**os.environ, "PYSPARK_PYTHON": sys.executable, "SPARK_LOCAL_IP": "127.0.0.1"}
        environment.pop("SPARK_HOME", None)  # always the pip-installed Spark
        command = [
            str(spark_submit),
            "--master", "local[1]",
            "--packages", delta_coordinate(),
            "--conf", f"spark.jars.ivy={ivy_dir}",
        ]  # fmt: skip
        if os.environ.get(IVY_SETTINGS_ENV):
            command += ["--conf", f"spark.jars.ivySettings={os.environ[IVY_SETTINGS_ENV]}"]
        try:
            result = subprocess.run(
                [*command, str(empty_app)],
                capture_output=True, text=True, timeout=900, env=environment, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DeltaJarsUnavailable(
                f"Could not run Spark's package resolver for {delta_coordinate()}: {error}. " + _AIR_GAP_HINT
            ) from error
    jars_folder = ivy_dir / "jars"
    if result.returncode != 0 or not jars_folder.is_dir():
        raise DeltaJarsUnavailable(
            f"Could not download the Delta Lake jars ({delta_coordinate()}) through Spark's package "
            f"resolver: {_resolver_reason(result.stdout + result.stderr)}. Check the network or "
            f"proxy settings once; later starts use the cache in {cache}. " + _AIR_GAP_HINT
        )
    return _jars_from_folder(jars_folder, source="Spark's package resolver")


def _resolver_reason(output: str) -> str:
    for pattern in (r"unresolved dependency: [^\]\n]+", r"Server access error[^\n]+", r"not found[^\n]*"):
        match = re.search(pattern, output)
        if match:
            return match.group(0).strip()
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "the resolver failed without a message"


def _artifact_name(jar_name: str) -> str:
    """``org.apache.parquet_parquet-hadoop-1.16.0.jar`` (Ivy) or ``parquet-hadoop-1.17.0.jar``
    (Spark's own) both give ``parquet-hadoop``."""
    stem = jar_name.removesuffix(".jar")
    if "_" in stem.split("-", 1)[0]:  # Ivy's "<organisation>_<artifact>-<revision>"
        stem = stem.split("_", 1)[1]
    return re.sub(r"-\d[^-]*(?:-[A-Za-z0-9.]+)*$", "", stem)


def _without_jars_spark_ships(jars: list[Path]) -> list[Path]:
    """Drop transitive jars PySpark already has (older Hadoop, Parquet, Jackson…): Spark's own
    copies must win, and a shorter classpath starts faster."""
    shipped = {_artifact_name(jar.name) for jar in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    return [jar for jar in jars if _artifact_name(jar.name) not in shipped]


def fetch_with_maven(folder: Path) -> list[Path]:
    """Copy the Delta jars and their dependencies into ``folder`` with ``mvn``.

    For sites where Maven reaches a repository (a mirror, say) but Spark's Ivy does not;
    afterwards ``SMART_FACTORY_JARS_DIR=folder`` makes every session use them.
    """
    group, artifact, version = delta_coordinate().split(":")
    folder = folder.expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        pom = Path(scratch) / "pom.xml"
        pom.write_text(
            "<project><modelVersion>4.0.0</modelVersion><groupId>local</groupId>"
            "<artifactId>smart-factory-delta-jars</artifactId><version>1</version><dependencies>"
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version></dependency></dependencies></project>"
        )
        try:
            result = subprocess.run(
                ["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
                 f"-DoutputDirectory={folder}", "-DincludeScope=runtime"],
                capture_output=True, text=True, timeout=900, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired) as error:
            raise DeltaJarsUnavailable(
                f"Could not run Maven (`mvn`) to fetch the Delta jars: {error}"
            ) from None
    if result.returncode != 0:
        last = (result.stdout + result.stderr).strip().splitlines()[-1:] or ["no output"]
        raise DeltaJarsUnavailable(f"Maven could not fetch {delta_coordinate()}: {last[0]}")
    return _jars_from_folder(folder, source="mvn dependency:copy-dependencies")
