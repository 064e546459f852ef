"""A 50 MB single-line file no longer kills a 1 GB driver: the Smart Factory pipeline, run by the
CLI in a JVM of its own, skips it by name and ingests the rest (issue 27, item 3).

Before, the record reached bronze and the flows downstream ran the JVM out of memory on
every update: an 82-line Py4J traceback ending in ConnectionRefusedError.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from smart_factory.lakehouse.paths import StoragePaths

pytestmark = pytest.mark.slow
CLI = [str(Path(sys.executable).with_name("smart-factory"))]


def run(storage_root: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SMART_FACTORY_STORAGE_ROOT": str(storage_root), "SMART_FACTORY_DRIVER_MEMORY": "1g"}
    return subprocess.run([*CLI, *arguments], env=env, capture_output=True, text=True, timeout=900)


def test_a_50_mb_single_line_file_is_skipped_by_name_and_the_driver_survives(
    spark: SparkSession, tmp_path: Path
) -> None:
    storage = StoragePaths(tmp_path / "root")
    generated = run(storage.root, "generate", "--devices", "20", "--files", "2", "--readings-per-file", "100")
    assert generated.returncode == 0, generated.stderr
    landing = storage.volumes / "main" / "smart_factory" / "landing" / "sensor_readings"
    reading = {"device_id": "DEV-00001", "timestamp": "2026-01-05T08:05:00.000Z", "temperature_celsius": 20.1,
               "vibration_hz": 3.3, "plant": "P" * 50_000_000, "floor": 1, "line": "Line 1"}  # fmt: skip
    (landing / "gateway-dump.json").write_text(json.dumps(reading))

    update = run(storage.root, "pipeline", "run")

    assert update.returncode == 0, update.stdout + update.stderr[-3000:]
    assert "COMPLETED in" in update.stdout and "Traceback" not in update.stderr
    assert "gateway-dump.json was not read: it is 47.7 MB, larger than the 32.0 MB" in update.stderr
    bronze = spark.read.format("delta").load(str(storage.table("smart_factory.bronze_readings")))
    assert bronze.count() == 200 and bronze.where("device_id = 'DEV-00001' AND plant LIKE 'PPP%'").count() == 0
    ledger = spark.read.format("delta").load(str(storage.table("smart_factory.ingestion_ledger")))
    (skipped,) = ledger.where("file_path LIKE '%gateway-dump.json'").collect()
    assert (skipped.status, skipped.records) == ("skipped", None) and "was not read" in skipped.note
    events = spark.read.format("delta").load(str(storage.table("smart_factory.event_log")))
    (warning,) = events.where("event_type = 'notice' AND message LIKE '%gateway-dump.json was not read%'").collect()
    assert warning.level == "WARN" and warning.origin.dataset_name == "bronze_readings"

    # The next update is not blocked by it, and does not read it either.
    again = run(storage.root, "pipeline", "run")
    assert again.returncode == 0 and "gateway-dump.json" not in again.stderr
