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
