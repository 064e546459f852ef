"""Rescued data and the ``_metadata`` column: nothing that arrives is lost, and every row says where from.

Databricks, "What is the rescued data column?"
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/schema.html#rescue):
the rescued data column holds, as JSON, the fields that did not fit the schema (a type
mismatch, a column missing from the schema, a different case) plus ``_file_path``. Databricks,
"File metadata column" (https://docs.databricks.com/en/ingestion/file-metadata-column.html):
``_metadata.file_path``, ``file_name``, ``file_size`` and ``file_modification_time``.
"""

from __future__ import annotations

import json
from pathlib import Path

from cloud_files_support import BASE_MTIME, auto_loader, collect_available, jsonl, land
from pyspark.sql import functions as F

HINTS = {"cloudFiles.schemaHints": "temperature_celsius DOUBLE"}


def rescued(row) -> dict | None:
    return json.loads(row._rescued_data) if row._rescued_data is not None else None


def test_mismatched_fields_and_unreadable_records_are_rescued_with_their_file(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "first.json", jsonl({"device_id": "DEV-0", "temperature_celsius": 20}), mtime=BASE_MTIME - 1)
    build = auto_loader(spark, landing, tmp_path / "schema", {**HINTS, "cloudFiles.schemaEvolutionMode": "rescue"})
    build()  # the schema is inferred from the first file: device_id, temperature_celsius DOUBLE
    readings = land(
        landing,
        "readings.json",
        jsonl(
            {"device_id": "DEV-1", "temperature_celsius": 21.5},
            {"device_id": "DEV-2", "temperature_celsius": "hot"},
            {"device_id": "DEV-3", "Device_ID": "dev-3-upper", "temperature_celsius": 22},
            {"device_id": "DEV-4", "device_id ": "x", "temperature_celsius": 23, "temperature_celsius_": 1},
        )
        + '{"device_id": "DEV-5", "tempera\n'  # a line cut short
        + '{"device_id": "DEV-6", "device_id": "DEV-6-again"}\n',  # a repeated key: the last one wins
        mtime=BASE_MTIME,
    )
    not_json = land(landing, "gateway.log", "gateway GW-07 rebooted: sensor buffer lost\n", mtime=BASE_MTIME + 1)
    broken_array = land(landing, "broken.json", '[{"device_id": "DEV-7"}, {"device_id": "DE', mtime=BASE_MTIME + 2)
    land(landing, "empty.json", "", mtime=BASE_MTIME + 3)

    run = collect_available(spark, build, tmp_path / "checkpoint")

    rows = {(row.device_id, row._rescued_data is not None): row for row in run.rows}
    path_of = {path: f"file:{path}" for path in (readings, not_json, broken_array)}
    # first.json's record, six lines, the log line, the broken array; the empty file has none.
    assert len(run.rows) == 9
    assert build().schema.names == ["device_id", "temperature_celsius", "_rescued_data"]
    assert rows["DEV-1", False].temperature_celsius == 21.5
    assert rows["DEV-2", True].temperature_celsius is None
    assert rescued(rows["DEV-2", True]) == {"temperature_celsius": "hot", "_file_path": path_of[readings]}
    assert rows["DEV-3", True].temperature_celsius == 22.0
    assert rescued(rows["DEV-3", True]) == {"Device_ID": "dev-3-upper", "_file_path": path_of[readings]}
    assert rescued(rows["DEV-4", True]) == {
        "device_id ": "x", "temperature_celsius_": 1, "_file_path": path_of[readings]
    }  # fmt: skip
    assert rows["DEV-6-again", False].temperature_celsius is None
    unreadable = sorted(
        (rescued(row)["_file_path"], rescued(row)["_corrupt_record"]) for row in run.rows if row.device_id is None
    )
    assert unreadable == sorted([
        (path_of[readings], '{"device_id": "DEV-5", "tempera'),
        (path_of[not_json], "gateway GW-07 rebooted: sensor buffer lost"),
        (path_of[broken_array], '[{"device_id": "DEV-7"}, {"device_id": "DE'),
    ])  # fmt: skip
    for row in run.rows:
        if row.device_id is None:
            assert row.temperature_celsius is None and set(rescued(row)) == {"_corrupt_record", "_file_path"}


def test_rescued_values_keep_their_json_types(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", jsonl({"device_id": "DEV-1"}), mtime=BASE_MTIME)
    build = auto_loader(spark, landing, tmp_path / "schema", {"cloudFiles.schemaEvolutionMode": "rescue"})
    build()  # the schema is inferred from a.json alone
    land(
        landing,
        "b.json",
        jsonl({"device_id": "DEV-2", "humidity_percent": 40, "location": {"line": 2}, "ok": True, "note": None}),
        mtime=BASE_MTIME + 1,
    )

    run = collect_available(spark, build, tmp_path / "checkpoint")
    [row] = [row for row in run.rows if row.device_id == "DEV-2"]
    # Read back as Databricks users do: parse the JSON with the types the fields had.
    parsed = (
        spark.createDataFrame([(row._rescued_data,)], "_rescued_data STRING")
        .select(F.from_json("_rescued_data", "humidity_percent INT, location STRUCT<line: INT>, ok BOOLEAN").alias("r"))
        .first()
        .r
    )

    assert build().schema.names == ["device_id", "_rescued_data"]  # rescue never changes the schema
    assert (parsed.humidity_percent, parsed.location.line, parsed.ok) == (40, 2, True)
    assert json.loads(row._rescued_data) == {
        "humidity_percent": 40, "location": {"line": 2}, "ok": True, "note": None,
        "_file_path": f"file:{landing / 'b.json'}",
    }  # fmt: skip


def test_the_metadata_column_describes_each_rows_file(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    first = land(landing, "line-1.json", jsonl({"device_id": "DEV-1"}, {"device_id": "DEV-2"}), mtime=BASE_MTIME)
    second = land(landing, "line 2.json", jsonl({"device_id": "DEV-3"}), mtime=BASE_MTIME + 90)

    def with_metadata(stream):
        return stream.select(
            "device_id",
            F.col("_metadata.file_path").alias("file_path"),
            F.col("_metadata.file_name").alias("file_name"),
        ).withColumns({
            "file_size": F.col("_metadata.file_size"),
            "modified": F.col("_metadata.file_modification_time").cast("long"),
        })  # fmt: skip

    build = auto_loader(spark, landing, tmp_path / "schema", then=with_metadata)
    run = collect_available(spark, build, tmp_path / "checkpoint")

    def expected(path: Path, device_id: str) -> tuple:
        stat = path.stat()
        # Spark names files URL-encoded in _metadata (as in its checkpoint): "line%202.json".
        encoded_name = path.name.replace(" ", "%20")
        return (device_id, f"file:{path.parent}/{encoded_name}", encoded_name, stat.st_size, int(stat.st_mtime))

    assert sorted(tuple(row) for row in run.rows) == [
        expected(first, "DEV-1"), expected(first, "DEV-2"), expected(second, "DEV-3")
    ]  # fmt: skip
