"""Every failure names its cause: on the console, in UpdateResult.error and in the event log.

Each failure below happens inside a micro-batch or a write (not at planning, unless the
test says so), where Spark wraps it in several layers: the streaming query failed, the
foreachBatch function failed, a task failed... The message the user sees must be the
innermost one that says what went wrong, with the user's line where their code is at fault.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml
from pipeline_support import make_pipeline

from smart_factory.cli import main
from smart_factory.errors import PipelinePlanningError

pytestmark = pytest.mark.timeout(300)

READINGS = [{"device": "d1", "temperature_celsius": "27.87"}, {"device": "d2", "temperature_celsius": "45.1"}]


def land(folder: Path, records: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.json").write_text("".join(json.dumps(record) + "\n" for record in records))
    return folder


def line_of(code: str, text: str) -> int:
    """The 1-based line of ``text`` in the pipeline file ``code`` (as make_pipeline dedents and writes it)."""
    import textwrap

    return next(number for number, line in enumerate(textwrap.dedent(code).splitlines(), 1) if text in line)


def error_events(spark, pipeline, update_id: str) -> dict[str, dict]:
    """``{flow name or 'update': parsed error}`` of the update's events that carry one."""
    rows = pipeline.events().where(f"origin.update_id = '{update_id}' AND error IS NOT NULL").collect()
    return {row.origin.flow_name or "update": json.loads(row.error) for row in rows}


ANSI_EXPECTATION = """
import dlt

@dlt.table
def raw():
    # Auto Loader infers JSON values as text: temperature_celsius is a STRING here.
    return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(LANDING)

@dlt.table
@dlt.expect_or_drop("not_hot", "temperature_celsius < 40")
def checked():
    return dlt.read_stream("raw")
"""


def test_an_expectation_that_cannot_be_evaluated_names_spark_error_class_value_and_rule(spark, tmp_path):
    landing = land(tmp_path / "landing", READINGS)
    pipeline = make_pipeline(spark, tmp_path / "p", ANSI_EXPECTATION.replace("LANDING", repr(str(landing))))

    update = pipeline.run()

    assert update.state == "FAILED"
    assert update.error.startswith("flow 'checked' failed: [CAST_INVALID_INPUT] The value '27.87'")
    assert "expectation 'not_hot' (temperature_celsius < 40)" in update.error
    assert "Traceback" not in update.error and "Python Proxy" not in update.error
    assert update.flow("checked").error == update.error.removeprefix("flow 'checked' failed: ")
    logged = error_events(spark, pipeline, update.update_id)
    [exception] = logged["checked"]["exceptions"]
    assert exception["error_class"] == "CAST_INVALID_INPUT"
    assert exception["class_name"].endswith("SparkNumberFormatException")
    assert "'27.87'" in exception["message"] and "not_hot" in exception["message"]
    assert "CAST_INVALID_INPUT" in logged["update"]["exceptions"][0]["message"]


RAISING_UDF = """
import dlt
from pyspark.sql.functions import udf

@udf("double")
def calibrate(value):
    raise ValueError(f"cannot calibrate {value}")

@dlt.table
def raw():
    return spark.readStream.schema("device STRING, temperature_celsius STRING").json(LANDING)

@dlt.table
def streamed():
    return dlt.read_stream("raw").withColumn("calibrated", calibrate("temperature_celsius"))

@dlt.table
def recomputed():
    return dlt.read("raw").withColumn("calibrated", calibrate("temperature_celsius"))
"""


def test_a_python_udf_that_raises_fails_its_flows_with_its_own_message_and_line(spark, tmp_path):
    landing = land(tmp_path / "landing", READINGS[:1])
    code = RAISING_UDF.replace("LANDING", repr(str(landing)))
    pipeline = make_pipeline(spark, tmp_path / "p", code)

    update = pipeline.run()

    assert update.state == "FAILED"
    where = f"(at pipeline.py:{line_of(code, 'raise ValueError')}, in calibrate)"
    expected = f"ValueError: cannot calibrate 27.87 {where}"
    assert update.flow("streamed").error == expected  # a streaming table: inside a micro-batch
    assert update.flow("recomputed").error == expected  # a materialized view: inside its write
    logged = error_events(spark, pipeline, update.update_id)
    assert logged["streamed"]["exceptions"] == [{"class_name": "ValueError", "message": expected}]
    assert logged["recomputed"]["exceptions"] == [{"class_name": "ValueError", "message": expected}]


RAISING_TABLE_FUNCTION = """
import dlt

@dlt.table
def raw():
    settings = {}
    return spark.read.json(settings["landing"])
"""


def test_a_python_exception_in_a_table_function_is_reported_at_its_line(spark, tmp_path, capsys):
    pipeline = make_pipeline(spark, tmp_path / "p", RAISING_TABLE_FUNCTION)
    problem = f"pipeline.py:{line_of(RAISING_TABLE_FUNCTION, 'settings[')}: dataset 'raw': KeyError: 'landing'"

    with pytest.raises(PipelinePlanningError) as raised:
        pipeline.validate()
    assert raised.value.problems == [problem]

    update = pipeline.run()
    assert update.state == "FAILED" and problem in update.error
    assert problem in error_events(spark, pipeline, update.update_id)["update"]["exceptions"][0]["message"]

    settings = tmp_path / "p" / "pipeline.yml"
    settings.write_text(yaml.safe_dump({"name": f"cli_{uuid.uuid4().hex[:6]}", "target": f"cli_{uuid.uuid4().hex[:6]}",
                                        "libraries": ["pipeline.py"], "storage": str(tmp_path / "cli")}))  # fmt: skip
    for command in ("validate", "run"):
        capsys.readouterr()
        assert main(["pipeline", command, "--settings", str(settings)]) != 0
        output = capsys.readouterr()
        printed = output.out + output.err
        assert problem in printed, printed
        assert "Traceback" not in printed and len(printed.splitlines()) <= 4, printed
