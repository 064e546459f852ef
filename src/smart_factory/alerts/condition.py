"""An alert's condition: which value of the query result to check, and against what.

As in Databricks SQL alerts, the value is one column of the result — its first row, or an
aggregate over all rows (``MAX``, ``SUM``, ``COUNT``…) that Spark computes — compared with
a threshold. A result with no rows takes the state the definition chose for it.

>>> condition = Condition("max_temperature_celsius", ">", 40, aggregation="MAX")
>>> condition.is_met(42.5), condition.describe()
(True, 'MAX(max_temperature_celsius) > 40')
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pyspark.sql import Column
from pyspark.sql import functions as F

# The symbol each operator is written and shown as, and Databricks' API names for the same.
OPERATOR_ALIASES: dict[str, str] = {
    ">": ">", "GREATER_THAN": ">",
    ">=": ">=", "GREATER_THAN_OR_EQUAL": ">=",
    "<": "<", "LESS_THAN": "<",
    "<=": "<=", "LESS_THAN_OR_EQUAL": "<=",
    "==": "==", "=": "==", "EQUAL": "==",
    "!=": "!=", "<>": "!=", "NOT_EQUAL": "!=",
    "IS NULL": "IS NULL", "IS_NULL": "IS NULL",
}  # fmt: skip
# Databricks' API name for each symbol (GREATER_THAN for >): what a Databricks-shaped payload says.
DATABRICKS_OPERATORS: dict[str, str] = {
    symbol: name for name, symbol in OPERATOR_ALIASES.items() if name.replace("_", "").isalpha() and " " not in name
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
}  # fmt: skip
# Operators that make sense for text values as well as numbers.
EQUALITY_OPERATORS = frozenset({"==", "!="})

AGGREGATIONS: dict[str, Callable[[str], Column]] = {
    "MAX": F.max,
    "MIN": F.min,
    "SUM": F.sum,
    "AVG": F.avg,
    "COUNT": F.count,
    "COUNT_DISTINCT": F.count_distinct,
    "MEDIAN": F.median,
    "STDDEV": F.stddev,
}

ALERT_STATES = ("OK", "TRIGGERED", "UNKNOWN")


@dataclass(frozen=True)
class Condition:
    column: str
    operator: str  # one of the symbols in OPERATOR_ALIASES' values
    threshold: float | str | None = None
    aggregation: str | None = None  # a key of AGGREGATIONS; None checks the first row's value
    empty_result_state: str = "UNKNOWN"

    def __post_init__(self) -> None:
        # Definitions are checked field by field when loaded; this guards direct construction.
        if self.operator not in _COMPARE and self.operator != "IS NULL":
            raise ValueError(f"unknown operator {self.operator!r}")
        if self.aggregation is not None and self.aggregation not in AGGREGATIONS:
            raise ValueError(f"unknown aggregation {self.aggregation!r}")
        if self.empty_result_state not in ALERT_STATES:
            raise ValueError(f"unknown state {self.empty_result_state!r}")

    @property
    def value_label(self) -> str:
        """The checked value as a reader would name it: ``MAX(max_temperature_celsius)``."""
        return f"{self.aggregation}({self.column})" if self.aggregation else self.column

    def describe(self) -> str:
        if self.operator == "IS NULL":
            return f"{self.value_label} IS NULL"
        return f"{self.value_label} {self.operator} {format_value(self.threshold)}"

    def value_expression(self) -> Column:
        """The Spark aggregate computing the value over every row (only with an aggregation)."""
        if self.aggregation is None:
            raise ValueError("a condition without aggregation reads the first row's value")
        return AGGREGATIONS[self.aggregation](self.column)

    def is_met(self, value: Any) -> bool:
        """Whether ``value`` (the query's value, already aggregated) meets the condition.

        Raises ``ValueError`` when the value cannot be compared with the threshold: the
        evaluation is then UNKNOWN with that message, never silently OK.
        """
        if self.operator == "IS NULL":
            return value is None
        if value is None:
            raise ValueError(f"{self.value_label} is NULL, so it cannot be compared with {self.threshold!r}")
        if isinstance(self.threshold, str):
            return _COMPARE[self.operator](str(value), self.threshold)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise ValueError(
                f"{self.value_label} is {value!r} ({type(value).__name__}), not a number to compare with "
                f"{format_value(self.threshold)}"
            )
        return _COMPARE[self.operator](float(value), float(self.threshold))


def format_value(value: Any) -> str:
    """A value as a notification shows it: ``40`` rather than ``40.0``, text as is."""
    if value is None:
        return "NULL"
    if isinstance(value, float | Decimal) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
