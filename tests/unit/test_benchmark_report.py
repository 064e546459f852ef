"""Benchmark figures against their goals, and the docs page and chart made from a results file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from benchmarks import Measurement
from benchmarks.memory_bench import peak_resident_mb
from benchmarks.report import END_MARKER, START_MARKER, goal_share, load_results, update_docs


def test_a_goal_is_met_or_missed_by_the_figure_it_names() -> None:
    assert Measurement("bronze", 2.6, "s", baseline=2.0, goal="ratio <= 1.3").meets_goal is True
    assert Measurement("bronze", 2.7, "s", baseline=2.0, goal="ratio <= 1.3").meets_goal is False
    assert Measurement("speed", 250_000, "readings/s", goal="value >= 100000").meets_goal is True
    assert Measurement("refresh", 2.0, "s", goal="value < 2").meets_goal is False
    assert Measurement("no goal", 1.0, "s").meets_goal is None
    assert Measurement("ratio, no baseline", 1.0, "s", goal="ratio <= 1.3").meets_goal is None


def test_a_goal_that_cannot_be_read_names_the_figure() -> None:
    with pytest.raises(ValueError, match="warm_update_seconds: goal 'about 5 s'"):
        _ = Measurement("warm_update_seconds", 4.0, "s", goal="about 5 s").meets_goal


def test_goal_shares_are_oriented_so_one_is_the_line() -> None:
    assert goal_share(Measurement("slow", 3.0, "s", baseline=1.0, goal="ratio <= 1.5")) == pytest.approx(2.0)
    assert goal_share(Measurement("fast", 400_000, "r/s", goal="value >= 100000")) == pytest.approx(0.25)


def results_file(folder: Path) -> Path:
    path = folder / "20261128T120000Z.jsonl"
    figures = [
        {**Measurement("backfill_bronze_ratio", 7.0, "s", 2.0, goal="ratio <= 1.3").to_dict(), "load_average_1m": 1.5},
        {**Measurement("driver_peak_rss_mb", 1200.0, "MiB", 1000.0, goal="value <= 1500").to_dict(),
         "load_average_1m": 2.5},
        Measurement("backfill_bronze_readings", 1_000_000, "readings").to_dict(),
    ]  # fmt: skip
    path.write_text("".join(json.dumps(figure) + "\n" for figure in figures))
    return path


def test_the_docs_page_gets_the_run_s_figures_and_a_chart(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Benchmarks\n\nIntro.\n\n{START_MARKER}\nold figures\n{END_MARKER}\n\n## How\n")
    chart = tmp_path / "benchmarks.svg"

    update_docs(results_file(tmp_path), page, chart)

    text = page.read_text()
    assert text.startswith("# Benchmarks\n\nIntro.") and text.endswith("## How\n") and "old figures" not in text
    assert "`benchmarks/results/20261128T120000Z.jsonl` (full mode; 1-minute load average 1.5–2.5" in text
    assert "| `backfill_bronze_ratio` | 7 s | 2 | 3.5 | ratio <= 1.3 | **no** |" in text
    assert "| `driver_peak_rss_mb` | 1,200 MiB | 1,000 | 1.2 | value <= 1500 | yes |" in text
    assert "| `backfill_bronze_readings` | 1,000,000 readings | — | — |  |  |" in text
    assert "![Each figure with a goal, as a share of that goal](benchmarks.svg)" in text
    svg = chart.read_text()
    # Two bars (figures without a goal are not charted): missed in orange, met in green.
    assert re.findall(r'<rect x="\d+" y="[\d.]+" width="[\d.]+" height="\d+" fill="(#[0-9a-f]+)"/>', svg) == [
        "#e65100", "#2e7d32",
    ]  # fmt: skip
    assert "3.50× (goal ratio &lt;= 1.3)" in svg and "1,200 MiB (goal value &lt;= 1500)" in svg


def test_a_results_line_that_is_not_a_figure_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"name": "x", "value": 1, "unit": "s"}\n{"name": "y"}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: not a benchmark figure"):
        load_results(path)


def test_a_page_without_markers_is_left_alone(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n")
    with pytest.raises(ValueError, match="has no latest-figures markers"):
        update_docs(results_file(tmp_path), page, tmp_path / "chart.svg")
    assert page.read_text() == "# Benchmarks\n"


def test_peak_memory_is_read_from_the_kernel() -> None:
    ballast = bytearray(64 * 1024 * 1024)  # touch 64 MiB so the peak is at least that
    assert peak_resident_mb(os.getpid()) >= 64
    del ballast
