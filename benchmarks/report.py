"""``python -m benchmarks.report [RESULTS.jsonl]``: put a run's figures into docs/benchmarks.md.

Writes the table of every figure and a chart of the ones with a goal (``docs/benchmarks.svg``:
each figure as a share of its goal's limit, so 1 is the line to stay under) between the
page's ``latest-figures`` markers. ``make bench`` calls it after a full run.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path

from benchmarks import Measurement

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = PROJECT_ROOT / "benchmarks" / "results"
DOCS_PAGE = PROJECT_ROOT / "docs" / "benchmarks.md"
CHART = PROJECT_ROOT / "docs" / "benchmarks.svg"
START_MARKER = "<!-- latest-figures:start (benchmarks/report.py writes this part) -->"
END_MARKER = "<!-- latest-figures:end -->"
CHART_CAP = 4.0  # longer bars are cut here (the label still gives the figure)


def load_results(path: Path) -> list[tuple[Measurement, dict]]:
    """Each line of a results file as a measurement and the line's other keys (e.g. the load)."""
    loaded = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            measurement = Measurement(
                raw["name"], raw["value"], raw["unit"], raw.get("baseline"), raw.get("goal"), raw.get("details")
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a benchmark figure ({error})") from None
        known = {"name", "value", "unit", "baseline", "ratio", "goal", "meets_goal", "details"}
        loaded.append((measurement, {key: value for key, value in raw.items() if key not in known}))
    return loaded


def goal_share(measurement: Measurement) -> float | None:
    """The figure as a share of its goal's limit, oriented so that <= 1 meets the goal."""
    parts = measurement.goal_parts
    if parts is None:
        return None
    subject, comparison, limit = parts
    figure = measurement.value if subject == "value" else measurement.ratio
    if figure is None or figure == 0 or limit == 0:
        return None
    return figure / limit if comparison.startswith("<") else limit / figure


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.3g}"


def figures_table(results: list[tuple[Measurement, dict]]) -> str:
    rows = ["| Figure | Value | Baseline | Ratio | Goal | Met |", "|---|---:|---:|---:|---|---|"]
    for measurement, _extra in results:
        met = {True: "yes", False: "**no**", None: ""}[measurement.meets_goal]
        rows.append(
            f"| `{measurement.name}` | {_number(measurement.value)} {measurement.unit} | "
            f"{_number(measurement.baseline)} | {_number(measurement.ratio)} | {measurement.goal or ''} | {met} |"
        )
    return "\n".join(rows)


def goal_chart(results: list[tuple[Measurement, dict]]) -> str:
    """A horizontal bar per figure with a goal: its share of the goal's limit, the limit at 1."""
    charted = [(measurement, share) for measurement, _ in results if (share := goal_share(measurement)) is not None]
    label_width, bar_width, row_height, top = 330, 380, 28, 40
    width, height = label_width + bar_width + 120, top + row_height * len(charted) + 40

    def x(share: float) -> float:
        return label_width + bar_width * min(share, CHART_CAP) / CHART_CAP

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        '<text x="10" y="22" font-size="15" font-weight="bold">Each figure as a share of its goal '
        "(bars left of the line meet it)</text>",
    ]
    for row, (measurement, share) in enumerate(charted):
        y = top + row * row_height
        colour = "#2e7d32" if share <= 1 else "#e65100"
        shown = measurement.ratio if measurement.goal_parts and measurement.goal_parts[0] == "ratio" else None
        figure = f"{shown:.2f}×" if shown is not None else f"{_number(measurement.value)} {measurement.unit}"
        parts += [
            f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end">{html.escape(measurement.name)}</text>',
            f'<rect x="{label_width}" y="{y + 5}" width="{x(share) - label_width:.1f}" height="{row_height - 10}" '
            f'fill="{colour}"/>',
            f'<text x="{x(share) + 6:.1f}" y="{y + 18}">{html.escape(figure)} '
            f"(goal {html.escape(measurement.goal or '')})</text>",
        ]
    bottom = top + row_height * len(charted)
    parts += [
        f'<line x1="{x(1.0):.1f}" y1="{top - 4}" x2="{x(1.0):.1f}" y2="{bottom + 4}" stroke="black" '
        f'stroke-dasharray="4 3"/>',
        f'<text x="{x(1.0):.1f}" y="{bottom + 22}" text-anchor="middle">goal</text>',
        f'<text x="{x(CHART_CAP):.1f}" y="{bottom + 22}" text-anchor="end">{CHART_CAP:g}× the limit</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def latest_section(results_path: Path, results: list[tuple[Measurement, dict]], chart_name: str) -> str:
    loads = [extra["load_average_1m"] for _, extra in results if "load_average_1m" in extra]
    load = f"; 1-minute load average {min(loads):.1f}–{max(loads):.1f} during the run" if loads else ""
    mode = "quick mode" if results_path.stem.endswith("-quick") else "full mode"
    return "\n".join([
        START_MARKER,
        f"From `benchmarks/results/{results_path.name}` ({mode}{load}).",
        "",
        f"![Each figure with a goal, as a share of that goal]({chart_name})",
        "",
        figures_table(results),
        END_MARKER,
    ])  # fmt: skip


def update_docs(results_path: Path, page: Path = DOCS_PAGE, chart: Path = CHART) -> None:
    """Rewrite ``page``'s latest-figures part and ``chart`` from ``results_path``."""
    results = load_results(results_path)
    text = page.read_text(encoding="utf-8")
    if START_MARKER not in text or END_MARKER not in text:
        raise ValueError(f"{page} has no latest-figures markers ({START_MARKER} … {END_MARKER})")
    before, rest = text.split(START_MARKER, 1)
    after = rest.split(END_MARKER, 1)[1]
    chart.write_text(goal_chart(results), encoding="utf-8")
    page.write_text(before + latest_section(results_path, results, chart.name) + after, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, default=RESULTS_DIR / "latest.jsonl")
    args = parser.parse_args(argv)
    try:
        update_docs(args.results)
    except (OSError, ValueError) as error:
        print(f"benchmarks.report: {error}", file=sys.stderr)
        return 2
    print(f"updated {DOCS_PAGE.relative_to(PROJECT_ROOT)} and {CHART.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
