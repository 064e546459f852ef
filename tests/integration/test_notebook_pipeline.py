"""The pipeline the notebooks teach is the pipeline the project ships.

The ``%%pipeline`` cells of notebooks 02–04 (worked solutions included, as a batch run has
them) and ``pipelines/dlt_pipeline.py`` run on the same landed files, each in a schema of its
own; every table they share must hold the same rows in the columns they share.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from pipeline_support import smart_factory_pipeline
from pyspark.sql import SparkSession

from smart_factory.runtime.pipeline import Pipeline
from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator
from smart_factory.workshop.pipeline_cells import CellStore, pipeline_cells_of
from smart_factory.workshop.story import HAND_KEPT_REGISTRY_FILE, machine_on_order

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TEACHING_NOTEBOOKS = ("02_bronze_silver_gold.ipynb", "03_checkpoint_replay.ipynb",
                      "04_schema_change_and_late_data.ipynb")
VOLUMES = {"sensor_readings": "/Volumes/main/smart_factory/landing/sensor_readings",
           "device_registry": "/Volumes/main/smart_factory/landing/device_registry"}  # fmt: skip
# Columns that differ by when a row was written, not by what it holds.
WRITE_TIME_COLUMNS = {"ingested_at"}


def _landed(tmp_path: Path) -> tuple[Path, Path]:
    registry = DeviceRegistry.generate(20, seed=3)
    registry_dir, landing = tmp_path / "device_registry", tmp_path / "sensor_readings"
    registry.save(registry_dir)
    (registry_dir / HAND_KEPT_REGISTRY_FILE).write_text(json.dumps(machine_on_order(registry)) + "\n")
    simulator = SensorSimulator(registry, seed=3)
    simulator.land_batches(landing, num_files=2, readings_per_file=300,
                           scenario=Scenario(duplicate_share=0.02, malformed=True))  # fmt: skip
    simulator.land_batches(landing, num_files=1, readings_per_file=300, scenario=Scenario(schema_change=True))
    return landing, registry_dir


def _notebook_pipeline(shipped: Pipeline, tmp_path: Path, landing: Path, registry_dir: Path) -> Pipeline:
    store = CellStore(tmp_path / "cells")
    for notebook in TEACHING_NOTEBOOKS:
        for cell in pipeline_cells_of(NOTEBOOKS / notebook):
            code = cell.code.replace(VOLUMES["sensor_readings"], str(landing))
            store.save(replace(cell, code=code.replace(VOLUMES["device_registry"], str(registry_dir))))
    target = f"{shipped.settings.target}_cells"
    settings = replace(shipped.settings, name=f"{shipped.settings.name}_cells", target=target,
                       storage=str(tmp_path / "cells_storage"), libraries=tuple(store.files()))  # fmt: skip
    return Pipeline(settings, shipped.spark)


def test_the_notebooks_cells_build_the_tables_the_shipped_file_builds(spark: SparkSession, tmp_path: Path) -> None:
    landing, registry_dir = _landed(tmp_path)
    shipped = smart_factory_pipeline(spark, tmp_path / "shipped", landing, registry_dir)
    taught = _notebook_pipeline(shipped, tmp_path, landing, registry_dir)
    for pipeline in (shipped, taught):
        update = pipeline.run()
        assert update.state == "COMPLETED", update.error

    shipped_tables = {name for name, dataset in shipped.validate().datasets.items() if dataset.kind != "view"}
    taught_tables = {name for name, dataset in taught.validate().datasets.items() if dataset.kind != "view"}
    assert taught_tables == shipped_tables
    for table in sorted(shipped_tables - {"readings_validated"}):  # temporary: not published
        ours = spark.table(f"{shipped.settings.target}.{table}")
        theirs = spark.table(f"{taught.settings.target}.{table}")
        common = [name for name in ours.columns if name in theirs.columns and name not in WRITE_TIME_COLUMNS]
        assert len(common) >= len(ours.columns) - 2, (table, ours.columns, theirs.columns)
        ours, theirs = ours.select(common), theirs.select(common)
        assert ours.count() == theirs.count() > 0, table
        assert ours.exceptAll(theirs).isEmpty() and theirs.exceptAll(ours).isEmpty(), table
