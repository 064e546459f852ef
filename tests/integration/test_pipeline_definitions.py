"""Loading pipeline files: `import dlt` and `from pyspark import pipelines as dp`, planning errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pyspark
import pytest
from pipeline_support import make_pipeline

from smart_factory.errors import PipelineDefinitionError, PipelinePlanningError
from smart_factory.runtime import api


def test_both_spellings_register_the_same_definitions(spark, tmp_path: Path) -> None:
    pipeline = make_pipeline(
        spark,
        tmp_path,
        """
        import dlt
        from pyspark import pipelines as dp

        @dlt.table(comment="numbers")
        @dlt.expect("small", "id < 100")
        @dlt.expect_or_drop("even", "id % 2 = 0")
        def numbers():
            return spark.range(10)

        @dp.materialized_view
        def doubled():
            return spark.read.table("LIVE.numbers").selectExpr("id * 2 AS id")

        @dlt.view
        def big():
            return dlt.read("doubled").where("id > 4")
        """,
    )
    graph = pipeline.validate()
    assert graph.order.index("numbers") < graph.order.index("doubled") < graph.order.index("big")
    numbers = graph.datasets["numbers"]
    assert numbers.kind == "materialized_view"  # a batch query makes a materialized view
    assert [(e.name, e.action) for e in numbers.expectations] == [("small", "warn"), ("even", "drop")]
    assert str(numbers.definition.location) == "pipeline.py:5"
    assert graph.datasets["doubled"].inputs == {"numbers"}
    assert graph.datasets["big"].kind == "view"
    # Once the files are loaded, open-source PySpark's own pyspark.pipelines is untouched.
    assert sys.modules.get("pyspark.pipelines") is not api
    assert getattr(pyspark, "pipelines", None) is not api
    assert "dlt" not in sys.modules


def test_every_planning_problem_is_reported_with_its_file_and_line(spark, tmp_path: Path) -> None:
    pipeline = make_pipeline(
        spark,
        tmp_path,
        """
        import dlt
        from pyspark.sql import functions as F

        @dlt.table
        def first():
            return dlt.read("second")

        @dlt.table
        def second():
            return dlt.read("first")

        @dlt.table
        def orphan():
            return dlt.read("does_not_exist")

        @dlt.table(name="orphan")
        def orphan_again():
            return spark.range(1)

        @dlt.table
        @dlt.expect("broken_sql", "id = = 3")
        @dlt.expect("not_boolean", "id + 1")
        def checked():
            return spark.range(3)

        @dlt.table
        def no_such_column():
            return spark.range(3).select("nope")

        @dlt.table
        def unbounded_aggregate():
            return spark.readStream.format("rate").load().groupBy("value").count()
        """,
    )
    with pytest.raises(PipelinePlanningError) as raised:
        pipeline.validate()
    problems = raised.value.problems
    text = "\n".join(problems)
    assert "cycle in the dataflow graph: first -> second -> first" in text
    assert len([p for p in problems if p.startswith("cycle")]) == 1
    assert "pipeline.py:13: dataset 'orphan' reads unknown dataset 'does_not_exist'" in text
    assert "pipeline.py:17: dataset 'orphan' is defined twice (first at pipeline.py:13)" in text
    assert "expectation 'broken_sql' on 'checked' ('id = = 3') is not valid SQL" in text
    assert "expectation 'not_boolean' on 'checked' must be a true/false condition" in text
    assert "pipeline.py:27: dataset 'no_such_column':" in text and "nope" in text
    assert "pipeline.py:31: streaming table 'unbounded_aggregate' cannot append this query" in text
    assert "withWatermark" in text
    assert not (tmp_path / "storage" / "checkpoints").exists(), "planning writes no data"


def test_a_broken_pipeline_file_names_its_line(spark, tmp_path: Path) -> None:
    pipeline = make_pipeline(spark, tmp_path, "import dlt\n\nx = 1 / 0\n")
    with pytest.raises(PipelineDefinitionError, match=r"pipeline.py:3: ZeroDivisionError"):
        pipeline.validate()
    pipeline = make_pipeline(spark, tmp_path, "import dlt\n\n@dlt.table(name=5)\ndef t():\n    pass\n")
    with pytest.raises(PipelineDefinitionError, match=r"pipeline.py:3: name must be a string, got int 5"):
        pipeline.validate()
