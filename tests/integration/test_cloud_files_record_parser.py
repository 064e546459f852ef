"""The JVM record parser (``RecordParser.java``) against Spark's ``from_json`` path it speeds up.

The parser decides which records take the fast path, so it must never call a record that
does not fit "fitting", and for the records it takes, it must give exactly the values
Spark's JSON parser gives. Both paths run here over the same awkward records.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from smart_factory.lakehouse.helper_jar import find_javac
from smart_factory.lakehouse.java import check_java
from smart_factory.runtime.cloud_files.jvm_parsing import JVM_PARSING_CONF, jvm_parsed, uses_jvm_parsing
from smart_factory.runtime.cloud_files.parsing import (
    LINE_COLUMN,
    RECORD_COUNT_COLUMN,
    TYPED_COLUMN,
    explode_lines,
    project_to_schema,
    split_into_records,
)

SCHEMA = (
    "device_id STRING, reading_id BIGINT, floor INT, temperature_celsius DOUBLE, ratio FLOAT, healthy BOOLEAN, "
    "seen_at TIMESTAMP, price DECIMAL(10,2), tags ARRAY<STRING>, _rescued_data STRING"
)
# The fast path's struct: the types Jackson reads itself, the others as text.
FAST_SCHEMA = (
    "device_id STRING, reading_id BIGINT, floor INT, temperature_celsius DOUBLE, ratio FLOAT, healthy BOOLEAN, "
    "seen_at STRING, price STRING, tags STRING"
)
FITTING = [
    '{"device_id": "DEV-1", "reading_id": 9007199254740993, "floor": 2, "temperature_celsius": 41.20}',
    '{"device_id": 123, "temperature_celsius": 40, "ratio": 0.1000, "healthy": true}',
    '{"device_id": 1e3, "floor": null, "ratio": 3, "healthy": false, "seen_at": "2026-01-05T08:00:00Z"}',
    '{"device_id": -0, "temperature_celsius": 1.0E10, "price": "12.345"}',
    '{"device_id": 12345678901234567890, "temperature_celsius": 3.141592653589793238}',
    '{"device_id": 0.1e-5, "healthy": true}',
    '  {"device_id": "caf\\u00e9 \\"quoted\\"", "reading_id": -42}  ',
    '{"device_id": "Zürich ✓"}',
    '{"device_id":"","floor":1}',
    '{"device_id": "line\\nbreak \\/ slash \\t tab"}',
    '{"floor": 1, "device_id": "at the end"}',
    "{}",
]
NOT_FITTING = [
    '{"device_id": "DEV-2", "unknown_field": 1}',  # a field the schema lacks
    '{"device_id": "DEV-3", "Device_ID": "upper"}',  # a case mismatch
    '{"device_id": "DEV-4", "device_id": "again"}',  # a repeated key
    '{"device_id": "DEV-5", "floor": "two"}',  # a value of another type
    '{"device_id": "DEV-6", "floor": 3000000000}',  # an int that does not fit INT
    '{"device_id": "DEV-7", "floor": 2.5}',
    '{"device_id": "DEV-8", "healthy": "yes"}',
    '{"device_id": {"nested": 1.50}}',  # an object where text is expected
    '{"device_id": "DEV-9", "tags": ["a", "b"]}',  # arrays are typed by the Spark path
    '{"device_id": "DEV-10", "temperature_celsius": NaN}',
    "{'device_id': 'DEV-11'}",  # single quotes: Spark's parser allows them, this one leaves them to it
    '{"device_id": "raw\tcontrol character"}',  # JSON allows no unescaped control character
    '{"device_id": "DEV-12"} trailing text',
    '{"device_id": "DEV-13", "tempera',  # cut short
    '["DEV-14"]',
    "gateway GW-07 rebooted",
    '"just a string"',
]


@pytest.fixture
def records(spark: SparkSession) -> DataFrame:
    lines = [(f"file:/landing/part-{index}.json", line) for index, line in enumerate(FITTING + NOT_FITTING)]
    return spark.createDataFrame(lines, f"path STRING, {LINE_COLUMN} STRING")


@pytest.fixture
def jvm_parser_off(spark: SparkSession) -> Iterator[None]:
    spark.conf.set(JVM_PARSING_CONF, "false")
    try:
        yield
    finally:
        spark.conf.unset(JVM_PARSING_CONF)


def test_the_session_has_the_jvm_parser_where_a_jdk_can_compile_it(spark: SparkSession) -> None:
    if find_javac(check_java().executable) is None:
        pytest.skip("no javac here: sessions run without the helper jar")
    assert uses_jvm_parsing(spark)


def test_only_records_that_fit_take_the_fast_path(spark: SparkSession, records: DataFrame) -> None:
    if not uses_jvm_parsing(spark):
        pytest.skip("this session has no JVM record parser")
    fast_path = jvm_parsed(F.col(LINE_COLUMN), StructType.fromDDL(FAST_SCHEMA))
    parsed = records.select(LINE_COLUMN, fast_path.alias(TYPED_COLUMN))
    fitting = {row[LINE_COLUMN]: row[TYPED_COLUMN] for row in parsed.collect()}
    assert [line for line in FITTING if fitting[line] is None] == []
    assert [line for line in NOT_FITTING if fitting[line] is not None] == []
    # The values are Spark's JSON parser's, down to how a number reads as text.
    expected = records.select(LINE_COLUMN, F.from_json(LINE_COLUMN, FAST_SCHEMA).alias("spark")).collect()
    for row in expected:
        if row[LINE_COLUMN] in FITTING:
            assert fitting[row[LINE_COLUMN]] == row.spark, row[LINE_COLUMN]


@pytest.mark.parametrize("rescue_unknown_fields", [True, False])
def test_both_parsers_give_the_same_rows(
    spark: SparkSession, records: DataFrame, rescue_unknown_fields: bool, request: pytest.FixtureRequest
) -> None:
    def project() -> list[dict]:
        schema = StructType.fromDDL(SCHEMA)
        rows = project_to_schema(records, schema, "_rescued_data", rescue_unknown_fields, None).collect()
        return sorted((row.asDict() for row in rows), key=repr)

    with_session_parser = project()
    request.getfixturevalue("jvm_parser_off")
    assert not uses_jvm_parsing(spark)
    assert project() == with_session_parser
    assert len(with_session_parser) == len(FITTING) + len(NOT_FITTING)


FILES = {
    "plain.json": '{"a": 1}\n{"a": 2}\n',
    "no_final_newline.json": '{"a": 1}\n{"a": 2}',
    "empty_lines.json": '\n\n{"a": 1}\n\n\n{"a": 2}\n\n',
    "only_newlines.json": "\n\n\n",
    "unicode.json": '{"a": "Zürich ✓ 😀"}\n{"a": "ß"}\n',
    "windows.json": '{"a": 1}\r\n{"a": 2}\r\n',
    "array.json": '[{"a": 1}, {"a": 2}]',
    "bom.json": '\ufeff{"a": 1}\n',
    "leading_space.json": ' {"a": 1}\n{"a": 2}\n',
    "indented_line.json": '{"a": 1}\n\t{"a": 2}\n',
    "blank_line_of_spaces.json": '{"a": 1}\n   \n{"a": 2}\n',
}
# Bytes that are not valid UTF-8 become U+FFFD either way: a stray continuation byte, an
# overlong form, an encoded surrogate, a code point past U+10FFFF, a sequence cut short.
INVALID_UTF8 = {
    "stray.json": b'{"a": "\x80"}\n{"a": 2}\n',
    "overlong.json": b'{"a": "\xc0\xaf"}\n',
    "surrogate.json": b'{"a": "\xed\xa0\x80"}\n',
    "too_high.json": b'{"a": "\xf4\x90\x80\x80"}\n',
    "cut_short.json": b'{"a": 1}\n{"a": "\xe2\x9c',
    "valid_4_byte.json": '{"a": "\U0001F600 \u00fc \u20ac"}\n'.encode(),
}


def test_both_ways_of_splitting_files_give_the_same_records(
    spark: SparkSession, tmp_path, request: pytest.FixtureRequest
) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name, data in INVALID_UTF8.items():
        (tmp_path / name).write_bytes(data)

    def split() -> tuple[list, list]:
        files = split_into_records(spark.read.format("binaryFile").load(str(tmp_path)), "UTF-8")
        counts = sorted((row.path.rsplit("/", 1)[1], row[RECORD_COUNT_COLUMN]) for row in files.collect())
        lines = sorted((row.path.rsplit("/", 1)[1], row[LINE_COLUMN]) for row in explode_lines(files).collect())
        return counts, lines

    counts, lines = split()
    assert dict(counts) == {"plain.json": 2, "no_final_newline.json": 2, "empty_lines.json": 2,
                            "only_newlines.json": 0, "unicode.json": 2, "windows.json": 2,
                            "array.json": 2, "bom.json": 1, "leading_space.json": 2, "indented_line.json": 2,
                            "blank_line_of_spaces.json": 2, "stray.json": 2, "overlong.json": 1, "surrogate.json": 1,
                            "too_high.json": 1, "cut_short.json": 2, "valid_4_byte.json": 1}  # fmt: skip
    assert ("unicode.json", '{"a": "Zürich ✓ 😀"}') in lines
    request.getfixturevalue("jvm_parser_off")
    assert split() == (counts, lines)
