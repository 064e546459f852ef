"""The pipeline graph, drawn as SVG: datasets left to right in dependency order.

Each box shows the dataset's name and kind, the rows its flows wrote in the last update
and its expectations' pass rates; a failed flow's box is red, a skipped one grey. Hovering
a box shows its schema (the SVG ``<title>``). The same drawing serves the notebook (inline,
refreshed in place while an update runs) and the CLI (an HTML file).
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from smart_factory.runtime.executor import FlowRun
from smart_factory.runtime.planner import PipelineGraph

BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP = 210, 74, 70, 26
STATE_COLOURS = {
    "QUEUED": "#eef1f5", "STARTING": "#fff4cc", "RUNNING": "#ffe08a", "COMPLETED": "#d9f2e1",
    "FAILED": "#f8d0d0", "SKIPPED": "#e2e2e2",
}  # fmt: skip
KIND_LABELS = {"streaming_table": "streaming table", "materialized_view": "materialized view", "view": "view"}


@dataclass(frozen=True)
class _Box:
    name: str
    column: int
    row: int

    @property
    def x(self) -> int:
        return 20 + self.column * (BOX_WIDTH + COLUMN_GAP)

    @property
    def y(self) -> int:
        return 20 + self.row * (BOX_HEIGHT + ROW_GAP)


def _layout(graph: PipelineGraph) -> dict[str, _Box]:
    depth: dict[str, int] = {}
    for name in graph.order:  # dependencies come first, so their depth is known
        depth[name] = 1 + max((depth[upstream] for upstream in graph.upstream_of(name)), default=-1)
    rows_used: dict[int, int] = {}
    boxes = {}
    for name in graph.order:
        column = depth[name]
        boxes[name] = _Box(name, column, rows_used.get(column, 0))
        rows_used[column] = rows_used.get(column, 0) + 1
    return boxes


def render_svg(graph: PipelineGraph, runs: list[FlowRun] | None = None) -> str:
    """The graph as an SVG document; ``runs`` (from an update) add states and counts."""
    boxes = _layout(graph)
    runs_by_dataset: dict[str, list[FlowRun]] = {}
    for run in runs or []:
        runs_by_dataset.setdefault(run.dataset, []).append(run)
    width = max(box.x for box in boxes.values()) + BOX_WIDTH + 20
    height = max(box.y for box in boxes.values()) + BOX_HEIGHT + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#7a8699"/></marker></defs>',
    ]
    for name, box in boxes.items():
        for upstream in sorted(graph.upstream_of(name)):
            source = boxes[upstream]
            parts.append(
                f'<line x1="{source.x + BOX_WIDTH}" y1="{source.y + BOX_HEIGHT // 2}" x2="{box.x}" '
                f'y2="{box.y + BOX_HEIGHT // 2}" stroke="#7a8699" stroke-width="1.4" marker-end="url(#arrow)"/>'
            )
    for name, box in boxes.items():
        parts.append(_box_svg(graph, name, box, runs_by_dataset.get(name, [])))
    parts.append("</svg>")
    return "\n".join(parts)


def _box_svg(graph: PipelineGraph, name: str, box: _Box, runs: list[FlowRun]) -> str:
    dataset = graph.datasets[name]
    state = _combined_state(runs)
    colour = STATE_COLOURS.get(state, "#ffffff") if runs else "#ffffff"
    stroke = "#c0392b" if state == "FAILED" else "#5b6b82"
    lines = [KIND_LABELS[dataset.kind] + (f" · {state.lower()}" if runs else "")]
    written = sum(run.metrics.output_rows for run in runs if run.metrics)
    if any(run.metrics for run in runs):
        lines.append(f"{written:,} rows written")
    rates = _pass_rates(runs)
    if rates:
        lines.append(rates)
    schema = ", ".join(f"{field.name}: {field.dataType.simpleString()}" for field in dataset.schema.fields)
    tooltip = f"{name} ({KIND_LABELS[dataset.kind]})\nschema: {schema}"
    for run in runs:
        if run.metrics:
            tooltip += f"\n{run.name}: {run.metrics.input_rows:,} rows in, {run.metrics.output_rows:,} written"
            tooltip += "".join(
                f"\n  {result.name}: {result.passed_records:,} passed, {result.failed_records:,} failed"
                for result in run.metrics.expectations
            )
    if any(run.error for run in runs):
        tooltip += "\n" + "\n".join(run.error for run in runs if run.error)
    text = "".join(
        f'<text x="{box.x + 10}" y="{box.y + 36 + 15 * index}" fill="#33415c">{escape(line)}</text>'
        for index, line in enumerate(lines)
    )
    return (
        f'<g class="dataset" data-name="{escape(name)}" data-state="{escape(state)}"><title>{escape(tooltip)}</title>'
        f'<rect x="{box.x}" y="{box.y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="8" fill="{colour}" '
        f'stroke="{stroke}" stroke-width="{2.5 if state == "FAILED" else 1.2}"/>'
        f'<text x="{box.x + 10}" y="{box.y + 19}" font-weight="bold" fill="#1b2a41">{escape(name)}</text>{text}</g>'
    )


def _combined_state(runs: list[FlowRun]) -> str:
    for state in ("FAILED", "RUNNING", "STARTING", "SKIPPED", "QUEUED"):
        if any(run.state == state for run in runs):
            return state
    return "COMPLETED" if runs else "QUEUED"


def _pass_rates(runs: list[FlowRun]) -> str:
    passed = failed = 0
    for run in runs:
        for result in run.metrics.expectations if run.metrics else ():
            passed += result.passed_records
            failed += result.failed_records
    if passed + failed == 0:
        return ""
    return f"expectations: {100 * passed / (passed + failed):.1f}% pass"


def render_html(graph: PipelineGraph, runs: list[FlowRun] | None = None, title: str = "Pipeline graph") -> str:
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title></head>"
        f"<body style='margin:16px'><h2 style='font-family:Helvetica,Arial,sans-serif'>{escape(title)}</h2>"
        f"{render_svg(graph, runs)}</body></html>"
    )


class LiveGraph:
    """The graph in a notebook cell, redrawn in place as flows change state.

    ``pipeline.run(show_graph=True)`` uses one; outside IPython it draws nothing.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._handle = None
        self._graph: PipelineGraph | None = None
        self._runs: list[FlowRun] = []

    def start(self, graph: PipelineGraph, runs: list[FlowRun]) -> None:
        try:
            from IPython.display import HTML, display
        except ImportError:  # not in a notebook
            return
        self._graph, self._runs = graph, runs
        self._handle = display(HTML(render_svg(graph, runs)), display_id=True)

    def update(self, _run: FlowRun | None = None) -> None:
        if self._handle is not None and self._graph is not None:
            from IPython.display import HTML

            self._handle.update(HTML(render_svg(self._graph, self._runs)))
