"""Run an alert's query on Spark and turn its result into a state.

Spark does the data work: the row count and the aggregate come back from one aggregation,
and only the first few rows (for the notification's table) reach Python. A query that
fails — a missing table, a typo, a value that cannot be compared — makes the evaluation
UNKNOWN with the error kept, never OK.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from smart_factory.alerts.definition import AlertDefinition

# How many rows a notification shows: enough to name the machines, short enough for a chat message.
SHOWN_ROWS = 10


@dataclass(frozen=True)
class QueryOutcome:
    state: str  # OK, TRIGGERED or UNKNOWN
    value: Any = None
    row_count: int = 0
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Any, ...], ...] = ()  # the first SHOWN_ROWS rows, in the query's order
    error: str | None = None


def run_alert_query(spark: SparkSession, alert: AlertDefinition, shown_rows: int = SHOWN_ROWS) -> QueryOutcome:
    """Evaluate ``alert``'s query and condition once."""
    condition = alert.condition
    try:
        frame = spark.sql(alert.query)
        columns = tuple(frame.columns)
        if condition.column not in columns:
            returned = ", ".join(columns)
            error = f"The query has no column {condition.column!r} (condition.column); it returns {returned}."
            return QueryOutcome("UNKNOWN", columns=columns, error=error)
        # Run the query once: the aggregate and the shown rows then read its materialized result.
        frame = frame.localCheckpoint()
        summary = [F.count(F.lit(1)).alias("row_count")]
        if condition.aggregation:
            summary.append(condition.value_expression().alias("value"))
        totals = frame.agg(*summary).first()
        rows = tuple(tuple(row) for row in frame.limit(max(shown_rows, 1)).collect())
    except (PySparkException, Py4JError) as error:
        # Spark's message without the JVM stack trace that follows it.
        return QueryOutcome("UNKNOWN", error=f"{type(error).__name__}: {(str(error).strip() or '-').splitlines()[0]}")
    outcome = QueryOutcome("UNKNOWN", None, totals.row_count, columns, rows[:shown_rows])
    if totals.row_count == 0:
        return replace(outcome, state=condition.empty_result_state)
    value = totals.value if condition.aggregation else rows[0][columns.index(condition.column)]
    try:
        met = condition.is_met(value)
    except ValueError as error:
        return replace(outcome, value=value, error=str(error))
    return replace(outcome, value=value, state="TRIGGERED" if met else "OK")
