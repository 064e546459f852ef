"""The JVM class archive: built once, used by later Spark starts, never trusted when damaged.

Each Spark start here is its own Python process (a JVM takes its options when it starts,
and the test session's JVM is already running), with its own cache folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from smart_factory.lakehouse.delta_jars import delta_jars

START_SPARK = """
from smart_factory.lakehouse import get_spark
spark = get_spark(master="local[1]")
spark.range(3).count()
arguments = spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()
print("ARCHIVE" if any("SharedArchiveFile" in str(argument) for argument in arguments) else "NO ARCHIVE")
"""


@pytest.fixture()
def environment(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "SMART_FACTORY_CACHE_DIR": str(tmp_path / "cache"),
        "SMART_FACTORY_JARS_DIR": str(delta_jars()[0].parent),  # no download: the jars already here
        "SMART_FACTORY_STORAGE_ROOT": str(tmp_path / "storage"),
    }


def run(command: list[str], environment: dict[str, str]) -> str:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_spark_starts_from_the_archive_once_built_and_without_it_once_damaged(environment, tmp_path) -> None:
    smart_factory = str(Path(sys.executable).with_name("smart-factory"))
    assert run([sys.executable, "-c", START_SPARK], environment).strip() == "NO ARCHIVE"  # none built yet

    built = run([smart_factory, "class-archive"], environment)
    archives = list((tmp_path / "cache" / "class-archives").glob("*.jsa"))

    # Ask the JVM which classes it took from the archive (the dynamic archive is the "top" layer).
    class_log = tmp_path / "classes.log"
    conf_file = tmp_path / "spark.conf"
    conf_file.write_text(f"spark.driver.extraJavaOptions -Xlog:class+load=info:file={class_log}\n")
    with_archive = run([sys.executable, "-c", START_SPARK], {**environment, "SMART_FACTORY_SPARK_CONF": str(conf_file)})
    from_archive = [line for line in class_log.read_text().splitlines() if "shared objects file (top)" in line]

    # A truncated archive crashes a JVM that maps it: it must not be offered to one. The
    # damaged copy replaces the file (as a half-finished copy would); truncating it in place
    # would pull the pages from under the JVM above, which may still be exiting.
    archive = archives[0]
    damaged = archive.with_name("damaged.tmp")
    damaged.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    damaged.replace(archive)
    after_damage = run([sys.executable, "-c", START_SPARK], environment)

    assert f"Class archive {archives[0]}" in built and len(archives) == 1
    assert with_archive.strip() == "ARCHIVE"
    assert any("org.apache.spark.SparkContext " in line for line in from_archive), from_archive[:5]
    assert any("org.apache.spark.sql.delta." in line for line in from_archive)
    assert after_damage.strip() == "NO ARCHIVE"
