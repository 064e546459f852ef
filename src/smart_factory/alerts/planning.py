"""Plan alert queries without running them: what ``smart-factory alerts validate`` checks on Spark.

Loading a definition checks its fields; only Spark can tell whether its query parses, reads
tables and columns that exist, and returns the column the condition checks. Without this,
``evaluate`` found out on the alert's schedule (an UNKNOWN state and an error in
``alert_history``). Spark parses and analyses each query here against the lakehouse's tables
— no Spark job runs — and each problem names the definition's file and line.

>>> alert_query_problems(spark, load_alerts("alerts"))  # doctest: +SKIP
[]
"""

from __future__ import annotations

from py4j.protocol import Py4JJavaError
from pyspark.errors import PySparkException
from pyspark.errors.exceptions.captured import convert_exception
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import NumericType

from smart_factory.alerts.condition import format_value
from smart_factory.alerts.definition import AlertDefinition
from smart_factory.lakehouse import register_tables, storage_of


def alert_query_problems(spark: SparkSession, alerts: list[AlertDefinition]) -> list[str]:
    """Every problem of the alerts' queries, each as ``file:line: 'field' what is wrong``."""
    register_tables(spark, storage_of(spark))  # tables other processes wrote since this session began
    return [problem for alert in alerts for problem in _problems(spark, alert)]


def _problems(spark: SparkSession, alert: AlertDefinition) -> list[str]:
    where = alert.where("query")
    parse_error = _parse_error(spark, alert.query)
    if parse_error:
        return [f"{where}: 'query' does not parse: {parse_error}"]
    try:
        result = _analysed(spark, alert.query)
    except PySparkException as error:
        if "PARSE_SYNTAX_ERROR" in str(error):  # parsed alone, not as a subquery: a statement, not a query
            return [f"{where}: 'query' must be a query (SELECT …); an alert only reads"]
        return [f"{where}: 'query' cannot be planned against the tables: {_first_line(error)}"]
    return _condition_problems(alert, result)


def _parse_error(spark: SparkSession, query: str) -> str | None:
    """Spark's parse error for ``query``, or None. Parsing alone runs nothing, whatever the statement."""
    try:
        spark._jsparkSession.sessionState().sqlParser().parsePlan(query)
    except PySparkException as error:  # PySpark converts the JVM's ParseException on the way
        return _first_line(error)
    except Py4JJavaError as error:
        return _first_line(convert_exception(error.java_exception))
    return None


def _analysed(spark: SparkSession, query: str) -> DataFrame:
    # As a subquery, only a query parses: a command (INSERT, DROP, CACHE…), which spark.sql
    # would run at once, is refused by the parser instead. The query keeps lines of its own,
    # so a trailing comment cannot swallow the closing parenthesis.
    body = query.strip().rstrip(";")
    return spark.sql(f"SELECT * FROM (\n{body}\n) AS alert_query")  # analysed here, not run


def _condition_problems(alert: AlertDefinition, result: DataFrame) -> list[str]:
    condition, where = alert.condition, alert.where("condition.column")
    if condition.column not in result.columns:
        return [
            f"{where}: 'condition.column' {condition.column!r} is not a column of the query's result; "
            f"it returns {', '.join(result.columns)}"
        ]
    try:
        value = result.agg(condition.value_expression()) if condition.aggregation else result.select(condition.column)
        value_type = value.schema.fields[0].dataType
    except PySparkException as error:
        return [f"{where}: {condition.value_label} cannot be computed: {_first_line(error)}"]
    compares_numbers = condition.operator != "IS NULL" and not isinstance(condition.threshold, str)
    if compares_numbers and not isinstance(value_type, NumericType):
        return [
            f"{where}: {condition.value_label} is {value_type.simpleString()}, not a number to compare with "
            f"{format_value(condition.threshold)}"
        ]
    return []


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
