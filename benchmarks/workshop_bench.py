"""How long the whole workshop takes as a batch run: every notebook in order under papermill.

- ``workshop_seconds`` (goal <= 180): ``smart-factory demo``'s run (one kernel shared by the
  notebooks, as ``make demo`` does) with the default parameters, on a new temporary storage
  root, from the first kernel's start to the summary. ``details`` has each notebook's seconds.

Full mode only: the series alone takes longer than the quick run's two-minute budget.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import Measurement, benchmark


@benchmark
def workshop_seconds(quick: bool) -> list[Measurement]:
    """The notebook series, end to end, with default parameters."""
    if quick:
        return []
    from smart_factory.workshop.runner import run_series

    with tempfile.TemporaryDirectory(prefix="workshop-bench-") as root:
        began = time.perf_counter()
        run = run_series({"storage_root": str(Path(root) / "storage")}, runs_dir=Path(root) / "runs")
        seconds = time.perf_counter() - began
    return [
        Measurement("workshop_seconds", round(seconds, 1), "s", goal="value <= 180",
                    details={"notebooks": {notebook.notebook: round(notebook.seconds, 1) for notebook in run.notebooks},
                             "kernel": "one shared by the series"}),
    ]  # fmt: skip
