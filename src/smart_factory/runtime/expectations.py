"""Expectations applied in the same pass that writes the data.

A record *fails* an expectation when its constraint is false (NULL counts as passing, as
in SQL CHECK constraints). Counts come from one ``observe`` over the rows on their way to
the table — the data is never read twice. ``fail`` rules stop the write at the first
offending row with a message naming the rule, the dataset and the row; the Delta commit
never happens, so the table keeps its previous version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pyspark.sql import Column, DataFrame, Observation
from pyspark.sql import functions as F

from smart_factory.errors import ExpectationFailed
from smart_factory.runtime.definitions import Expectation
from smart_factory.runtime.failure_causes import FailureCause
from smart_factory.runtime.spark_errors import exception_chain_text

FAILED_TAG = "PIPELINE_EXPECTATION_FAILED"
_FAILED_PATTERN = re.compile(rf"\[{FAILED_TAG}\] dataset=(\S+) rule=(.+?) row=(.*?) \[end\]", re.DOTALL)


@dataclass(frozen=True)
class ExpectationResult:
    name: str
    dataset: str
    passed_records: int
    failed_records: int


@dataclass(frozen=True)
class QualityMetrics:
    input_rows: int
    dropped_records: int
    expectations: tuple[ExpectationResult, ...]

    @property
    def output_rows(self) -> int:
        return self.input_rows - self.dropped_records

    def __add__(self, other: QualityMetrics) -> QualityMetrics:
        by_name = {result.name: result for result in self.expectations}
        merged = []
        for result in other.expectations:
            before = by_name.pop(result.name, None)
            merged.append(
                result
                if before is None
                else ExpectationResult(
                    result.name,
                    result.dataset,
                    before.passed_records + result.passed_records,
                    before.failed_records + result.failed_records,
                )
            )
        return QualityMetrics(
            self.input_rows + other.input_rows,
            self.dropped_records + other.dropped_records,
            tuple(by_name.values()) + tuple(merged),
        )

    @classmethod
    def empty(cls, dataset: str, expectations: tuple[Expectation, ...]) -> QualityMetrics:
        return cls(0, 0, tuple(ExpectationResult(e.name, dataset, 0, 0) for e in expectations))


def _breaks(expectation: Expectation) -> Column:
    return ~F.coalesce(F.expr(expectation.constraint), F.lit(True))


class ExpectationCheck:
    """Wraps one write: ``checked = check.apply(frame)``, write it, then ``check.metrics()``."""

    def __init__(self, dataset: str, expectations: tuple[Expectation, ...]) -> None:
        self.dataset = dataset
        self.expectations = expectations
        self.observation = Observation(f"expectations:{dataset}")

    def apply(self, frame: DataFrame) -> DataFrame:
        drop_rules = [e for e in self.expectations if e.action == "drop"]
        any_dropped = F.lit(False)
        for rule in drop_rules:
            any_dropped = any_dropped | _breaks(rule)
        metrics = [F.count(F.lit(1)).alias("input_rows"),
                   F.sum(any_dropped.cast("long")).alias("dropped")]  # fmt: skip
        metrics += [F.sum(_breaks(e).cast("long")).alias(f"failed_{i}") for i, e in enumerate(self.expectations)]
        checked = frame.observe(self.observation, *metrics)
        for rule in (e for e in self.expectations if e.action == "fail"):
            row_json = F.to_json(F.struct(*[F.col(f"`{name}`") for name in frame.columns]))
            message = F.concat(
                F.lit(f"[{FAILED_TAG}] dataset={self.dataset} rule={rule.name} row="), row_json, F.lit(" [end]")
            )
            checked = checked.where(F.when(_breaks(rule), F.raise_error(message).cast("boolean")).otherwise(True))
        if drop_rules:
            checked = checked.where(~any_dropped)
        return checked

    def metrics(self) -> QualityMetrics:
        values = self.observation.get
        input_rows = int(values.get("input_rows") or 0)
        results = tuple(
            ExpectationResult(
                rule.name,
                self.dataset,
                input_rows - int(values.get(f"failed_{i}") or 0),
                int(values.get(f"failed_{i}") or 0),
            )
            for i, rule in enumerate(self.expectations)
        )
        return QualityMetrics(input_rows, int(values.get("dropped") or 0), results)


def expectation_failure_from(error: BaseException) -> ExpectationFailed | None:
    """The :class:`ExpectationFailed` hidden in a Spark error, if a ``fail`` rule caused it."""
    match = _FAILED_PATTERN.search(exception_chain_text(error))
    if match is None:
        return None
    dataset, rule, row = match.groups()
    return ExpectationFailed(
        f"Expectation '{rule}' failed on dataset '{dataset}' (expect_or_fail): offending row {row}. "
        f"The table '{dataset}' keeps its previous version; fix the data or the rule, then run again."
    )


def expectation_at_fault(cause: FailureCause, expectations: tuple[Expectation, ...]) -> FailureCause:
    """``cause``, naming the expectation whose constraint Spark was evaluating when it failed.

    An expectation on a column of the wrong type fails under ANSI SQL inside the write
    (``temperature_celsius < 40`` on a text column: ``CAST_INVALID_INPUT``); Spark's query
    context gives the constraint's text, which names the rule.
    """
    if cause.fragment is None:
        return cause
    fragment = _normalised(cause.fragment)
    for expectation in expectations:
        constraint = _normalised(expectation.constraint)
        if fragment in constraint or constraint in fragment:
            return replace(cause, culprit=f"expectation '{expectation.name}' ({expectation.constraint})")
    return cause


def _normalised(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip().lower()
