"""Auto Loader schema inference on real files: sampling, types, hints, the versioned schema store.

Databricks, "Configure schema inference and evolution in Auto Loader"
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/schema.html):
the schema is inferred from a sample of the first files (50 GB or 1000 files), JSON columns
are strings unless ``cloudFiles.inferColumnTypes`` is true, ``cloudFiles.schemaHints``
override types, and the schema is kept under ``<schemaLocation>/_schemas`` across restarts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cloud_files_support import BASE_MTIME, auto_loader, collect_available, jsonl, land
from pyspark.sql.types import DoubleType, StructType

from smart_factory.errors import CloudFilesError
from smart_factory.runtime.cloud_files import SchemaStore, inference

READING = {
    "device_id": "DEV-001",
    "temperature_celsius": 21.5,
    "vibration_count": 3,
    "online": True,
    "location": {"line": 2, "cell": "B"},
}


def types_of(schema: StructType) -> dict[str, str]:
    return {field.name: field.dataType.simpleString() for field in schema.fields}


def test_json_columns_are_strings_unless_types_are_inferred(spark, tmp_path) -> None:
    land(tmp_path / "landing", "a.json", jsonl(READING))

    as_strings = auto_loader(spark, tmp_path / "landing", tmp_path / "schema_strings")().schema
    typed = auto_loader(
        spark, tmp_path / "landing", tmp_path / "schema_typed", {"cloudFiles.inferColumnTypes": "true"}
    )().schema

    # Columns sorted by name, nested objects kept as their JSON text, then the rescued column.
    assert types_of(as_strings) == {
        "device_id": "string",
        "location": "string",
        "online": "string",
        "temperature_celsius": "string",
        "vibration_count": "string",
        "_rescued_data": "string",
    }
    assert list(types_of(as_strings)) == [
        "device_id", "location", "online", "temperature_celsius", "vibration_count", "_rescued_data"
    ]  # fmt: skip
    assert types_of(typed) == {
        "device_id": "string",
        "location": "struct<cell:string,line:bigint>",
        "online": "boolean",
        "temperature_celsius": "double",
        "vibration_count": "bigint",
        "_rescued_data": "string",
    }


def test_schema_hints_override_inferred_types_and_can_add_a_column(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", jsonl({"device_id": "DEV-1", "temperature_celsius": 21, "online": "true"}))
    build = auto_loader(
        spark,
        landing,
        tmp_path / "schema",
        {"cloudFiles.schemaHints": "temperature_celsius DOUBLE, ONLINE boolean, firmware_version STRING"},
    )

    schema = build().schema
    run = collect_available(spark, build, tmp_path / "checkpoint")

    assert types_of(schema) == {
        "device_id": "string",
        "online": "boolean",
        "temperature_celsius": "double",
        "_rescued_data": "string",
        "firmware_version": "string",
    }
    [row] = run.rows
    assert (row.device_id, row.temperature_celsius, row.online, row.firmware_version) == ("DEV-1", 21.0, True, None)
    assert row._rescued_data is None


def test_the_schema_is_inferred_once_from_the_oldest_files_and_kept_as_version_zero(spark, tmp_path) -> None:
    landing, schema_location = tmp_path / "landing", tmp_path / "schema"
    land(landing, "first.json", jsonl({"device_id": "DEV-1"}), mtime=BASE_MTIME)
    land(landing, "second.json", jsonl({"device_id": "DEV-2", "status": "ok"}), mtime=BASE_MTIME + 60)
    sampled_one_file = {"cloudFiles.schemaInference.sampleSize.numFiles": "1"}

    first_start = auto_loader(spark, landing, schema_location, sampled_one_file)().schema
    land(landing, "third.json", jsonl({"device_id": "DEV-3", "firmware": "1.2"}), mtime=BASE_MTIME + 120)
    # A restart reads the saved schema, even with the sample limit lifted and new files present.
    restart = auto_loader(spark, landing, schema_location)().schema

    assert first_start.names == ["device_id", "_rescued_data"]
    assert restart == first_start
    store = SchemaStore(schema_location)
    assert store.versions() == [0]
    saved = (schema_location / "_schemas" / "0").read_text().splitlines()
    assert saved[0] == "v1"
    assert [field["name"] for field in json.loads(saved[1])["fields"]] == ["device_id"]


def test_the_sample_size_spark_conf_databricks_documents_is_honoured(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "first.json", jsonl({"device_id": "DEV-1"}), mtime=BASE_MTIME)
    land(landing, "second.json", jsonl({"status": "ok"}), mtime=BASE_MTIME + 60)
    conf = "spark.databricks.cloudFiles.schemaInference.sampleSize.numFiles"
    spark.conf.set(conf, "1")
    try:
        schema = auto_loader(spark, landing, tmp_path / "schema")().schema
    finally:
        spark.conf.unset(conf)
    assert schema.names == ["device_id", "_rescued_data"]


def test_json_arrays_json_lines_and_multiline_documents_are_all_read(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    array_text = json.dumps([{"device_id": "DEV-A1"}, {"device_id": "DEV-A2"}], indent=2)
    land(landing, "array.json", "\n\n  " + array_text + "\n")  # whitespace before the array
    land(landing, "lines.json", "\ufeff" + jsonl({"device_id": "DEV-L1"}, {"device_id": "DEV-L2"}) + "\r\n\n")
    run = collect_available(spark, auto_loader(spark, landing, tmp_path / "schema"), tmp_path / "checkpoint")

    pretty = tmp_path / "pretty"
    land(pretty, "object.json", json.dumps({"device_id": "DEV-P1", "temperature_celsius": 20.5}, indent=2))
    multiline = collect_available(
        spark, auto_loader(spark, pretty, tmp_path / "schema_pretty", {"multiLine": "true"}), tmp_path / "ck_pretty"
    )

    assert sorted((row.device_id, row._rescued_data) for row in run.rows) == [
        ("DEV-A1", None), ("DEV-A2", None), ("DEV-L1", None), ("DEV-L2", None)
    ]  # fmt: skip
    assert [(row.device_id, row.temperature_celsius, row._rescued_data) for row in multiline.rows] == [
        ("DEV-P1", "20.5", None)
    ]


def test_blank_and_whitespace_only_lines_are_no_records_wherever_they_are(spark, tmp_path) -> None:
    # Files without such lines take a cheaper path than files with them; both must agree.
    landing = tmp_path / "landing"

    def record(number: int) -> str:
        return json.dumps({"device_id": f"DEV-{number}"})

    land(landing, "plain.json", record(1) + "\n\n" + record(2))
    land(landing, "spaces.json", "  \n" + record(3) + "\n \t \n" + record(4) + "\n   ")
    land(landing, "tabs.json", "\t" + record(5) + "\n\t\n")
    land(landing, "crlf.json", record(6) + "\r\n\r\n" + record(7) + "\r\n")
    land(landing, "whitespace_only.json", " \n\t\n")
    land(landing, "indented.json", "\n  " + record(8) + "\n")

    run = collect_available(spark, auto_loader(spark, landing, tmp_path / "schema"), tmp_path / "checkpoint")

    assert sorted((row.device_id, row._rescued_data) for row in run.rows) == [
        (f"DEV-{number}", None) for number in range(1, 9)
    ]
    assert {Path(entry["path"]).name: entry["records"] for entry in run.result.files} == {
        "plain.json": 2, "spaces.json": 2, "tabs.json": 1, "crlf.json": 2, "whitespace_only.json": 0,
        "indented.json": 1,
    }  # fmt: skip


def test_files_in_sub_folders_are_inferred_and_ingested_and_a_glob_filter_applies_to_both(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "2026-01-05/line-1/a.json", jsonl({"device_id": "DEV-1", "line": "1"}))
    land(landing, "2026-01-06/b.json", jsonl({"device_id": "DEV-2", "line": "2"}))
    land(landing, "2026-01-06/notes.txt", jsonl({"note": "filtered out by pathGlobFilter"}))
    # Spark's file source skips names starting with _ or . (a checkpoint kept inside, say).
    land(landing, "_checkpoint/x.json", jsonl({"ignored": "yes"}))

    build = auto_loader(spark, landing, tmp_path / "schema", {"pathGlobFilter": "*.json"})
    run = collect_available(spark, build, tmp_path / "checkpoint")

    assert build().schema.names == ["device_id", "line", "_rescued_data"]
    assert sorted((row.device_id, row.line) for row in run.rows) == [("DEV-1", "1"), ("DEV-2", "2")]


def test_an_empty_folder_cannot_be_inferred_and_says_what_to_do(spark, tmp_path) -> None:
    (tmp_path / "landing").mkdir()
    with pytest.raises(CloudFilesError, match=r"No files in .*landing to infer a schema from.*\.schema\("):
        auto_loader(spark, tmp_path / "landing", tmp_path / "schema")()
    assert not (tmp_path / "schema" / "_schemas").exists()


def test_an_empty_folder_with_a_given_schema_streams_files_that_arrive_later(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    landing.mkdir()
    build = auto_loader(spark, landing, None, schema="device_id STRING, temperature_celsius DOUBLE")
    empty_run = collect_available(spark, build, tmp_path / "checkpoint")
    land(landing, "a.json", jsonl({"device_id": "DEV-1", "temperature_celsius": 20}))
    later_run = collect_available(spark, build, tmp_path / "checkpoint")

    assert empty_run.rows == []
    assert [(row.device_id, row.temperature_celsius) for row in later_run.rows] == [("DEV-1", 20.0)]
    # A given schema is used as is: no rescued column unless asked for.
    assert build().schema.names == ["device_id", "temperature_celsius"]
    assert build().schema["temperature_celsius"].dataType == DoubleType()


def test_inferring_without_a_schema_location_is_a_clear_error(spark, tmp_path) -> None:
    land(tmp_path / "landing", "a.json", jsonl({"device_id": "DEV-1"}))
    with pytest.raises(CloudFilesError, match="needs cloudFiles.schemaLocation"):
        auto_loader(spark, tmp_path / "landing", None)()


def test_a_key_spelt_two_ways_keeps_the_spelling_most_records_use_however_often_one_repeats_it(
    spark, tmp_path
) -> None:
    landing = tmp_path / "landing"
    # One record repeats Device_ID three times; two records spell it device_id once each.
    repeated = '{"Device_ID": "DEV-X", "Device_ID": "DEV-Y", "Device_ID": "DEV-Z"}\n'
    land(landing, "readings.json", repeated + jsonl({"device_id": "DEV-1"}, {"device_id": "DEV-2"}))

    schema = auto_loader(spark, landing, tmp_path / "schema")().schema

    assert schema.names == ["device_id", "_rescued_data"]


@pytest.mark.parametrize("infer_column_types", [False, True])
def test_spark_s_one_pass_inference_finds_what_counting_each_record_s_keys_finds(
    spark, tmp_path, infer_column_types
) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", jsonl(READING, {"device_id": "DEV-2", "firmware": None}, {"note": "x\": 1"}))
    land(landing, "b.json", "\n  \n" + jsonl({"device_id": "DEV-3", "errors": [1, 2]}) + "\t\n")
    files = [str(path) for path in sorted(landing.iterdir())]

    one_pass = inference._fields_by_spark(spark, files, infer_column_types)
    counted = inference._fields_by_key_counts(spark, files, infer_column_types, "UTF-8", multiline=False)

    assert one_pass is not None
    assert sorted(one_pass, key=lambda field: field.name) == sorted(counted, key=lambda field: field.name)


def test_spark_s_one_pass_inference_steps_aside_where_only_counting_records_is_right(spark, tmp_path) -> None:
    cases = {
        "pretty-printed array": json.dumps([{"device_id": "DEV-1"}], indent=2),
        "two spellings": jsonl({"device_id": "DEV-1"}, {"Device_ID": "DEV-2"}),
        "a line that is not JSON": jsonl({"device_id": "DEV-1"}) + "not json\n",
    }
    for name, text in cases.items():
        folder = tmp_path / name.replace(" ", "_")
        land(folder, "f.json", text)
        assert inference._fields_by_spark(spark, [str(folder / "f.json")], False) is None, name


def test_the_jvm_key_count_finds_what_counting_each_record_s_keys_finds(spark, tmp_path) -> None:
    if not inference.uses_jvm_parsing(spark):
        pytest.skip("no helper jar here (no javac)")
    repeated = '{"Device_ID": "X", "Device_ID": "Y", "Device_ID": "Z"}\n'
    cases = {
        "plain": [jsonl(READING, {"device_id": "DEV-2", "firmware": None}, {"note": "x\": 1", "nested": {"a": [1]}})],
        "a key spelt two ways": [jsonl({"device_id": "DEV-1"}, {"Device_ID": "DEV-2"}, {"device_id": "DEV-3"})],
        # Counted once per record: device_id (two records) wins over Device_ID (one, three times).
        "repeated key": [repeated + jsonl({"device_id": "D"}, {"device_id": "E"})],
        "two files and an empty one": [jsonl({"a": 1}), jsonl({"b": "[1]"}, {"a": 2}), ""],
    }  # fmt: skip
    for name, contents in cases.items():
        folder = tmp_path / name.replace(" ", "_")
        files = [str(land(folder, f"[{index}].json", text)) for index, text in enumerate(contents)]

        by_jvm = inference._fields_by_jvm_key_counts(spark, files)
        counted = inference._fields_by_key_counts(spark, files, False, "UTF-8", multiline=False)

        assert by_jvm is not None, name
        assert sorted(by_jvm, key=lambda field: field.name) == sorted(counted, key=lambda field: field.name), name


def test_the_jvm_key_count_steps_aside_unless_every_record_is_one_object(spark, tmp_path) -> None:
    if not inference.uses_jvm_parsing(spark):
        pytest.skip("no helper jar here (no javac)")
    cases = {
        "pretty-printed array": json.dumps([{"device_id": "DEV-1"}], indent=2),
        "an array on one line": '[{"device_id": "DEV-1"}]\n',
        "a line that is not JSON": jsonl({"device_id": "DEV-1"}) + "not json\n",
        "a truncated record": '{"device_id": "DEV-1"',
        "trailing text": '{"device_id": "DEV-1"} extra\n',
        "single quotes": "{'device_id': 'DEV-1'}\n",
        "windows line endings": '{"device_id": "DEV-1"}\r\n',
        "two records on a line": '{"device_id": "DEV-1"} {"device_id": "DEV-2"}\n',
        "two records with no space": '{"device_id": "DEV-1"}{"device_id": "DEV-2"}\n',
        "a record over two lines": '{"device_id":\n"DEV-1"}\n',
    }
    for name, text in cases.items():
        folder = tmp_path / name.replace(" ", "_")
        land(folder, "f.json", text)
        assert inference._fields_by_jvm_key_counts(spark, [str(folder / "f.json")]) is None, name
