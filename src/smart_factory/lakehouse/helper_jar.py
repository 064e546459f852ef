"""The project's own JVM classes (``*.java`` in the package), compiled once into a cached jar.

Two hot paths of the ``cloudFiles`` source are cheaper in the JVM than as Spark
expressions: splitting plain JSON Lines files into records (``JsonLines.java``) and parsing
each record that fits the schema (``RecordParser.java``), both under
``runtime/cloud_files/java/``. Hadoop's local file system, without Hadoop's native
library, starts a ``chmod`` or ``readlink`` process for each file it writes or renames;
``lakehouse/java/NioLocalFileSystem.java`` does those through ``java.nio`` instead
(:func:`local_file_system_conf`). And Delta rebuilds a table's state with Spark jobs to check
an idempotent append, or to read or overwrite a small table, where the commit's checksum
says enough: ``lakehouse/java/IdempotentDeltaAppend.java`` and ``SmallDeltaTable.java``
ask the checksum (:mod:`smart_factory.runtime.delta_append`,
:mod:`smart_factory.runtime.small_tables`). The sources ship with the package and are
compiled on first use, with the JDK's ``javac`` against PySpark's and Delta's jars, into a
jar under the cache folder whose name carries a key of the sources, the ``javac``, PySpark
and Delta; sessions then load it with ``spark.jars`` (a cluster's executors fetch it from
the driver). Compiling takes a few seconds; ``make install`` does it.

The jar speeds things up and changes no result: without a JDK (a Java *runtime* has no
``javac``), or with ``SMART_FACTORY_HELPER_JAR=off``, there is no jar, a notice says so,
and the same work runs as Spark expressions.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pyspark

from smart_factory.lakehouse.delta_jars import cache_root, delta_jars
from smart_factory.lakehouse.java import JavaRuntime

HELPER_JAR_ENV = "SMART_FACTORY_HELPER_JAR"
_PACKAGE_ROOT = Path(__file__).resolve().parent.parent
_COMPILE_TIMEOUT_SECONDS = 180
# Spark 4 runs on Java 17 and later: classes for 17 load on every runtime it supports.
_JAVA_RELEASE = "17"
_FALLBACK = "Spark expressions do their work instead (same results, slower)."
_JAR_PREFIX = "smart-factory-helpers-"
_FILE_SYSTEM_SUFFIX = "-filesystem.jar"
_FILE_SYSTEM_CLASSES = "smartfactory/lakehouse/Nio"
# Hadoop's settings naming the classes for file: paths, through FileSystem and FileContext.
NIO_FILE_SYSTEMS = {
    "spark.hadoop.fs.file.impl": "smartfactory.lakehouse.NioLocalFileSystem",
    "spark.hadoop.fs.AbstractFileSystem.file.impl": "smartfactory.lakehouse.NioLocalFs",
}


def java_sources() -> list[Path]:
    return sorted(_PACKAGE_ROOT.rglob("*.java"))


def session_jars(java: JavaRuntime) -> list[Path]:
    """Every jar a session loads: Delta Lake's and the project's helpers."""
    return [*delta_jars(), *helper_jars(java.executable)]


def helper_jars(java_executable: Path) -> list[Path]:
    """The compiled helper jar (built now if needed) as a list, or ``[]`` when there is none."""
    if os.environ.get(HELPER_JAR_ENV, "").lower() in ("off", "0", "false", "no"):
        return []
    javac = find_javac(java_executable)
    if javac is None:
        _notice_once(
            "No JDK compiler (javac) next to the Java runtime or on PATH: cloudFiles parses JSON with "
            "Spark's from_json instead of its own JVM parser (same results, about twice the time). "
            "Install a JDK (e.g. openjdk-17-jdk-headless) for the faster path."
        )
        return []
    jar = build_helper_jar(javac)
    return [jar] if jar is not None else []


def local_file_system_conf(jars: list[Path]) -> dict[str, str]:
    """Settings that give a local-mode driver the NIO local file system, when the helper jar is in ``jars``.

    Spark opens files before it loads ``spark.jars`` (to fetch them), so the jar goes on the
    driver's own class path. Only for local mode: a cluster's executors have their own class
    path, and a file system class they cannot load would stop every task.
    """
    helper = next((jar for jar in jars if jar.name.startswith(_JAR_PREFIX)), None)
    if helper is None:
        return {}
    return {"spark.driver.extraClassPath": str(file_system_jar(helper)), **NIO_FILE_SYSTEMS}


def file_system_jar(helper: Path) -> Path:
    """The jar holding only the file system classes of the ``helper`` jar, built beside it.

    Only those go on the driver's own class path: a class there cannot see Delta's (loaded
    later, from ``spark.jars``), so the Delta helper must come from ``spark.jars`` alone.
    """
    return helper.with_name(f"{helper.stem}{_FILE_SYSTEM_SUFFIX}")


def find_javac(java_executable: Path) -> Path | None:
    """``javac`` from the same JDK as ``java_executable`` when it has one, else the one on PATH."""
    beside = Path(os.path.realpath(java_executable)).parent / "javac"
    if os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("javac")
    return Path(on_path) if on_path else None


def build_helper_jar(javac: Path, sources: list[Path] | None = None, cache: Path | None = None) -> Path | None:
    """The jar of ``sources`` compiled by ``javac``: from the cache, else compiled now (None if that fails)."""
    sources = java_sources() if sources is None else sources
    target = (cache or cache_root() / "helper-jars") / f"{_JAR_PREFIX}{_key(javac, sources)}.jar"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    class_path = os.pathsep.join([str(Path(pyspark.__file__).parent / "jars" / "*"), *map(str, delta_jars())])
    with tempfile.TemporaryDirectory(prefix="helper-jar-") as work:
        classes = Path(work) / "classes"
        command = [str(javac), "--release", _JAVA_RELEASE, "-nowarn", "-encoding", "UTF-8",
                   "-cp", class_path, "-d", str(classes), *map(str, sources)]  # fmt: skip
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=_COMPILE_TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as error:
            _notice_once(f"Could not compile the project's JVM helpers with {javac} ({error}); {_FALLBACK}")
            return None
        if result.returncode != 0:
            reason = " ".join((result.stderr or result.stdout).strip().splitlines()[:3])
            _notice_once(f"Could not compile the project's JVM helpers with {javac}: {reason}; {_FALLBACK}")
            return None
        class_files = sorted(classes.rglob("*.class"))
        # The file system jar first: the main jar's presence says both are there.
        _write_jar(file_system_jar(target), classes, [name for name in class_files
                                                      if _entry(name, classes).startswith(_FILE_SYSTEM_CLASSES)])
        _write_jar(target, classes, class_files)
    return target


def _entry(class_file: Path, classes: Path) -> str:
    return class_file.relative_to(classes).as_posix()


def _write_jar(target: Path, classes: Path, class_files: list[Path]) -> None:
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as jar:
        for class_file in class_files:
            jar.write(class_file, _entry(class_file, classes))
    os.replace(temporary, target)  # whole or not at all, even with two builds at once


def _key(javac: Path, sources: list[Path]) -> str:
    digest = hashlib.sha256()
    for part in (os.path.realpath(javac), pyspark.__version__, _JAVA_RELEASE, *(jar.name for jar in delta_jars())):
        digest.update(part.encode() + b"\0")
    for source in sources:
        digest.update(source.name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def _notice_once(message: str) -> None:
    print(message, file=sys.stderr)
