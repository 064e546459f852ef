"""Every exercise's check fails on the unsolved exercise, and says what is missing.

The series runs as a learner who has not touched the exercise cells would run it (the
``solutions`` parameter off), on small parameters. That each check passes on its worked
solution is what nbval proves: it runs the series with the solutions on, where a check that
does not pass raises.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from smart_factory.workshop.runner import run_series

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SMALL = {"num_devices": 40, "num_files": 2, "readings_per_file": 400, "solutions": False}


def _outputs(cell: nbformat.NotebookNode) -> str:
    return "\n".join(output.get("text", "") or output.get("data", {}).get("text/plain", "") for output in cell.outputs)


@pytest.mark.slow
def test_unsolved_exercises_fail_their_checks_and_the_story_goes_on(tmp_path: Path) -> None:
    run = run_series({**SMALL, "storage_root": str(tmp_path / "lake")}, NOTEBOOKS, tmp_path / "runs")

    checks = {}
    for executed in sorted(run.run_dir.glob("0*.ipynb")):
        for cell in nbformat.read(executed, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            if cell.source.startswith("workshop.check("):
                checks[cell.source.split('"')[1]] = _outputs(cell)
            if cell.source.startswith("%%solution") or "--solution" in cell.source.split("\n")[0]:
                assert "Worked solution: not run" in _outputs(cell), (executed.name, cell.source[:60])
    assert set(checks) == {"registry_drop_rule", "failed_update_query", "humidity_in_silver", "vibration_alert",
                           "vibration_panel"}  # fmt: skip
    for name, text in checks.items():
        assert text.startswith("Not yet:"), (name, text)
        assert "✗" in text and "Hint:" in text, (name, text)
    # The recap still reconciles every table with what was landed: the exercises change no counts.
    assert not re.search(r"\sno$", run.summary, re.MULTILINE), run.summary
