"""The lakehouse session on real Spark and Delta: round trips, names, volumes, jars, quiet."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pyspark.sql import Row
from support import run_python

from smart_factory.lakehouse import StoragePaths, resolve_path, save_table
from smart_factory.lakehouse.delta_jars import JARS_DIR_ENV, cache_root, delta_coordinate
from smart_factory.lakehouse.session import ROCKSDB_STATE_STORE


def test_delta_round_trip_by_name_and_by_path(spark, storage: StoragePaths) -> None:
    rows = [
        Row(device_id="DEV-1", temperature_celsius=21.5),
        Row(device_id="DEV-2", temperature_celsius=44.0),
    ]
    name = save_table(spark.createDataFrame(rows), "smart_factory.round_trip", storage)
    save_table(spark.createDataFrame(rows[:1]), name, storage, mode="append")

    by_name = spark.table(name).orderBy("device_id", "temperature_celsius").collect()
    assert [(r.device_id, r.temperature_celsius) for r in by_name] == [
        ("DEV-1", 21.5),
        ("DEV-1", 21.5),
        ("DEV-2", 44.0),
    ]
    folder = storage.table(name)
    assert (folder / "_delta_log" / "00000000000000000001.json").is_file()
    history = spark.sql(f"DESCRIBE HISTORY {name}").select("version", "operation").collect()
    assert sorted((r.version, r.operation) for r in history) == [(0, "WRITE"), (1, "WRITE")]
    first_version = spark.read.format("delta").option("versionAsOf", 0).load(str(folder))
    assert first_version.count() == 2


def test_tables_are_visible_by_name_from_a_second_process(spark, storage: StoragePaths) -> None:
    save_table(spark.range(7).withColumnRenamed("id", "reading"), "smart_factory.shared_numbers", storage)
    manifest = next(cache_root().glob("*/jars.txt"), None)
    manifest_before = manifest.stat().st_mtime_ns if manifest else None

    child = run_python(
        "from smart_factory.lakehouse import get_spark\n"
        "spark = get_spark(master='local[1]')\n"
        "print('COUNT', spark.table('smart_factory.shared_numbers').count())\n"
        "print('SUM', spark.sql('SELECT sum(reading) FROM shared_numbers').first()[0])\n"
        "print('PACKAGES', spark.conf.get('spark.jars.packages', 'none'))\n"
        "print('JARS', spark.conf.get('spark.jars'))\n"
    )

    assert child.returncode == 0, child.stderr
    lines = dict(line.split(" ", 1) for line in child.stdout.splitlines() if " " in line)
    assert lines["COUNT"] == "7"
    assert lines["SUM"] == "21"
    # The child loaded the cached jars and resolved nothing.
    assert lines["PACKAGES"] == "none"
    jars = lines["JARS"].split(",")
    assert any(Path(jar).name.startswith("io.delta_delta-spark_") for jar in jars)
    if not os.environ.get(JARS_DIR_ENV):
        assert all(Path(jar).is_relative_to(cache_root()) for jar in jars)
        assert manifest is not None and manifest.stat().st_mtime_ns == manifest_before
    # Quiet: nothing of the JVM's banner or log reaches the child's own output.
    for noise in ("WARN", "log4j", "Using incubator", "Ivy", ":: resolving"):
        assert noise not in child.stdout + child.stderr


def test_the_session_loads_delta_from_the_jar_cache(spark) -> None:
    jars = spark.conf.get("spark.jars").split(",")
    assert spark.conf.get("spark.jars.packages", None) is None
    version = delta_coordinate().rsplit(":", 1)[1]
    assert any(Path(jar).name == f"io.delta_{delta_coordinate().split(':')[1]}-{version}.jar" for jar in jars)
    assert all(Path(jar).is_file() for jar in jars)
    # Spark's own copies of shared libraries win: none of theirs is on the list twice.
    assert not any("hadoop-client" in jar or "parquet-hadoop" in jar for jar in jars)


def test_volume_paths_map_under_the_storage_root(spark, storage: StoragePaths) -> None:
    landing = storage.volumes / "main" / "smart_factory" / "landing" / "volume_test"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "a.json").write_text(json.dumps({"device_id": "DEV-9", "vibration_hz": 55.5}) + "\n")
    volume = "/Volumes/main/smart_factory/landing/volume_test"

    assert resolve_path(volume) == str(landing)
    read_back = spark.read.json(volume).select("device_id", "vibration_hz", "_metadata.file_path")
    row = read_back.first()
    assert (row.device_id, row.vibration_hz) == ("DEV-9", 55.5)
    assert row.file_path == f"file:{landing}/a.json"

    spark.read.json(volume).write.format("delta").mode("overwrite").save(
        "/Volumes/main/smart_factory/scratch/volume_copy"
    )
    assert (storage.volumes / "main/smart_factory/scratch/volume_copy/_delta_log").is_dir()

    stream = (
        spark.readStream.schema("device_id STRING, vibration_hz DOUBLE")
        .json(volume)
        .writeStream.format("delta")
        .option("checkpointLocation", "/Volumes/main/smart_factory/scratch/volume_checkpoint")
        .trigger(availableNow=True)
        .start("/Volumes/main/smart_factory/scratch/volume_stream")
    )
    stream.awaitTermination()
    assert (storage.volumes / "main/smart_factory/scratch/volume_checkpoint/offsets").is_dir()
    assert spark.read.format("delta").load("/Volumes/main/smart_factory/scratch/volume_stream").count() == 1


def test_dirty_input_is_cast_safely_under_ansi_mode(spark) -> None:
    assert spark.conf.get("spark.sql.ansi.enabled") == "true"
    values = spark.createDataFrame([("21.5",), ("hot",), (None,)], "raw STRING")
    cast = values.selectExpr("try_cast(raw AS DOUBLE) AS temperature").collect()
    assert [r.temperature for r in cast] == [21.5, None, None]


HDFS_STATE_STORE = "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider"


def test_stream_state_lives_in_rocksdb_and_older_checkpoints_keep_their_store(spark, tmp_path: Path) -> None:
    """The laptop default keeps de-duplication state off the heap; a checkpoint begun on
    Spark's default store (a storage root from before the switch) goes on with that store."""
    source = str(tmp_path / "readings")
    provider_key = "spark.sql.streaming.stateStore.providerClass"

    def land(readings: list[tuple[str, int]]) -> None:
        frame = spark.createDataFrame(readings, "device_id STRING, minute INT")
        frame.write.format("delta").mode("append").save(source)

    def deduplicate(name: str) -> list[tuple[str, int]]:
        (
            spark.readStream.format("delta").load(source).dropDuplicates(["device_id", "minute"])
            .writeStream.format("delta").option("checkpointLocation", str(tmp_path / name / "checkpoint"))
            .trigger(availableNow=True).start(str(tmp_path / name / "table"))
        ).awaitTermination()  # fmt: skip
        rows = spark.read.format("delta").load(str(tmp_path / name / "table")).collect()
        return sorted((row.device_id, row.minute) for row in rows)

    def store_of(name: str) -> str:
        metadata = json.loads((tmp_path / name / "checkpoint" / "offsets" / "0").read_text().splitlines()[1])
        return metadata["conf"][provider_key]

    assert spark.conf.get(provider_key) == ROCKSDB_STATE_STORE
    land([("DEV-1", 1), ("DEV-1", 1), ("DEV-2", 1)])
    assert deduplicate("current") == [("DEV-1", 1), ("DEV-2", 1)]
    spark.conf.set(provider_key, HDFS_STATE_STORE)
    try:
        assert deduplicate("older") == [("DEV-1", 1), ("DEV-2", 1)]
    finally:
        spark.conf.set(provider_key, ROCKSDB_STATE_STORE)

    land([("DEV-1", 1), ("DEV-3", 2)])  # a re-sent reading and a new one
    expected = [("DEV-1", 1), ("DEV-2", 1), ("DEV-3", 2)]
    assert deduplicate("current") == expected
    assert deduplicate("older") == expected
    assert store_of("current") == ROCKSDB_STATE_STORE
    assert store_of("older") == HDFS_STATE_STORE
    # RocksDB checkpoints its state as versioned zip files of SST files; Spark's store as .delta files.
    current_state = {path.suffix for path in (tmp_path / "current" / "checkpoint" / "state").rglob("*.*")}
    older_state = {path.suffix for path in (tmp_path / "older" / "checkpoint" / "state").rglob("*.*")}
    assert ".zip" in current_state and ".delta" not in current_state
    assert ".delta" in older_state and ".zip" not in older_state


def test_file_listings_are_not_kept_for_the_life_of_the_jvm(spark, tmp_path: Path) -> None:
    """Spark's JVM-wide cache of file listings is off: a stream's per-batch listings were never
    read again, and after a few thousand files they crowded a 1g heap out."""
    folder = tmp_path / "listed"
    folder.mkdir()
    for number in range(3):
        (folder / f"part-{number}.json").write_text(json.dumps({"n": number}) + "\n")
    assert spark.read.json(str(folder)).count() == 3
    jvm = spark.sparkContext._jvm
    cache = jvm.org.apache.spark.sql.execution.datasources.FileStatusCache.getOrCreate(spark._jsparkSession)
    assert cache.getClass().getName() == "org.apache.spark.sql.execution.datasources.NoopCache$"
