"""Pipeline updates on real Spark + Delta: states, expectations, event log, failures, refresh."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml
from pipeline_support import make_pipeline
from support import run_python

from smart_factory.runtime.executor import UpdateExecutor
from smart_factory.runtime.ingestion import ConcurrentRunError
from smart_factory.runtime.unfinished import UnfinishedUpdates
from smart_factory.testing import Fault, crash_child
from smart_factory.testing.fault_points import FaultRaised
from smart_factory.testing.pipeline_child import PipelineJob

PIPELINE = """
import dlt
from pyspark.sql import functions as F

LANDING = spark.conf.get("test.landing")

@dlt.table
def raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "reading DOUBLE").load(LANDING))

@dlt.table
@dlt.expect("positive", "reading > 0")
@dlt.expect_or_drop("has_device", "device IS NOT NULL")
@dlt.expect_or_fail("not_absurd", "reading < 1000")
def clean():
    return dlt.read_stream("raw").select("device", "reading")

@dlt.table
def per_device():
    return dlt.read("clean").groupBy("device").agg(F.sum("reading").alias("total"), F.count("*").alias("n"))
"""

# Databricks' documented data-quality query, with the one edit the VARIANT needs (::string).
DATA_QUALITY_QUERY = """
SELECT row_expectations.dataset AS dataset, row_expectations.name AS expectation,
       SUM(row_expectations.passed_records) AS passing_records,
       SUM(row_expectations.failed_records) AS failing_records
FROM (
  SELECT explode(from_json(details:flow_progress:data_quality:expectations::string,
         "array<struct<name: string, dataset: string, passed_records: int, failed_records: int>>"))
         row_expectations
  FROM {event_log} WHERE event_type = 'flow_progress' AND origin.update_id = '{update_id}'
)
GROUP BY row_expectations.dataset, row_expectations.name
"""


def land(folder: Path, name: str, records: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps(record) + "\n" for record in records))


@pytest.fixture
def pipeline(spark, tmp_path: Path):
    landing = tmp_path / "landing"
    land(landing, "a.json", [{"device": "d1", "reading": 5.0}, {"device": "d1", "reading": -1.0},
                             {"device": None, "reading": 3.0}, {"device": "d2", "reading": 7.0}])  # fmt: skip
    return make_pipeline(spark, tmp_path, PIPELINE, {"test.landing": str(landing)}), landing


def test_an_update_runs_flows_in_order_and_logs_data_quality(spark, pipeline) -> None:
    pipeline, _ = pipeline
    states: list[tuple[str, str]] = []
    update = pipeline.run(on_progress=lambda run: states.append((run.name, run.state)))

    assert update.state == "COMPLETED", update.error
    order = [name for name, state in states if state == "COMPLETED"]
    assert order == ["raw", "clean", "per_device"]
    assert [state for name, state in states if name == "clean"] == ["STARTING", "RUNNING", "COMPLETED"]
    target = pipeline.settings.target
    totals = {r.device: (r.total, r.n) for r in spark.table(f"{target}.per_device").collect()}
    assert totals == {"d1": (4.0, 2), "d2": (7.0, 1)}  # the null device was dropped, the warn kept
    clean = update.flow("clean").metrics
    assert (clean.input_rows, clean.dropped_records, clean.output_rows) == (4, 1, 3)

    quality = spark.sql(DATA_QUALITY_QUERY.format(event_log=f"{target}.event_log", update_id=update.update_id))
    by_rule = {r.expectation: (r.dataset, r.passing_records, r.failing_records) for r in quality.collect()}
    assert by_rule == {"positive": ("clean", 3, 1), "has_device": ("clean", 3, 1), "not_absurd": ("clean", 4, 0)}
    states_logged = spark.sql(
        f"SELECT details:update_progress.state::string AS state FROM {target}.event_log "
        f"WHERE event_type = 'update_progress' AND origin.update_id = '{update.update_id}' ORDER BY sequence"
    )
    assert [r.state for r in states_logged.collect()] == [
        "INITIALIZING", "SETTING_UP_TABLES", "RUNNING", "COMPLETED",
    ]  # fmt: skip
    output_rows = spark.sql(
        f"SELECT origin.flow_name AS flow, details:flow_progress.metrics.num_output_rows::bigint AS n "
        f"FROM {target}.event_log WHERE event_type = 'flow_progress' "
        f"AND details:flow_progress.status::string = 'COMPLETED' AND origin.update_id = '{update.update_id}'"
    )
    assert {r.flow: r.n for r in output_rows.collect()} == {"raw": 4, "clean": 3, "per_device": 2}


def test_a_failing_expectation_stops_its_flow_and_keeps_the_table(spark, pipeline) -> None:
    pipeline, landing = pipeline
    assert pipeline.run().state == "COMPLETED"
    target = pipeline.settings.target
    version_before = spark.sql(f"DESCRIBE HISTORY {target}.clean").agg({"version": "max"}).first()[0]

    land(landing, "b.json", [{"device": "d3", "reading": 5000.0}])
    update = pipeline.run()

    assert update.state == "FAILED"
    clean = update.flow("clean")
    assert clean.state == "FAILED"
    assert "Expectation 'not_absurd' failed on dataset 'clean'" in clean.error
    assert '"device":"d3"' in clean.error and "5000.0" in clean.error
    assert update.flow("raw").state == "COMPLETED"  # committed before the failure: stays committed
    assert update.flow("per_device").state == "SKIPPED"
    version_after = spark.sql(f"DESCRIBE HISTORY {target}.clean").agg({"version": "max"}).first()[0]
    assert version_after == version_before
    logged = spark.sql(
        f"SELECT origin.flow_name AS flow, details:flow_progress.status::string AS status FROM {target}.event_log "
        f"WHERE event_type = 'flow_progress' AND origin.update_id = '{update.update_id}' AND level = 'ERROR'"
    ).collect()
    assert [(r.flow, r.status) for r in logged] == [("clean", "FAILED")]


def test_full_refresh_rebuilds_a_table_from_all_its_input(spark, pipeline) -> None:
    pipeline, landing = pipeline
    pipeline.run()
    land(landing, "c.json", [{"device": "d2", "reading": 1.0}])
    assert pipeline.run().state == "COMPLETED"
    target = pipeline.settings.target
    assert spark.table(f"{target}.clean").count() == 4

    update = pipeline.run(full_refresh=["clean"])

    assert update.state == "COMPLETED"
    assert update.flow("clean").metrics.input_rows == 5  # everything in raw, read again
    assert spark.table(f"{target}.clean").count() == 4
    assert spark.table(f"{target}.raw").count() == 5  # raw itself was not refreshed


def test_a_second_update_of_the_same_pipeline_is_refused(spark, pipeline) -> None:
    pipeline, _ = pipeline
    lock = pipeline.layout.pipeline_dir / "_run.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = run_python(
        "import fcntl, sys, time\n"
        f"f = open({str(lock)!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX); f.write('process holder'); f.flush()\n"
        "print('locked', flush=True); time.sleep(0)\n",
    )
    assert holder.returncode == 0  # the holder ended: its lock died with it
    assert pipeline.run().state == "COMPLETED"

    import fcntl

    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        started = time.perf_counter()
        with pytest.raises(ConcurrentRunError, match=f"pipeline {pipeline.settings.name} is already being updated"):
            pipeline.run()
        assert time.perf_counter() - started < 5


def final_states(spark, pipeline) -> dict[str, list[str]]:
    """``{update id: [final states]}`` from the event log (one each when nothing went missing)."""
    rows = spark.sql(
        f"SELECT origin.update_id AS update_id, details:update_progress.state::string AS state "
        f"FROM {pipeline.settings.target}.event_log WHERE event_type = 'update_progress' "
        "AND details:update_progress.state::string IN ('COMPLETED', 'FAILED', 'CANCELED')"
    ).collect()
    states: dict[str, list[str]] = {}
    for row in rows:
        states.setdefault(row.update_id, []).append(row.state)
    return states


def test_an_update_that_died_before_its_final_write_is_recorded_failed_by_the_next(
    spark, pipeline, monkeypatch
) -> None:
    pipeline, _ = pipeline
    # "raise" stands in for a kill here: nothing on the way out writes the final events.
    monkeypatch.setenv("SMART_FACTORY_FAULT_POINT", "before_event_log_write")
    monkeypatch.setenv("SMART_FACTORY_FAULT_ACTION", "raise")
    with pytest.raises(FaultRaised):
        pipeline.run()
    monkeypatch.delenv("SMART_FACTORY_FAULT_POINT")
    unfinished = UnfinishedUpdates(pipeline.layout.pipeline_dir)
    (died,) = unfinished.left_behind()

    after = pipeline.run()

    assert after.state == "COMPLETED", after.error
    assert final_states(spark, pipeline) == {died.update_id: ["FAILED"], after.update_id: ["COMPLETED"]}
    message = spark.sql(
        f"SELECT message FROM {pipeline.settings.target}.event_log WHERE origin.update_id = '{died.update_id}' "
        "AND details:update_progress.state::string = 'FAILED'"
    ).first().message
    assert "ended without finishing" in message and f"pid {died.process_id}" in message
    assert unfinished.left_behind() == []


def test_an_update_whose_final_state_was_written_is_not_failed_again(spark, pipeline) -> None:
    pipeline, _ = pipeline
    first = pipeline.run()
    unfinished = UnfinishedUpdates(pipeline.layout.pipeline_dir)
    unfinished.start(first.update_id)  # as if killed between its final write and removing its marker

    second = pipeline.run()

    assert final_states(spark, pipeline) == {first.update_id: ["COMPLETED"], second.update_id: ["COMPLETED"]}
    assert unfinished.left_behind() == []


def test_an_unexpected_error_fails_the_update_at_once(spark, pipeline, monkeypatch) -> None:
    pipeline, _ = pipeline

    def broken_run(self):
        raise RuntimeError("disk on fire\nstack trace…")

    monkeypatch.setattr(UpdateExecutor, "run", broken_run)
    with pytest.raises(RuntimeError, match="disk on fire"):
        pipeline.run()

    ((update_id, states),) = final_states(spark, pipeline).items()
    assert states == ["FAILED"]
    error = spark.sql(
        f"SELECT error FROM {pipeline.settings.target}.event_log WHERE origin.update_id = '{update_id}' "
        "AND details:update_progress.state::string = 'FAILED'"
    ).first().error
    assert "RuntimeError: disk on fire" in error
    assert UnfinishedUpdates(pipeline.layout.pipeline_dir).left_behind() == []


DEDUPLICATING_PIPELINE = """
import dlt

@dlt.table
def raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "reading DOUBLE").load(spark.conf.get("test.landing")))

@dlt.table
def unique_readings():
    return dlt.read_stream("raw").dropDuplicates(["device", "reading"])
"""


def test_a_stateful_stream_recovers_from_a_crash_between_its_delta_and_checkpoint_commits(
    spark, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    land(landing, "a.json", [{"device": "d1", "reading": 1.0}, {"device": "d1", "reading": 1.0}])
    pipeline = make_pipeline(spark, tmp_path, DEDUPLICATING_PIPELINE, {"test.landing": str(landing)})
    assert pipeline.run().state == "COMPLETED"
    land(landing, "b.json", [{"device": "d1", "reading": 1.0}, {"device": "d2", "reading": 2.0}])
    # Killed once the micro-batch's Delta commit is done, before Spark's checkpoint commit.
    settings = tmp_path / "pipeline.yml"
    settings.write_text(yaml.safe_dump({
        "name": pipeline.settings.name, "target": pipeline.settings.target,
        "libraries": [str(path) for path in pipeline.settings.libraries],
        "configuration": pipeline.settings.configuration, "storage": pipeline.settings.storage,
    }))  # fmt: skip
    crash_child(PipelineJob(settings).command(), Fault("after_write", dataset="unique_readings"))
    land(landing, "c.json", [{"device": "d2", "reading": 2.0}, {"device": "d3", "reading": 3.0}])

    # The replayed batch must still commit its deduplication state, or Spark fails the query.
    update = pipeline.run()

    assert update.state == "COMPLETED", update.error
    rows = spark.table(f"{pipeline.settings.target}.unique_readings").collect()
    assert sorted((row.device, row.reading) for row in rows) == [("d1", 1.0), ("d2", 2.0), ("d3", 3.0)]
