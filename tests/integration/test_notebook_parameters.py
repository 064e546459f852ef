"""One notebook run by papermill with non-default parameters, on its own, on an empty storage root.

Notebook 03 needs parts 1 and 2: it must recreate them (saying so in a sentence), then
show counts that follow the smaller parameters exactly.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import papermill

from smart_factory.workshop.runner import QuietKernelManager, ensure_kernel

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _outputs(notebook: nbformat.NotebookNode, source_start: str) -> str:
    cell = next(cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith(source_start))
    return "\n".join(
        output.get("text", "") or output.get("data", {}).get("text/plain", "") for output in cell.outputs
    )


def test_notebook_03_alone_with_fewer_devices(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    executed = papermill.execute_notebook(
        str(NOTEBOOKS / "03_checkpoint_replay.ipynb"), str(tmp_path / "03.ipynb"),
        parameters={"storage_root": str(root), "num_devices": 25, "num_files": 2, "readings_per_file": 200,
                    "seed": 11},
        kernel_name=ensure_kernel(), kernel_manager_class=QuietKernelManager, cwd=str(NOTEBOOKS),
        progress_bar=False,
    )  # fmt: skip

    set_up = _outputs(executed, "from smart_factory import workshop")
    assert "Part 1 (Generate the factory's data) has not run on this storage root yet" in set_up
    assert "Part 2 (Bronze, silver and gold) has not run" in set_up
    assert "Traceback" not in set_up and "completed" not in set_up, "earlier parts run quietly"

    # Nothing ran before the trigger: every table still has its rows, the new files wait.
    waiting = _outputs(executed, "display(workshop.compare_counts")
    assert re.search(r"device_registry\s+25\s+25\s+0", waiting)
    assert re.search(r"files_landed\s.*\n.*\n\s*(\d+)\s+(\d+)\s+(\d+)", waiting)

    # After the update: each table grew by exactly what the simulator landed.
    after = _outputs(executed, "display(workshop.compare_counts(before, workshop.counts(factory), expected")
    for table in ("bronze_readings", "silver_readings", "quarantine_readings"):
        row = re.search(rf"^{table}\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)$", after, re.MULTILINE)
        assert row, after
        before, total, added, expected = (int(value.replace(",", "")) for value in row.groups())
        assert added == expected > 0 and total == before + added

    # The ledger: two updates, each file read once.
    per_update = _outputs(executed, "display(workshop.ledger_by_update")
    rows = re.findall(r"^\s*([12])\s+(\d+)\s+([\d,]+)\s+(\d+)$", per_update, re.MULTILINE)
    assert [row[0] for row in rows] == ["1", "2"]
    assert all(files == distinct for _, files, _, distinct in rows)

    # Run as a learner would (solutions off): the worked solution does not run, and the check says so.
    assert "Worked solution: not run" in _outputs(executed, "%%solution")
    assert _outputs(executed, 'workshop.check("failed_update_query"').startswith("Not yet")
