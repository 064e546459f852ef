"""Bad input never crashes ingestion and never goes missing: every record is in bronze, as data
or as rescued data naming its file.

A pipeline is running on good sensor files when the corpus in ``tests/data/bad_input/``
arrives (see its README), with a simulator run full of broken lines. What bronze must hold
is worked out independently of the runtime, by Python's own ``json`` module, file by file:

- a line (or array element) that parses is a record: each field is in its column with the
  same value, or, when it cannot be the column's type, in ``_rescued_data``; fields the
  schema did not have become new columns (schema evolution);
- a line that does not parse is one row whose ``_rescued_data`` holds it whole
  (``_corrupt_record``); blank lines are nothing;
- every rescued row names its file (``_file_path``), the file its row came from.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from smart_factory.runtime.ingestion import IngestionResult
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator
from smart_factory.testing.ingestion_child import SOURCE_FILE_COLUMN, IngestionJob

CORPUS = Path(__file__).parents[1] / "data" / "bad_input"
# Not UTF-8: decoded lossily (U+FFFD for bad bytes), so they are rescued, never fatal.
NOT_UTF8 = ("latin1.jsonl", "utf16.jsonl", "binary_garbage.bin")
EVERYDAY_CORPUS = sorted(path.name for path in CORPUS.iterdir() if path.name not in (*NOT_UTF8, "README.md"))
NUMERIC_COLUMNS = ("temperature_celsius", "vibration_hz")
SCHEMA_HINTS = ", ".join(f"{name} DOUBLE" for name in NUMERIC_COLUMNS)
RESCUED = "_rescued_data"
LONG_VALUE_LENGTH = 1_000_000
# Every reading has a device id, so (file, device_id, timestamp) names one record.
PLAIN = Scenario(missing_device_id_share=0.0)
BROKEN_LINES = Scenario(missing_device_id_share=0.0, malformed=True, malformed_share=0.02)


@dataclass
class ExpectedFile:
    """What one landed file must give, according to Python's json module."""

    records: list[dict] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)


def expected_from(path: Path) -> ExpectedFile:
    # Undecodable bytes are replaced (as Spark 3 and Python's "replace" do), never fatal.
    text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    expected = ExpectedFile()
    if text.lstrip().startswith("["):
        try:
            expected.records = json.loads(text)
        except json.JSONDecodeError:
            expected.corrupt = [text]
        return expected
    for line in re.split(r"\r?\n", text):
        if not line.strip():
            continue
        try:
            expected.records.append(json.loads(line))
        except json.JSONDecodeError:
            expected.corrupt.append(line)
    return expected


def column_text(value: object) -> str:
    """A JSON value as a string column holds it: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def relaxed(value: object) -> object:
    """A rescued value, with JSON text (objects, arrays) parsed for comparison."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def lossy(text: str) -> str:
    # Decoders differ in how many replacement characters a broken byte run becomes.
    return re.sub("\ufffd+", "\ufffd", text)


class Pipeline:
    """A landing folder, its bronze table, and the simulator feeding it."""

    def __init__(self, spark: SparkSession, folder: Path) -> None:
        self.spark = spark
        self.landing = folder / "landing"
        self.job = IngestionJob(self.landing, folder / "bronze", folder / "checkpoint", schema_hints=SCHEMA_HINTS)
        self.simulator = SensorSimulator(DeviceRegistry.generate(num_devices=30, seed=11), seed=11)

    def land_readings(self, scenario: Scenario, num_files: int = 1) -> LandingManifest:
        return self.simulator.land_batches(self.landing, num_files=num_files, readings_per_file=150, scenario=scenario)

    def land_corpus(self, *names: str) -> None:
        for name in names:
            shutil.copyfile(CORPUS / name, self.landing / name)

    def ingest(self) -> IngestionResult:
        return self.job.run(self.spark)

    def bronze_rows_by_file(self) -> dict[str, list[dict]]:
        rows: dict[str, list[dict]] = {}
        for row in self.spark.read.format("delta").load(str(self.job.table)).collect():
            rows.setdefault(row[SOURCE_FILE_COLUMN].rsplit("/", 1)[-1], []).append(row.asDict())
        return rows


@pytest.fixture
def pipeline(spark: SparkSession, tmp_path: Path) -> Pipeline:
    running = Pipeline(spark, tmp_path)
    running.land_readings(PLAIN, num_files=2)
    first = running.ingest()
    assert first.batches and first.schema_restarts == 0  # the schema comes from good data
    return running


def assert_every_record_accounted_for(pipeline: Pipeline) -> None:
    """Bronze holds each landed file's records and broken lines exactly as Python parses them."""
    bronze = pipeline.bronze_rows_by_file()
    landed = sorted(path.name for path in pipeline.landing.iterdir())
    assert set(bronze) <= set(landed)
    data_columns = [name for name in next(iter(bronze.values()))[0] if name not in (RESCUED, SOURCE_FILE_COLUMN)]
    for name in landed:
        expected = expected_from(pipeline.landing / name)
        rows = bronze.get(name, [])
        assert len(rows) == len(expected.records) + len(expected.corrupt), name
        corrupt, parsed = [], {}
        for row in rows:
            rescued = json.loads(row[RESCUED]) if row[RESCUED] else {}
            if rescued:
                assert rescued.pop("_file_path") == row[SOURCE_FILE_COLUMN], (name, row)
            if "_corrupt_record" in rescued:
                assert all(row[column] is None for column in data_columns), (name, row)
                corrupt.append(lossy(rescued["_corrupt_record"]))
            else:
                parsed[(row["device_id"], row["timestamp"])] = (row, rescued)
        assert sorted(corrupt) == sorted(lossy(text) for text in expected.corrupt), name
        assert len(parsed) == len(expected.records), name
        for record in expected.records:
            row, rescued = parsed[(record["device_id"], record["timestamp"])]
            assert_record_landed(record, row, rescued, data_columns, name)


def assert_record_landed(record: dict, row: dict, rescued: dict, data_columns: list[str], file_name: str) -> None:
    should_rescue = {key: value for key, value in record.items() if key in NUMERIC_COLUMNS and not is_number(value)}
    assert {key: relaxed(value) for key, value in rescued.items()} == should_rescue, (file_name, row)
    assert set(record) - set(should_rescue) <= set(data_columns), (file_name, "a field has no column")
    for column in data_columns:
        if column not in record or column in should_rescue:
            assert row[column] is None, (file_name, column, row)
        elif column in NUMERIC_COLUMNS:
            assert row[column] == float(record[column]), (file_name, column)
        else:
            assert lossy(row[column]) == lossy(column_text(record[column])), (file_name, column)


def test_bad_input_lands_in_rescued_data_and_good_input_lands_intact(pipeline: Pipeline) -> None:
    pipeline.land_corpus(*EVERYDAY_CORPUS)
    long_record = {"device_id": "BAD-40", "timestamp": "2026-01-05T09:40:00.000Z", "plant": "P" * LONG_VALUE_LENGTH}
    (pipeline.landing / "long_line.jsonl").write_text(json.dumps(long_record) + "\n")
    broken = pipeline.land_readings(BROKEN_LINES)
    pipeline.land_readings(PLAIN)

    result = pipeline.ingest()

    assert result.schema_restarts == 1  # new_fields.jsonl brought two columns
    assert_every_record_accounted_for(pipeline)
    bronze = pipeline.bronze_rows_by_file()
    # The simulator's own count of what it broke agrees with what bronze rescued.
    totals = broken.totals
    broken_rows = [row for landed in broken.files for row in bronze.get(landed.name, [])]
    rescued = [json.loads(row[RESCUED]) for row in broken_rows if row[RESCUED]]
    assert sum("temperature_celsius" in fields for fields in rescued) == totals.wrong_type_lines
    corrupt = sum("_corrupt_record" in fields for fields in rescued)
    assert corrupt == totals.truncated_lines + broken.malformed_files["not_json"]
    assert len(rescued) == totals.wrong_type_lines + corrupt  # and no other row needed rescuing
    # A few cases spelled out, so a reader sees what "accounted for" means.
    (long_row,) = bronze["long_line.jsonl"]
    assert len(long_row["plant"]) == LONG_VALUE_LENGTH
    (evolved,) = bronze["new_fields.jsonl"]
    assert (evolved["firmware"], evolved["battery_percent"]) == ("v2.1", "87")
    (repeated_key,) = bronze["duplicate_keys.jsonl"]
    assert repeated_key["temperature_celsius"] == 22.5  # the last of its two values, as Spark and Python read it
    assert "empty.jsonl" not in bronze


def test_a_file_that_is_not_utf8_is_rescued_not_fatal(pipeline: Pipeline) -> None:
    pipeline.land_corpus(*NOT_UTF8)
    pipeline.land_readings(PLAIN)

    pipeline.ingest()

    assert_every_record_accounted_for(pipeline)
