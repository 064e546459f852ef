"""The pipeline graph: datasets in dependency order, counts, pass rates, failures standing out."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline_support import make_pipeline

from smart_factory.runtime.executor import FlowRun
from smart_factory.runtime.expectations import ExpectationResult, QualityMetrics
from smart_factory.runtime.graph import render_html, render_svg

CODE = """
import dlt

@dlt.table
def source():
    return spark.range(10)

@dlt.table
@dlt.expect("small", "id < 8")
def middle():
    return dlt.read("source")

@dlt.table
def sink():
    return dlt.read("middle").selectExpr("count(*) AS n")
"""


def test_the_graph_shows_order_counts_rates_and_failures(spark, tmp_path: Path) -> None:
    graph = make_pipeline(spark, tmp_path, CODE).validate()
    runs = [
        FlowRun("source", "source", "COMPLETED", QualityMetrics(10, 0, ())),
        FlowRun("middle", "middle", "COMPLETED", QualityMetrics(10, 0, (ExpectationResult("small", "middle", 8, 2),))),
        FlowRun("sink", "sink", "FAILED", error="boom: the sink broke"),
    ]
    svg = render_svg(graph, runs)

    boxes = re.findall(r'<g class="dataset" data-name="(\w+)" data-state="(\w+)">', svg)
    assert boxes == [("source", "COMPLETED"), ("middle", "COMPLETED"), ("sink", "FAILED")]
    x_of = {name: int(x) for name, x in re.findall(r'data-name="(\w+)".*?<rect x="(\d+)"', svg, re.DOTALL)}
    assert x_of["source"] < x_of["middle"] < x_of["sink"]  # dependencies to the left
    assert svg.count("<line ") == 2
    assert "10 rows written" in svg and "expectations: 80.0% pass" in svg
    assert 'stroke="#c0392b"' in svg and "boom: the sink broke" in svg  # the failure stands out
    assert "id: bigint" in svg  # the schema, shown on hover
    assert render_html(graph, runs, "My pipeline").startswith("<!doctype html>")


def test_the_graph_redraws_in_place_in_a_notebook_while_the_update_runs(tmp_path: Path) -> None:
    """A real kernel runs ``pipeline.run(show_graph=True)``: one graph output, updated to the end state."""
    import nbformat
    from nbclient import NotebookClient

    tests = Path(__file__).resolve().parents[1]
    cell = f"""
import sys; sys.path.insert(0, {str(tests)!r})
from pathlib import Path
from pipeline_support import make_pipeline
from smart_factory.lakehouse import get_spark
spark = get_spark(master="local[1]", storage_root={str(tmp_path / "root")!r})
update = make_pipeline(spark, Path({str(tmp_path / "p")!r}), {CODE!r}).run(show_graph=True)
print(update.state)
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    NotebookClient(notebook, timeout=240, kernel_name="python3").execute()

    outputs = notebook.cells[0].outputs
    graphs = [output for output in outputs if output.output_type == "display_data"]
    assert len(graphs) == 1  # drawn once, then updated in place (no pile of copies)
    svg = graphs[0].data["text/html"]
    assert re.findall(r'data-name="(\w+)" data-state="(\w+)"', svg) == [
        ("source", "COMPLETED"), ("middle", "COMPLETED"), ("sink", "COMPLETED"),
    ]  # fmt: skip
    assert "small: 8 passed, 2 failed" in svg  # hover text carries the rule's counts
    assert "COMPLETED" in "".join(output.get("text", "") for output in outputs if output.output_type == "stream")
