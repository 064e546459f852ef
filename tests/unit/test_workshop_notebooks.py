"""The notebooks as files: the shape every one shares, clean committed outputs, and the batch runner's plumbing."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill
import pytest

from smart_factory.workshop.parameters import DEFAULTS, WorkshopParameterError, WorkshopParameters
from smart_factory.workshop.runner import (
    SUMMARY_TAG,
    load_parameters_file,
    parse_value,
    series_notebooks,
    summary_from,
)
from smart_factory.workshop.story import PARTS

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"
NOTEBOOKS = series_notebooks(NOTEBOOKS_DIR)
# Any absolute path of this machine (not inside a word or URL); Databricks' /Volumes paths are the story's own.
ABSOLUTE_PATH = re.compile(r"(?<![\w/.:<])/(?!Volumes/)(?:[\w.+@-]+/)+")
MAX_CODE_CELL_LINES = 15
# The notebooks whose part has a "your turn" exercise with a check and a hidden worked solution.
EXERCISE_NOTEBOOKS = [path.name for path in NOTEBOOKS if path.name[:2] in ("02", "03", "04", "05", "06")]


def test_the_series_is_numbered_in_the_order_of_the_story() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert names == [part.notebook for part in PARTS] + ["07_recap.ipynb"]
    assert [part.number for part in PARTS] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_each_notebook_opens_with_a_lead_a_parameters_cell_and_one_set_up_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    lead, parameters_cell, set_up = notebook.cells[:3]
    assert lead.cell_type == "markdown" and lead.source.startswith("# ")
    assert "parameters" in parameters_cell.metadata.get("tags", [])
    assert "workshop.setup(globals())" in set_up.source and len(set_up.source.splitlines()) <= 4
    assert notebook.metadata.kernelspec.name == "smart-factory"
    # Papermill sees the same parameters, with the same defaults, the batch runner knows.
    declared = papermill.inspect_notebook(str(path))
    assert declared, "no parameters found"
    for name, parameter in declared.items():
        assert hasattr(DEFAULTS, name), f"{path.name} declares unknown parameter {name}"
        assert eval(parameter["default"]) == WorkshopParameters.__dataclass_fields__[name].default, name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_committed_outputs_come_from_a_clean_run_without_noise(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    counts = [cell.execution_count for cell in code_cells]
    assert counts == list(range(1, len(code_cells) + 1)), "run top to bottom once, in a fresh kernel"
    for cell in code_cells:
        for output in cell.outputs:
            assert output.output_type != "error", f"cell {cell.execution_count} failed"
            assert output.get("name") != "stderr", f"cell {cell.execution_count} wrote to stderr: {output.text[:200]}"
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            noise = re.search(r"WARN|Warning|it/s\]", text) or ABSOLUTE_PATH.search(text)
            assert not noise, f"cell {cell.execution_count}: {text[:200]}"
        # Markers that skip comparison must say why (a comment in the cell).
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            assert "nbval-ignore-output:" in cell.source


def test_command_line_values_are_typed_like_yaml() -> None:
    assert parse_value("40") == 40
    assert parse_value("null") is None
    assert parse_value("local[2]") == "local[2]"
    assert parse_value("2026-01-05T08:00:00Z") == "2026-01-05T08:00:00Z"


def test_a_parameters_file_is_a_yaml_mapping(tmp_path: Path) -> None:
    good = tmp_path / "small.yml"
    good.write_text("num_devices: 40\nstart: 2026-02-01T00:00:00Z\n")
    assert load_parameters_file(good) == {"num_devices": 40, "start": "2026-02-01T00:00:00+00:00"}
    bad = tmp_path / "list.yml"
    bad.write_text("- num_devices\n")
    with pytest.raises(WorkshopParameterError, match="mapping"):
        load_parameters_file(bad)
    with pytest.raises(WorkshopParameterError, match="cannot read"):
        load_parameters_file(tmp_path / "missing.yml")


def test_the_run_summary_is_the_recap_cells_text(tmp_path: Path) -> None:
    recap = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("workshop.collect_summary(factory)", metadata={"tags": [SUMMARY_TAG]})
    cell.outputs = [nbformat.v4.new_output("execute_result", {"text/plain": "Tables and rows\n..."}, execution_count=1)]
    recap.cells = [cell]
    nbformat.write(recap, tmp_path / "07_recap.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "01_first.ipynb")
    paths = [Path("01_first.ipynb"), Path("07_recap.ipynb")]
    assert summary_from(tmp_path, paths, {}) == "Tables and rows\n..."


def test_the_output_sanitizer_hides_any_checkout_path_but_keeps_urls_and_volumes() -> None:
    from nbval.plugin import get_sanitize_patterns

    patterns = get_sanitize_patterns((NOTEBOOKS_DIR / "nbval_sanitize.cfg").read_text())

    def sanitize(text: str) -> str:
        for regex, replace in patterns:
            text = re.sub(regex, replace, text)
        return text

    # A clean clone may live anywhere (CI's is not under /tmp or /home).
    assert sanitize("from /check/run-7/repo/alerts/overheating.yml.") == "from <PATH>"
    assert sanitize("root: /srv/factory/data") == "root: <PATH>"
    assert sanitize("sent to http://127.0.0.1:8025/hook") == "sent to http://127.0.0.1:8025/hook"
    assert sanitize('.load("/Volumes/main/smart_factory/landing")') == '.load("/Volumes/main/smart_factory/landing")'
    assert sanitize("pass/fail per rule") == "pass/fail per rule"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_code_cells_stay_short(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" not in cell.metadata.get("tags", []):
            assert len(cell.source.splitlines()) <= MAX_CODE_CELL_LINES, cell.source


@pytest.mark.parametrize("name", EXERCISE_NOTEBOOKS)
def test_each_exercise_has_a_hidden_solution_and_a_check(name: str) -> None:
    cells = [cell for cell in nbformat.read(NOTEBOOKS_DIR / name, as_version=4).cells if cell.cell_type == "code"]
    solutions = [i for i, cell in enumerate(cells) if "--solution" in cell.source.split("\n")[0]
                 or cell.source.startswith("%%solution")]  # fmt: skip
    assert solutions, "no worked solution"
    for index in solutions:
        assert cells[index].metadata.get("jupyter", {}).get("source_hidden"), "a solution starts hidden"
        assert "%%" in cells[index - 1].source, "the exercise cell the learner edits comes just before it"
        assert any("workshop.check(" in cell.source for cell in cells[index + 1:]), "a check follows"
