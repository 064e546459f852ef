"""An update never hangs silently: a flow without progress is reported, and the update can be cancelled.

A Python UDF that sleeps stands for any task that stops moving (a blocked worker, a lock).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from pipeline_support import make_pipeline

from smart_factory.runtime.progress_watch import PROGRESS_TIMEOUT_KEY, Stall

pytestmark = pytest.mark.timeout(300)

SLOW = """
import time
import dlt
from pyspark.sql.functions import udf

PAUSE = float(spark.conf.get("test.pause"))

@udf("double")
def slow(value):
    time.sleep(PAUSE)
    return value

@dlt.table
def raw():
    return spark.readStream.schema("device STRING, temperature DOUBLE").json(LANDING)

@dlt.table
def slowed():
    return dlt.read_stream("raw").withColumn("checked", slow("temperature"))
"""


def slow_pipeline(spark, folder: Path, pause: float, target: str | None = None):
    landing = folder / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    (landing / "a.json").write_text("".join(json.dumps({"device": f"d{i}", "temperature": 20.0 + i}) + "\n"
                                            for i in range(5)))  # fmt: skip
    configuration = {"test.pause": str(pause), PROGRESS_TIMEOUT_KEY: "3"}
    return make_pipeline(spark, folder / "p", SLOW.replace("LANDING", repr(str(landing))), configuration, target)


def final_states(pipeline, update_id: str) -> list[str]:
    rows = pipeline.events().where(f"origin.update_id = '{update_id}' AND event_type = 'update_progress'")
    return [row.state for row in rows.selectExpr("details:update_progress.state::string AS state").collect()]


def test_a_flow_without_progress_is_reported_and_the_update_cancelled_without_duplicates(spark, tmp_path):
    pipeline = slow_pipeline(spark, tmp_path, pause=600)
    stalls: list[Stall] = []

    def on_stall(stall: Stall) -> None:
        stalls.append(stall)
        pipeline.cancel()

    update = pipeline.run(on_stall=on_stall)

    assert update.state == "CANCELED" and update.error.startswith("cancelled")
    [stall] = stalls
    assert stall.flow == "slowed" and stall.seconds >= 3
    assert "Spark job" in stall.message and "no progress" in stall.message
    target = pipeline.settings.target
    notices = pipeline.events().where(f"origin.update_id = '{update.update_id}' AND event_type = 'notice'").collect()
    assert [(row.origin.flow_name, row.level) for row in notices] == [("slowed", "WARN")]
    assert "no progress" in notices[0].message and "Spark job" in notices[0].message
    assert final_states(pipeline, update.update_id)[-1] == "CANCELED"

    again = slow_pipeline(spark, tmp_path, pause=0, target=target).run()  # same pipeline, the UDF no longer sleeps
    assert again.state == "COMPLETED", again.error
    assert spark.table(f"{target}.slowed").count() == 5  # every row once: nothing of the cancelled batch
    assert spark.table(f"{target}.raw").count() == 5


def test_ctrl_c_cancels_a_stuck_update_and_records_it(spark, tmp_path):
    pipeline = slow_pipeline(spark, tmp_path, pause=600)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(on_stall=lambda stall: os.kill(os.getpid(), signal.SIGINT))  # what Ctrl+C does
    update_id = pipeline.events().where("event_type = 'create_update'").collect()[-1].origin.update_id
    assert final_states(pipeline, update_id)[-1] == "CANCELED"
