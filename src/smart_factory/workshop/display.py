"""What the notebooks show: small tables, the pipeline graph, a chart, a file's first lines.

Each object renders as HTML in Jupyter and as plain text everywhere else (papermill logs,
the batch run's summary, nbval's diffs), and holds no wall-clock time or absolute path, so
a rerun with the same parameters shows the same thing.

>>> Table(["table", "rows"], [["bronze_readings", 9093]])
table            rows
---------------  -----
bronze_readings  9,093
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from smart_factory.runtime.executor import FlowRun
from smart_factory.runtime.graph import render_svg
from smart_factory.runtime.pipeline import UpdateResult
from smart_factory.runtime.planner import PipelineGraph

NULL = "null"


def format_value(value: Any) -> str:
    """One cell as text: thousands separators, two decimals, ISO times, ``null`` for missing.

    >>> format_value(1234567), format_value(31.456), format_value(None)
    ('1,234,567', '31.46', 'null')
    """
    if value is None:
        return NULL
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float | Decimal):
        return f"{value:,.2f}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S") + (f".{value.microsecond // 1000:03d}" if value.microsecond else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@dataclass(frozen=True)
class Table:
    """A small table for people: HTML in a notebook, aligned text in a terminal."""

    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    caption: str | None = None
    missing: str = NULL  # how a None shows: "null" for data, "" where a figure does not apply

    @classmethod
    def from_dataframe(
        cls, frame: DataFrame, order_by: Sequence[str] | None = None, limit: int | None = 10, caption: str | None = None
    ) -> Table:
        """The first ``limit`` rows of ``frame``, sorted by ``order_by`` (default: every column; nulls last)."""
        ordered = frame.orderBy(*(F.col(name).asc_nulls_last() for name in order_by or frame.columns))
        rows = (ordered.limit(limit) if limit else ordered).collect()
        return cls(frame.columns, [list(row) for row in rows], caption)

    def column(self, name: str) -> list[Any]:
        index = list(self.columns).index(name)
        return [row[index] for row in self.rows]

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{escape(name)}</th>" for name in self.columns)
        body = "".join(
            "<tr>" + "".join(
                f'<td style="text-align:{"right" if _is_number(value) else "left"}">{escape(self._cell(value))}</td>'
                for value in row
            ) + "</tr>"
            for row in self.rows
        )  # fmt: skip
        caption = f"<caption style='text-align:left'>{escape(self.caption)}</caption>" if self.caption else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def _cell(self, value: Any) -> str:
        return self.missing if value is None else format_value(value)

    def to_text(self) -> str:
        cells = [[self._cell(value) for value in row] for row in self.rows]
        widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(self.columns)]
        numeric = [bool(self.rows) and all(_is_number(row[i]) or row[i] is None for row in self.rows)
                   for i in range(len(self.columns))]  # fmt: skip

        def line(values: Sequence[str]) -> str:
            return "  ".join(
                value.rjust(width) if right else value.ljust(width)
                for value, width, right in zip(values, widths, numeric, strict=True)
            ).rstrip()

        lines = [self.caption] if self.caption else []
        lines += [line(self.columns), "  ".join("-" * width for width in widths)]
        lines += [line(row) for row in cells]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()


@dataclass(frozen=True)
class GraphView:
    """The pipeline graph of a plan or an update: the runtime's SVG, with a text outline."""

    graph: PipelineGraph
    runs: Sequence[FlowRun] | None = None

    @classmethod
    def of(cls, update_or_graph: UpdateResult | PipelineGraph) -> GraphView:
        if isinstance(update_or_graph, UpdateResult):
            return cls(update_or_graph.graph, update_or_graph.flows)
        return cls(update_or_graph)

    def _repr_html_(self) -> str:
        return render_svg(self.graph, list(self.runs) if self.runs is not None else None)

    def __repr__(self) -> str:
        written: dict[str, int] = {}
        for run in self.runs or ():
            if run.metrics:
                written[run.dataset] = written.get(run.dataset, 0) + run.metrics.output_rows
        lines = []
        for name in self.graph.order:
            upstream = sorted(self.graph.upstream_of(name))
            arrow = f" <- {', '.join(upstream)}" if upstream else ""
            rows = f"  ({written[name]:,} rows written)" if name in written else ""
            lines.append(f"{name} [{self.graph.datasets[name].kind.replace('_', ' ')}]{arrow}{rows}")
        return "\n".join(lines)


@dataclass(frozen=True)
class TextBlock:
    """Text shown as is: a file's first lines, or source code (highlighted in Jupyter)."""

    text: str
    language: str = ""

    def _repr_markdown_(self) -> str:
        fence = "````" if "```" in self.text else "```"
        return f"{fence}{self.language}\n{self.text}\n{fence}"

    def __repr__(self) -> str:
        return self.text


def file_head(path: str | Path, lines: int = 3, width: int = 160) -> TextBlock:
    """The first ``lines`` lines of a text file, each cut at ``width`` characters."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        head = [next(handle, "").rstrip("\n") for _ in range(lines)]
    return TextBlock("\n".join(line if len(line) <= width else line[: width - 1] + "…" for line in head), "json")


def source_code(path: str | Path, language: str = "python") -> TextBlock:
    return TextBlock(Path(path).read_text(encoding="utf-8").rstrip("\n"), language)


def _bar_label(label: float | str) -> str:
    return label if isinstance(label, str) else f"{label:g}"


@dataclass(frozen=True)
class BarChart:
    """A bar chart as inline SVG (no plotting library needed), with an optional marked threshold.

    ``bars`` are ``(label, value)``, labels numbers (a histogram's bands) or text (categories);
    bars whose numeric label is at or over ``threshold`` are drawn red.
    """

    bars: Sequence[tuple[float | str, int]]
    title: str
    x_label: str
    threshold: float | None = None
    width: int = 640
    height: int = 220

    def _repr_html_(self) -> str:
        left, bottom, top = 50, 34, 26
        plot_width, plot_height = self.width - left - 10, self.height - bottom - top
        highest = max((value for _, value in self.bars), default=0) or 1
        step = plot_width / max(len(self.bars), 1)
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
            'font-family="Helvetica, Arial, sans-serif" font-size="11">',
            f'<text x="{left}" y="16" font-weight="bold" fill="#1b2a41">{escape(self.title)}</text>',
            f'<text x="{left}" y="{top - 4 + 10}" fill="#5b6b82" font-size="10">max {highest:,}</text>',
        ]
        for index, (label, value) in enumerate(self.bars):
            bar_height = plot_height * value / highest
            hot = self.threshold is not None and not isinstance(label, str) and label >= self.threshold
            x = left + index * step
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_height - bar_height:.1f}" width="{max(step - 1, 1):.1f}" '
                f'height="{bar_height:.1f}" fill="{"#c0392b" if hot else "#4a78b0"}">'
                f"<title>{format_value(label)}: {value:,}</title></rect>"
            )
            if index % max(1, len(self.bars) // 10) == 0:
                parts.append(f'<text x="{x:.1f}" y="{top + plot_height + 14}" fill="#33415c">'
                             f"{escape(_bar_label(label))}</text>")
        parts.append(
            f'<text x="{left + plot_width / 2:.0f}" y="{self.height - 4}" text-anchor="middle" '
            f'fill="#33415c">{escape(self.x_label)}</text></svg>'
        )
        return "".join(parts)

    def __repr__(self) -> str:
        highest = max((value for _, value in self.bars), default=0) or 1
        lines = [self.title]
        width = max([7, *(len(_bar_label(label)) for label, _ in self.bars)])  # labels line up, numbers right
        for label, value in self.bars:
            bar = "#" * max(1 if value else 0, round(40 * value / highest))
            lines.append(f"{_bar_label(label):>{width}} {bar} {value:,}")
        return "\n".join(lines)
