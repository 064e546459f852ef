"""Rows held in Python become a DataFrame inside the JVM, equal to what createDataFrame makes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from smart_factory.lakehouse.local_rows import local_rows

SCHEMA = (
    "name STRING, count BIGINT, ratio DOUBLE, ok BOOLEAN, at TIMESTAMP, day DATE, "
    "origin STRUCT<pipeline: STRING, seq: STRUCT<n: BIGINT, id: STRING>>, tags ARRAY<STRING>, "
    "labels MAP<STRING, BIGINT>"
)
ROWS = [
    ("café ☕ \"quoted\"\nline", 3, 0.25, True, datetime(2026, 1, 5, 8, 0, 0, 123456), date(2026, 1, 5),
     ("Smart_Factory", (7, "u-1")), ["a", "b"], {"x": 1}),
    (None, None, None, None, None, None, None, None, None),
    ("aware", -1, float("inf"), False, datetime(2026, 1, 5, 9, 30, tzinfo=timezone(timedelta(hours=2))),
     date(1999, 12, 31), ("p", None), [], {}),
    ("now", 2**62, -0.0, True, datetime.now(UTC).replace(tzinfo=None), date.today(), ("p", (1, None)), [None], None),
]  # fmt: skip


def test_local_rows_equal_create_data_frame(spark) -> None:
    expected = spark.createDataFrame(ROWS, SCHEMA)
    frame = local_rows(spark, ROWS, SCHEMA)
    assert frame.schema.simpleString() == expected.schema.simpleString()
    assert frame.collect() == expected.collect()
    # Built in the JVM: no Python RDD (and so no Python worker) behind it.
    assert "LogicalRDD" not in frame._jdf.queryExecution().analyzed().toString()
    assert local_rows(spark, [], SCHEMA).count() == 0


def test_a_value_that_does_not_fit_its_column_raises(spark) -> None:
    with pytest.raises(Exception, match="(?i)malformed|parse|FAILFAST"):
        local_rows(spark, [("n", "not a number")], "name STRING, count BIGINT").collect()
