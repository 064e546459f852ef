"""The project's benchmarks, run by ``python -m benchmarks [--quick]`` (``make bench``).

A benchmark is one function in a ``benchmarks/<topic>_bench.py`` module, registered with
:func:`benchmark`. It receives ``quick`` (smaller inputs, for CI) and returns one
:class:`Measurement` or several::

    @benchmark
    def delta_merge_rows_per_second(quick: bool) -> Measurement:
        ...
        return Measurement("delta_merge_rows_per_second", rows / seconds, "rows/s")
"""

from __future__ import annotations

import importlib
import operator
import pkgutil
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from smart_factory.lakehouse import stop_spark

Benchmark = Callable[[bool], "Measurement | Iterable[Measurement]"]
_BENCHMARKS: list[Benchmark] = []
_GOAL = re.compile(r"(value|ratio) (<=|<|>=|>) (\d+(?:\.\d+)?)")
_COMPARISONS = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}


@dataclass(frozen=True)
class Measurement:
    """One figure; with a ``baseline`` it is a side-by-side comparison.

    >>> Measurement("speed", 300.0, "rows/s", baseline=100.0).to_dict()["ratio"]
    3.0
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    goal: str | None = None  # e.g. "ratio <= 1.3" or "value <= 5"
    details: dict[str, Any] | None = None  # what was measured and on what, for readers of the JSON

    @property
    def ratio(self) -> float | None:
        """``value / baseline``: above 1 means the value is larger than the baseline's."""
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline

    @property
    def goal_parts(self) -> tuple[str, str, float] | None:
        """The goal as (``value`` or ``ratio``, comparison, limit); None without a goal.

        >>> Measurement("x", 2.0, "s", goal="value <= 5").goal_parts
        ('value', '<=', 5.0)
        """
        if self.goal is None:
            return None
        match = _GOAL.fullmatch(self.goal)
        if match is None:
            raise ValueError(f"{self.name}: goal {self.goal!r} is not like 'ratio <= 1.3' or 'value >= 100'")
        return match[1], match[2], float(match[3])

    @property
    def meets_goal(self) -> bool | None:
        """Whether the figure meets its goal; None when it has none (or no baseline for a ratio).

        >>> Measurement("x", 6.0, "s", baseline=4.0, goal="ratio <= 1.3").meets_goal
        False
        """
        parts = self.goal_parts
        if parts is None:
            return None
        subject, comparison, limit = parts
        figure = self.value if subject == "value" else self.ratio
        return None if figure is None else _COMPARISONS[comparison](figure, limit)

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"name": self.name, "value": self.value, "unit": self.unit}
        if self.baseline is not None:
            result["baseline"] = self.baseline
            result["ratio"] = self.ratio
        if self.goal is not None:
            result["goal"] = self.goal
            result["meets_goal"] = self.meets_goal
        if self.details is not None:
            result["details"] = self.details
        return result


def benchmark(function: Benchmark) -> Benchmark:
    """Register ``function`` to run with the others; it is returned unchanged."""
    _BENCHMARKS.append(function)
    return function


def discover() -> list[Benchmark]:
    """Every registered benchmark, after importing each ``*_bench`` module of this package."""
    for module in pkgutil.iter_modules(__path__):
        if module.name.endswith("_bench"):
            importlib.import_module(f"{__name__}.{module.name}")
    return list(_BENCHMARKS)


def run_all(quick: bool) -> Iterator[Measurement]:
    """Run every benchmark in turn, yielding measurements as soon as each one finishes.

    Each module builds its lakehouse under its own storage root, and a Spark session keeps
    the root it started with: the session is stopped whenever the next benchmark comes from
    another module (the benchmarks of one module share theirs).
    """
    module = None
    for function in discover():
        if module is not None and function.__module__ != module:
            stop_spark()
        module = function.__module__
        began = time.perf_counter()
        result = function(quick)
        # stderr, so stdout stays one JSON object per line: where a slow run spent its time.
        print(f"{function.__name__} took {time.perf_counter() - began:.0f} s", file=sys.stderr, flush=True)
        yield from [result] if isinstance(result, Measurement) else result
