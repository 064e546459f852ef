"""Schema evolution modes when new columns arrive: addNewColumns, rescue, failOnNewColumns, none.

Databricks, "How does Auto Loader schema evolution work?"
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/schema.html#evolution):
``addNewColumns`` (the default without a schema) stops the stream after saving the merged
schema, and a restart reads the new column; ``rescue`` never changes the schema and keeps new
fields in the rescued data column; ``failOnNewColumns`` stops and does not evolve; ``none``
ignores new fields, rescuing them only with the ``rescuedDataColumn`` option. ``none`` is the
default with a given schema, with which ``addNewColumns`` is not allowed.
"""

from __future__ import annotations

import json

import pytest
from cloud_files_support import BASE_MTIME, auto_loader, collect_available, jsonl, land

from smart_factory.errors import CloudFilesError, NewColumnsRejected, SchemaChangedError
from smart_factory.runtime.cloud_files import SchemaStore, schema_change_from
from smart_factory.runtime.ingestion import ingest_available
from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator

FIRST = {"device_id": "DEV-1", "temperature_celsius": 21.5}
WITH_HUMIDITY = {"device_id": "DEV-2", "temperature_celsius": 22.0, "humidity_percent": 40}


def mode(name: str) -> dict[str, str]:
    return {"cloudFiles.schemaEvolutionMode": name}


def land_first_then_new_column(spark, tmp_path, options=None):
    """a.json is inferred (schema version 0), then a file with humidity_percent arrives."""
    landing, schema_location = tmp_path / "landing", tmp_path / "schema"
    land(landing, "a.json", jsonl(FIRST), mtime=BASE_MTIME)
    build = auto_loader(spark, landing, schema_location, options)
    build()
    new_file = land(landing, "line 2 readings.json", jsonl(WITH_HUMIDITY), mtime=BASE_MTIME + 60)
    return build, schema_location, new_file


def run_once_without_restart(spark, build, checkpoint):
    """Start the stream once, as a plain query would, and return the error it stopped with."""
    query = build().writeStream.format("noop").option("checkpointLocation", str(checkpoint))
    query = query.trigger(availableNow=True).start()
    try:
        query.awaitTermination()
    except Exception as error:
        return error
    return None


def test_add_new_columns_saves_the_merged_schema_stops_and_a_restart_reads_the_column(spark, tmp_path) -> None:
    typed = {"cloudFiles.inferColumnTypes": "true"}
    build, schema_location, _ = land_first_then_new_column(spark, tmp_path, typed)

    failure = run_once_without_restart(spark, build, tmp_path / "checkpoint")
    change = schema_change_from(spark, failure)
    restarted = collect_available(spark, build, tmp_path / "checkpoint")

    assert isinstance(change, SchemaChangedError)
    assert change.new_columns == ("humidity_percent",) and change.schema_version == 1
    assert "line%202%20readings.json" in str(change)
    store = SchemaStore(schema_location)
    assert store.versions() == [0, 1]
    assert store.read(0).names == ["device_id", "temperature_celsius"]
    # New columns go at the end, typed as inference types them.
    assert store.read(1).simpleString() == (
        "struct<device_id:string,temperature_celsius:double,humidity_percent:bigint>"
    )
    assert build().schema.names == ["device_id", "temperature_celsius", "humidity_percent", "_rescued_data"]
    assert sorted((row.device_id, row.humidity_percent) for row in restarted.rows) == [
        ("DEV-1", None), ("DEV-2", 40)
    ]  # fmt: skip


def test_rescue_mode_keeps_the_schema_and_rescues_new_fields(spark, tmp_path) -> None:
    build, schema_location, new_file = land_first_then_new_column(spark, tmp_path, mode("rescue"))

    run = collect_available(spark, build, tmp_path / "checkpoint")

    assert run.result.schema_restarts == 0
    assert SchemaStore(schema_location).versions() == [0]
    rescued = {row.device_id: row._rescued_data for row in run.rows}
    assert rescued["DEV-1"] is None
    assert json.loads(rescued["DEV-2"]) == {
        "humidity_percent": 40, "_file_path": "file:" + str(new_file).replace(" ", "%20")
    }  # fmt: skip


def test_fail_on_new_columns_names_the_columns_and_the_file_and_keeps_the_schema(spark, tmp_path) -> None:
    build, schema_location, _ = land_first_then_new_column(spark, tmp_path, mode("failOnNewColumns"))

    with pytest.raises(NewColumnsRejected, match=r"humidity_percent in .*line%202%20readings\.json.*failOnNewColumns"):
        ingest_available(spark, build, str(tmp_path / "bronze"), str(tmp_path / "checkpoint"))
    # The stream cannot get past the file: a second run stops the same way.
    with pytest.raises(NewColumnsRejected):
        ingest_available(spark, build, str(tmp_path / "bronze"), str(tmp_path / "checkpoint"))
    assert SchemaStore(schema_location).versions() == [0]


def test_none_mode_ignores_new_fields_unless_a_rescued_data_column_is_named(spark, tmp_path) -> None:
    build, schema_location, _ = land_first_then_new_column(spark, tmp_path, mode("none"))
    ignored = collect_available(spark, build, tmp_path / "checkpoint")
    named = auto_loader(spark, tmp_path / "landing", schema_location, {**mode("none"), "rescuedDataColumn": "_extra"})
    rescued = collect_available(spark, named, tmp_path / "checkpoint_named")

    assert sorted(tuple(row) for row in ignored.rows) == [("DEV-1", "21.5", None), ("DEV-2", "22.0", None)]
    assert SchemaStore(schema_location).versions() == [0]
    assert named().schema.names == ["device_id", "temperature_celsius", "_extra"]
    extra = {row.device_id: row._extra for row in rescued.rows}
    assert extra["DEV-1"] is None and json.loads(extra["DEV-2"])["humidity_percent"] == 40


def test_a_given_schema_defaults_to_none_and_refuses_add_new_columns(spark, tmp_path) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", jsonl(FIRST, WITH_HUMIDITY))
    given = "device_id STRING, temperature_celsius DOUBLE"

    run = collect_available(spark, auto_loader(spark, landing, None, schema=given), tmp_path / "checkpoint")
    with pytest.raises(CloudFilesError, match=r"addNewColumns needs an inferred schema.*schemaHints"):
        auto_loader(spark, landing, tmp_path / "schema", mode("addNewColumns"), given)()

    assert sorted(tuple(row) for row in run.rows) == [("DEV-1", 21.5), ("DEV-2", 22.0)]


def test_a_simulated_schema_change_is_ingested_end_to_end(spark, tmp_path) -> None:
    landing, table = tmp_path / "landing", str(tmp_path / "bronze")
    simulator = SensorSimulator(DeviceRegistry.generate(num_devices=5, seed=7), seed=7)
    before = simulator.land_batches(landing, num_files=2, readings_per_file=20, scenario=Scenario(malformed=True))
    hints = {"cloudFiles.schemaHints": "timestamp TIMESTAMP, temperature_celsius DOUBLE"}
    build = auto_loader(spark, landing, tmp_path / "schema", hints)
    first = ingest_available(spark, build, table, str(tmp_path / "checkpoint"))
    after = simulator.land_batches(landing, num_files=2, readings_per_file=20, scenario=Scenario(schema_change=True))
    second = ingest_available(spark, build, table, str(tmp_path / "checkpoint"))

    bronze = spark.read.format("delta").load(table)
    lines_before = before.totals.records + sum(before.totals.malformed_lines.values())
    # ingest_available restarted the stream once, on the saved schema version 1.
    assert (first.schema_restarts, second.schema_restarts) == (0, 1)
    assert SchemaStore(tmp_path / "schema").versions() == [0, 1]
    # Every line is a row: readings, duplicates, garbled lines, and the not-JSON file's line.
    assert first.rows_written == lines_before + before.malformed_files["not_json"]
    assert second.rows_written == after.totals.records
    assert bronze.count() == first.rows_written + second.rows_written
    # Rows written before the change read null for the new column.
    assert bronze.where("humidity_percent IS NOT NULL").count() == after.totals.readings_with_humidity
    hot = bronze.where("get_json_object(_rescued_data, '$.temperature_celsius') = 'hot'")
    unreadable = bronze.where("get_json_object(_rescued_data, '$._corrupt_record') IS NOT NULL")
    assert hot.count() == before.totals.wrong_type_lines
    # The simulator's ISO-8601 timestamps all fit the hinted type: none rescued, none lost.
    assert bronze.where("timestamp IS NULL").count() == unreadable.count()
    assert unreadable.count() == before.totals.truncated_lines + before.malformed_files["not_json"]
