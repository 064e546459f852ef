"""Each table belongs to one pipeline: a second pipeline on the same tables is refused at planning.

Two settings files with different names and the same target schema, on the same storage root
(the pipelines' folders in the default place), as in the report that doubled bronze and silver.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

from smart_factory.errors import TableOwnershipError
from smart_factory.lakehouse import StoragePaths
from smart_factory.runtime.ownership import OWNER_ID_PROPERTY, OWNER_NAME_PROPERTY
from smart_factory.runtime.pipeline import Pipeline

PIPELINE = """
import dlt
from pyspark.sql import functions as F

@dlt.table
def raw():
    return (spark.readStream.format("cloudFiles").option("cloudFiles.format", "json")
            .option("cloudFiles.schemaHints", "reading DOUBLE").load(spark.conf.get("test.landing")))

@dlt.table
def clean():
    return dlt.read_stream("raw").select("device", "reading")

@dlt.table
def per_device():
    return dlt.read("clean").groupBy("device").agg(F.count("*").alias("n"))
"""
TABLES = ("raw", "clean", "per_device")


def land(folder: Path, name: str, devices: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(json.dumps({"device": device, "reading": 1.0}) + "\n" for device in devices))


def settings_file(folder: Path, name: str, target: str, landing: Path) -> Path:
    """A settings file without ``storage``: the pipeline's folder is <root>/pipelines/<name>, as by default."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.py").write_text(textwrap.dedent(PIPELINE))
    path = folder / "pipeline.yml"
    path.write_text(yaml.safe_dump({"name": name, "target": target, "libraries": ["pipeline.py"],
                                    "configuration": {"test.landing": str(landing)}}))  # fmt: skip
    return path


@pytest.fixture
def two_pipelines(spark, tmp_path: Path) -> tuple[Pipeline, Pipeline, Path]:
    suffix = uuid.uuid4().hex[:8]
    target, landing = f"owned_{suffix}", tmp_path / "landing"
    land(landing, "a.json", ["d1", "d1", "d2"])
    first = Pipeline.load(settings_file(tmp_path / "first", f"Factory_{suffix}", target, landing), spark)
    second = Pipeline.load(settings_file(tmp_path / "second", f"Factory_copy_{suffix}", target, landing), spark)
    return first, second, landing


def snapshot(spark, target: str) -> dict[str, tuple[int, int]]:
    """Each table's (Delta version, row count): what a refused update must leave as it was."""
    state = {}
    for table in TABLES:
        version = spark.sql(f"DESCRIBE HISTORY {target}.{table} LIMIT 1").first()["version"]
        state[table] = (version, spark.table(f"{target}.{table}").count())
    return state


def owner_properties(spark, pipeline: Pipeline, table: str) -> tuple[str | None, str | None]:
    rows = spark.sql(f"SHOW TBLPROPERTIES {pipeline.settings.target}.{table}").collect()
    properties = {row.key: row.value for row in rows}
    return properties.get(OWNER_ID_PROPERTY), properties.get(OWNER_NAME_PROPERTY)


def test_a_second_pipeline_on_the_same_tables_is_refused_before_it_writes(spark, storage: StoragePaths,
                                                                         two_pipelines) -> None:  # fmt: skip
    first, second, _ = two_pipelines
    target = first.settings.target
    assert first.run().state == "COMPLETED"
    for table in TABLES:
        assert owner_properties(spark, first, table) == (first.pipeline_id, first.settings.name)
    before = snapshot(spark, target)
    assert before["raw"][1] == 3

    with pytest.raises(TableOwnershipError) as refused:
        second.validate()
    message = str(refused.value)
    for table in TABLES:
        assert (
            f"table {target}.{table} belongs to pipeline '{first.settings.name}' (id {first.pipeline_id}); "
            f"pipeline '{second.settings.name}' cannot write it"
        ) in message
    assert f"ALTER TABLE <table> SET TBLPROPERTIES ('pipelines.pipelineId' = '{second.pipeline_id}')" in message

    for full_refresh in (False, True):  # a full refresh would drop the tables first: refused before that too
        update = second.run(full_refresh=full_refresh)
        assert update.state == "FAILED"
        assert update.flows == []  # no flow started
        assert f"table {target}.raw belongs to pipeline '{first.settings.name}'" in (update.error or "")
        assert snapshot(spark, target) == before  # nothing written, nothing lost, nothing doubled
    assert not (storage.pipelines / second.settings.name / "checkpoints").exists()
    refusal = (
        second.events()
        .where(f"origin.update_id = '{update.update_id}' AND details:update_progress.state::string = 'FAILED'")
        .first()
    )  # the refused update is in the event log, with the same message
    assert refusal is not None and update.error in refusal["message"]

    assert first.run().state == "COMPLETED"  # the owner goes on as before
    assert snapshot(spark, target)["raw"][1] == 3


def test_a_table_without_an_owner_is_adopted_only_by_the_pipeline_that_wrote_it(spark, two_pipelines) -> None:
    first, second, _ = two_pipelines
    target = first.settings.target
    assert first.run().state == "COMPLETED"
    for table in TABLES:  # as a table written before owners were recorded
        spark.sql(f"ALTER TABLE {target}.{table} UNSET TBLPROPERTIES ('{OWNER_ID_PROPERTY}', '{OWNER_NAME_PROPERTY}')")
    before = snapshot(spark, target)

    update = second.run()
    assert update.state == "FAILED"
    assert (
        f"table {target}.raw exists without an owning pipeline, and pipeline '{second.settings.name}' "
        "has never written it"
    ) in (update.error or "")
    assert snapshot(spark, target) == before

    assert first.run().state == "COMPLETED"
    assert owner_properties(spark, first, "raw") == (first.pipeline_id, first.settings.name)
    assert spark.table(f"{target}.raw").count() == 3


def test_the_owner_refreshes_in_full_and_hands_tables_over_by_move_or_drop(spark, storage: StoragePaths,
                                                                          two_pipelines) -> None:  # fmt: skip
    first, second, landing = two_pipelines
    target = first.settings.target
    assert first.run().state == "COMPLETED"
    land(landing, "b.json", ["d3"])
    refreshed = first.run(full_refresh=True)
    assert refreshed.state == "COMPLETED", refreshed.error
    assert spark.table(f"{target}.raw").count() == 4  # every landed record once
    assert owner_properties(spark, first, "raw") == (first.pipeline_id, first.settings.name)

    # Move, as Databricks documents it: the owner id set to the new pipeline's, then a full refresh
    # there, since the new pipeline's flows have no checkpoint of what the tables hold.
    for table in TABLES:
        spark.sql(f"ALTER TABLE {target}.{table} SET TBLPROPERTIES ('{OWNER_ID_PROPERTY}' = '{second.pipeline_id}')")
    moved = second.run(full_refresh=True)
    assert moved.state == "COMPLETED", moved.error
    assert spark.table(f"{target}.raw").count() == 4
    assert owner_properties(spark, second, "clean") == (second.pipeline_id, second.settings.name)
    refused = first.run()
    assert refused.state == "FAILED"
    assert f"table {target}.clean belongs to pipeline '{second.settings.name}'" in (refused.error or "")

    # Drop: with the folders gone, the next pipeline to run creates the tables and owns them.
    for table in TABLES:
        shutil.rmtree(storage.table(f"{target}.{table}"))
    taken_back = first.run(full_refresh=True)
    assert taken_back.state == "COMPLETED", taken_back.error
    assert owner_properties(spark, first, "per_device") == (first.pipeline_id, first.settings.name)
    assert spark.table(f"{target}.raw").count() == 4
