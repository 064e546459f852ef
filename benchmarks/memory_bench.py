"""How much memory the driver needs for the pipeline's backfill, runtime against plain Spark.

- ``driver_peak_rss_mb`` (goal <= 1,500): the peak resident memory (Linux's ``VmHWM``) of
  the driver JVM of a fresh process that runs one triggered update of
  ``pipelines/dlt_pipeline.py`` over 1,000,000 backfilled readings in 10 files. Baseline:
  the same backfill by pipeline_bench's plain-Spark layers, in another fresh process. In
  local mode the driver JVM runs the tasks too, so this is all the memory Spark takes.
  Full mode only: two more Spark starts do not fit the quick run's two minutes.

Each side runs in a process of its own (``python -m benchmarks.memory_bench SIDE ...``):
a JVM's peak covers its whole life, and PySpark keeps one JVM per Python process however
often its session is stopped, so only a fresh process measures one backfill alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from benchmarks import Measurement, benchmark

Side = Literal["runtime", "plain"]
FILES = 10
MODULE = "benchmarks.memory_bench"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def peak_resident_mb(pid: int) -> float:
    """The process's peak resident set so far, in MiB (``VmHWM`` from ``/proc``; Linux only)."""
    status = Path(f"/proc/{pid}/status")
    if not status.is_file():
        raise RuntimeError(f"{status} is missing: the memory benchmark reads Linux's /proc")
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024  # the kernel reports kB
    raise RuntimeError(f"{status} has no VmHWM line")


def backfill_in_this_process(side: Side, readings: int, root: Path) -> dict[str, float]:
    """Land ``readings``, run one backfill of ``side`` in a new Spark session; its JVM's peak and seconds."""
    from benchmarks.pipeline_bench import Landing, PlainSparkSide, RuntimeSide
    from smart_factory.lakehouse import get_spark

    spark = get_spark(master="local[2]", storage_root=root / "storage")
    # The JVM PySpark launched for this process (spark-submit execs into java, keeping the pid).
    jvm_pid = spark.sparkContext._gateway.proc.pid  # type: ignore[union-attr]
    landing = Landing(root / "landing")
    landing.land(FILES, readings // FILES)
    schema = landing.inferred_schema(spark, root / "inferred_schema")
    pipeline = (
        RuntimeSide(spark, root / "runtime", landing, root / "inferred_schema")
        if side == "runtime"
        else PlainSparkSide(spark, root / "plain", landing, schema)
    )
    timing = pipeline.update()
    rows = spark.read.format("delta").load(pipeline.table("silver_readings")).count()
    return {"peak_rss_mb": round(peak_resident_mb(jvm_pid), 1), "seconds": round(timing.seconds, 3),
            "silver_rows": rows}  # fmt: skip


def backfill_in_a_fresh_process(side: Side, readings: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"memory-bench-{side}-") as root:
        done = subprocess.run(
            [sys.executable, "-m", MODULE, side, str(readings), root],
            cwd=PROJECT_ROOT, capture_output=True, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the {side} backfill failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@benchmark
def driver_peak_rss(quick: bool) -> list[Measurement]:
    """Peak driver JVM memory over one backfill, the runtime's against plain Spark's."""
    if quick:
        return []
    readings = 1_000_000
    began = time.perf_counter()
    runtime = backfill_in_a_fresh_process("runtime", readings)
    plain = backfill_in_a_fresh_process("plain", readings)
    if runtime["silver_rows"] != plain["silver_rows"]:
        raise RuntimeError(f"silver rows differ (runtime {runtime['silver_rows']:,}, plain {plain['silver_rows']:,})")
    return [Measurement(
        "driver_peak_rss_mb", runtime["peak_rss_mb"], "MiB", baseline=plain["peak_rss_mb"], goal="value <= 1500",
        details={"readings": readings, "files": FILES, "runtime": runtime, "plain": plain,
                 "wall_seconds": round(time.perf_counter() - began, 1)},
    )]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description="one backfill in this process")
    parser.add_argument("side", choices=["runtime", "plain"])
    parser.add_argument("readings", type=int)
    parser.add_argument("root", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(backfill_in_this_process(args.side, args.readings, args.root)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
