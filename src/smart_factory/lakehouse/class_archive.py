"""A class-data-sharing archive of the classes a Spark and Delta session loads, for faster starts.

A JVM spends seconds of every Spark start reading and verifying the same few thousand
classes. Java's class data sharing (CDS) keeps them, already parsed, in an archive file
that later JVMs map into memory. ``make install`` builds one (``smart-factory
class-archive``) by running a short Spark and Delta workload with
``-XX:ArchiveClassesAtExit``; :func:`get_spark` then starts the driver with
``-XX:SharedArchiveFile``. Measured on the 2-core workshop machine: Spark's start 6.7 s ->
3.5 s, and a notebook's first queries sooner too.

The archive belongs to one Java build, one PySpark and one set of Delta jars: its name
carries a key made of them, so an upgrade simply builds (and uses) another one, and a JVM
that finds an archive of another build runs without it (Java's default ``-Xshare:auto``).
A damaged archive is another matter: a JVM that maps a truncated one crashes. So an
archive is used only once a JVM has started with it, and only while its size is the one
recorded then. ``SMART_FACTORY_CLASS_ARCHIVE=off`` leaves it out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyspark
from pyspark.sql import SparkSession

from smart_factory.lakehouse.delta_jars import cache_root
from smart_factory.lakehouse.java import JavaRuntime

CLASS_ARCHIVE_ENV = "SMART_FACTORY_CLASS_ARCHIVE"
_BUILD_TIMEOUT_SECONDS = 300


def archive_file(java: JavaRuntime, jars: list[Path]) -> Path:
    """Where the archive for this Java, this PySpark and these jars lives (it may not exist)."""
    identity = "\n".join([os.path.realpath(java.executable), java.version_text, pyspark.__version__,
                          *(str(jar) for jar in jars)])  # fmt: skip
    key = hashlib.sha256(identity.encode()).hexdigest()[:16]
    return cache_root() / "class-archives" / f"spark-{pyspark.__version__}-{key}.jsa"


def archive_java_options(java: JavaRuntime, jars: list[Path]) -> str:
    """``-XX:SharedArchiveFile=…`` when a built archive is there and not switched off, else ``""``."""
    if os.environ.get(CLASS_ARCHIVE_ENV, "").lower() in ("off", "0", "false", "no"):
        return ""
    archive = archive_file(java, jars)
    return f"-XX:SharedArchiveFile={archive}" if _verified(archive) else ""


def _verified(archive: Path) -> bool:
    try:
        return archive.stat().st_size == int(_size_record(archive).read_text())
    except (OSError, ValueError):
        return False


def _size_record(archive: Path) -> Path:
    return archive.with_name(archive.name + ".verified-size")


def build_class_archive() -> Path | None:
    """Build the archive for this machine's Java, PySpark and Delta jars, unless it is there.

    Runs a short Spark and Delta workload in a JVM started with ``-XX:ArchiveClassesAtExit``,
    closes that JVM and waits for it (it writes the archive as it exits), then moves the
    file into place. Returns the archive, or None when it could not be built (the reason
    is printed; Spark simply starts without one).
    """
    from smart_factory.lakehouse.helper_jar import session_jars
    from smart_factory.lakehouse.java import check_java

    java = check_java()
    target = archive_file(java, session_jars(java))
    if _verified(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="class-archive-") as work:
        partial = Path(work) / target.name
        exit_code = _run_workload_and_exit(Path(work), partial)
        if exit_code != 0 or not partial.is_file():
            print(f"No class archive: the archiving JVM ended with code {exit_code}.", file=sys.stderr)
            return None
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        shutil.move(partial, temporary)
        if not _starts_with(java, temporary):
            temporary.unlink()
            print("No class archive: a JVM could not start with the one just written.", file=sys.stderr)
            return None
        size = temporary.stat().st_size
        os.replace(temporary, target)  # whole or not at all, even with two builds at once
        _size_record(target).write_text(str(size))
    return target


def _starts_with(java: JavaRuntime, archive: Path) -> bool:
    result = subprocess.run([str(java.executable), f"-XX:SharedArchiveFile={archive}", "-version"],
                            capture_output=True, timeout=120, check=False)  # fmt: skip
    return result.returncode == 0


def _run_workload_and_exit(work: Path, archive: Path) -> int:
    from smart_factory.lakehouse.session import get_spark, stop_spark

    os.environ[CLASS_ARCHIVE_ENV] = "off"  # archive from scratch, not on top of an older archive
    spark = get_spark(
        master="local[2]",
        storage_root=work / "storage",
        conf={"spark.driver.extraJavaOptions": f"-XX:ArchiveClassesAtExit={archive}"},
    )
    _typical_workload(spark, work)
    jvm_process = spark.sparkContext._gateway.proc  # type: ignore[union-attr]
    stop_spark()
    # The gateway JVM exits when its standard input closes, writing the archive on the way.
    jvm_process.stdin.close()
    return jvm_process.wait(timeout=_BUILD_TIMEOUT_SECONDS)


def _typical_workload(spark: SparkSession, work: Path) -> None:
    """What a workshop session does first: Delta writes and reads, a stream, a MERGE."""
    table = str(work / "table")
    spark.range(100).selectExpr("id", "id % 7 AS key").write.format("delta").save(table)
    spark.read.format("delta").load(table).groupBy("key").count().collect()
    spark.sql(f"MERGE INTO delta.`{table}` t USING (SELECT 1 AS id, 1 AS key) s ON t.id = s.id "
              "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *")  # fmt: skip
    landing = work / "landing"
    landing.mkdir()
    (landing / "a.json").write_text('{"device_id": "DEV-1", "temperature_celsius": 21.5}\n')
    query = (
        spark.readStream.schema("device_id STRING, temperature_celsius DOUBLE").json(str(landing))
        .writeStream.format("delta").option("checkpointLocation", str(work / "checkpoint"))
        .trigger(availableNow=True).start(str(work / "stream"))
    )  # fmt: skip
    query.awaitTermination()

