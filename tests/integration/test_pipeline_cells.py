"""Notebook cells as pipeline source: what a learner edits is what the next update runs.

Real Spark and Delta: cells are saved, checked on their own, run as the pipeline's source,
edited and run again; the magics run in a real IPython shell.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from pyspark.sql import SparkSession

from smart_factory.errors import PipelineDefinitionError
from smart_factory.lakehouse import StoragePaths
from smart_factory.runtime.pipeline import Pipeline
from smart_factory.runtime.settings import PipelineSettings
from smart_factory.workshop.magics import SOLUTION_NOT_RUN, WorkshopMagics
from smart_factory.workshop.parameters import WorkshopParameters
from smart_factory.workshop.pipeline_cells import CellStore, PipelineCell, pipeline_cells_of, settings_with_cells
from smart_factory.workshop.session import Workshop

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"

DEVICES_CELL = """import dlt

@dlt.table
def devices():
    return spark.read.json("{landing}")
"""
DROP_RULE = '@dlt.expect_or_drop("device_id_present", "device_id IS NOT NULL")\n'


def _pipeline_of(store: CellStore, spark: SparkSession, folder: Path) -> Pipeline:
    target = f"cells_{uuid.uuid4().hex[:8]}"
    (folder / "placeholder.py").write_text("# replaced by the cells\n")
    shipped = PipelineSettings.from_mapping(
        {"name": f"pipeline_{target}", "target": target, "libraries": ["placeholder.py"],
         "storage": str(folder / "storage")}, base=folder)  # fmt: skip
    return Pipeline(settings_with_cells(shipped, store), spark)


def test_a_mistake_in_a_cell_is_reported_at_its_line_in_the_cell(spark: SparkSession, tmp_path: Path) -> None:
    store = CellStore(tmp_path / "cells")
    broken = PipelineCell("devices", "import dlt\n\n@dlt.table(comment=42)\ndef devices():\n    return None\n")
    # Line 1 of the cell is the %%pipeline line, so the decorator is on line 4.
    with pytest.raises(PipelineDefinitionError, match=r"cell `%%pipeline devices`, line 4: comment must be a string"):
        store.check(broken, spark)
    typo = PipelineCell("devices", "import dlt\n\n@dlt.table\ndef devices(:\n    return None\n")
    with pytest.raises(PipelineDefinitionError, match=r"cell `%%pipeline devices`, line 5: syntax error"):
        store.check(typo, spark)
    assert store.is_empty(), "a cell that does not load is not saved"


def test_an_edited_cell_is_what_the_next_update_runs(spark: SparkSession, tmp_path: Path) -> None:
    landing = tmp_path / "registry.json"
    landing.write_text('{"device_id": "DEV-1"}\n{"device_id": null}\n{"device_id": "DEV-2"}\n')
    store = CellStore(tmp_path / "cells")
    store.save(PipelineCell("devices", DEVICES_CELL.format(landing=landing)))
    pipeline = _pipeline_of(store, spark, tmp_path)
    assert pipeline.settings.libraries == (store.folder / "devices.py",)
    first = pipeline.run()
    assert first.state == "COMPLETED", first.error
    table = f"{pipeline.settings.target}.devices"
    assert spark.table(table).count() == 3

    # Same input files, new rule: the materialized view is a new definition and is recomputed.
    edited = DEVICES_CELL.format(landing=landing).replace("@dlt.table\n", "@dlt.table\n" + DROP_RULE)
    described = store.check(PipelineCell("devices", edited), spark)
    assert described == ["devices: a table, 1 expectation(s): device_id_present (drop)"]
    store.save(PipelineCell("devices", edited))
    second = pipeline.run()
    assert second.state == "COMPLETED", second.error
    assert sorted(row.device_id for row in spark.table(table).collect()) == ["DEV-1", "DEV-2"]
    assert [(e.name, e.failed_records) for e in second.flow("devices").metrics.expectations] == [
        ("device_id_present", 1)
    ]


def test_the_notebooks_cells_are_read_with_or_without_their_solutions() -> None:
    notebook = NOTEBOOKS / "02_bronze_silver_gold.ipynb"
    solved = {cell.name: cell for cell in pipeline_cells_of(notebook)}
    unsolved = {cell.name: cell for cell in pipeline_cells_of(notebook, with_solutions=False)}
    assert "bronze_readings" in solved and "gold_plant_line_hourly" in solved
    assert "expect_or_drop" in solved["device_registry"].code and solved["device_registry"].solution
    assert "expect_or_drop" not in unsolved["device_registry"].code


@pytest.fixture
def shell() -> InteractiveShell:
    return InteractiveShell.instance()


def _magics(spark: SparkSession, storage: StoragePaths, shell: InteractiveShell, solutions: bool) -> WorkshopMagics:
    factory = Workshop(WorkshopParameters(solutions=solutions), spark, storage)
    return WorkshopMagics(factory, shell.user_ns)


def test_sql_cells_show_rows_and_keep_the_result(spark: SparkSession, storage: StoragePaths,
                                                 shell: InteractiveShell) -> None:  # fmt: skip
    magics = _magics(spark, storage, shell, solutions=False)
    shown = magics.sql("answer", "SELECT id, id * 2 AS doubled FROM range(25) ORDER BY id DESC")
    assert shown.columns == ["id", "doubled"] and shown.rows[0] == [24, 48] and len(shown.rows) == 20
    assert shown.caption == "first 20 rows"
    assert shell.user_ns["answer"].count() == 25


def test_a_mistake_in_a_cell_shows_in_the_notebook_as_one_line(spark: SparkSession, storage: StoragePaths,
                                                               shell: InteractiveShell) -> None:  # fmt: skip
    magics = _magics(spark, storage, shell, solutions=False)
    with pytest.raises(PipelineDefinitionError) as raised:
        magics.pipeline("devices", "import dlt\n\n@dlt.table(comment=42)\ndef devices():\n    return None\n")
    assert raised.value._render_traceback_() == [
        "PipelineDefinitionError: cell `%%pipeline devices`, line 4: comment must be a string, got int 42"
    ]


def test_sql_cells_read_files_by_volume_path(spark: SparkSession, storage: StoragePaths,
                                             shell: InteractiveShell) -> None:  # fmt: skip
    folder = storage.root / "volumes" / "main" / "cells_test" / "landing" / f"files_{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    (folder / "a.json").write_text('{"device_id": "DEV-1"}\n{"device_id": "DEV-2"}\n')
    volume_path = "/Volumes/main/cells_test/landing/" + folder.name
    shown = _magics(spark, storage, shell, solutions=False).sql("", f"SELECT count(*) AS n FROM json.`{volume_path}`")
    assert shown.rows == [[2]]


def test_solutions_run_only_when_the_parameter_says_so(spark: SparkSession, storage: StoragePaths,
                                                       shell: InteractiveShell, tmp_path: Path) -> None:  # fmt: skip
    off = _magics(spark, storage, shell, solutions=False)
    assert repr(off.solution("", "solved = 42")) == SOLUTION_NOT_RUN and "solved" not in shell.user_ns
    landing = tmp_path / "registry.json"
    landing.write_text(json.dumps({"device_id": "DEV-1"}) + "\n")
    assert repr(off.pipeline("devices --solution", DEVICES_CELL.format(landing=landing))) == SOLUTION_NOT_RUN
    on = _magics(spark, storage, shell, solutions=True)
    on.solution("", "solved = 42")
    assert shell.user_ns["solved"] == 42
    assert "Worked solution saved" in repr(on.pipeline("devices --solution", DEVICES_CELL.format(landing=landing)))
    assert on.factory.pipeline_cells.files() == [on.factory.pipeline_cells.folder / "devices.py"]
    on.factory.pipeline_cells.clear()
