"""`make demo`'s command: the notebooks run in order with papermill into a run folder, then a summary.

The full series with the default parameters is what nbval runs (notebooks/); here the
runner's own behaviour is checked on small parameters and on a copy of the first two
notebooks, so the test stays short.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import nbformat
from support import run_cli

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
SMALL = ["-p", "num_devices", "40", "-p", "readings_per_file", "300"]


def test_the_demo_runs_the_notebooks_in_order_and_summarises_the_tables(tmp_path: Path) -> None:
    notebooks, runs, root = tmp_path / "notebooks", tmp_path / "runs", tmp_path / "lake"
    notebooks.mkdir()
    for name in ("01_generate_factory_data.ipynb", "02_bronze_silver_gold.ipynb"):
        shutil.copy(NOTEBOOKS / name, notebooks / name)
    (tmp_path / "small.yml").write_text("num_files: 2\nseed: 7\n")
    stale = root / "lakehouse" / "smart_factory" / "stale_table"
    stale.mkdir(parents=True)

    result = run_cli(
        "demo", "--notebooks", str(notebooks), "--runs", str(runs), "--storage-root", str(root),
        "--parameters", str(tmp_path / "small.yml"), *SMALL, timeout=900,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert re.search(r"01_generate_factory_data\.ipynb\s+done in\s+\d+ s\n\s+02_bronze_silver_gold", out), out
    (run_dir,) = runs.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}Z", run_dir.name)
    assert f"executed copies in {run_dir}/" in out
    assert not stale.exists(), "part 1 starts from an empty lakehouse"
    # The command line wins over the file; each notebook got the parameters it declares.
    first = nbformat.read(run_dir / "01_generate_factory_data.ipynb", as_version=4)
    injected = next(cell for cell in first.cells if "injected-parameters" in cell.metadata.get("tags", []))
    for line in ("num_devices = 40", "readings_per_file = 300", "num_files = 2", "seed = 7"):
        assert line in injected.source
    # The summary (no recap notebook here, so the runner computed it) matches the simulator's counts.
    progress = json.loads((root / "workshop" / "progress.json").read_text())
    expected = progress["landings"][0]["expected_rows"]
    for table, rows in expected.items():
        assert re.search(rf"^{table}\s+{rows:,}\s+{rows:,}\s+yes$", out, re.MULTILINE), (table, out)
    assert re.search(r"^device_registry\s+40$", out, re.MULTILINE)
    assert "none evaluated yet (05_alerts.ipynb does)" in out
    assert (run_dir / "summary.txt").read_text().strip() in out
    assert "WARN" not in out + result.stderr and "Traceback" not in result.stderr


def test_a_failing_notebook_stops_the_demo_naming_the_notebook_and_cell(tmp_path: Path) -> None:
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    kernelspec = {"name": "smart-factory", "display_name": "Smart Factory (.venv)", "language": "python"}
    broken = nbformat.v4.new_notebook(metadata={"kernelspec": kernelspec})
    parameters = nbformat.v4.new_code_cell("seed = 42", metadata={"tags": ["parameters"]})
    broken.cells = [parameters, nbformat.v4.new_code_cell("raise ValueError('the gateway is on fire')")]
    nbformat.write(broken, notebooks / "01_broken.ipynb")
    nbformat.write(nbformat.v4.new_notebook(), notebooks / "02_never_runs.ipynb")

    result = run_cli("demo", "--notebooks", str(notebooks), "--runs", str(tmp_path / "runs"), "-p", "seed", "1",
                     "--kernel-per-notebook")  # fmt: skip

    assert result.returncode == 2
    assert "01_broken.ipynb failed in cell 3 (ValueError: the gateway is on fire)" in result.stderr
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert not (run_dir / "02_never_runs.ipynb").exists()


def test_an_unknown_parameter_is_refused_before_any_notebook_runs(tmp_path: Path) -> None:
    result = run_cli("demo", "--runs", str(tmp_path / "runs"), "-p", "num_machines", "5")
    assert result.returncode == 2
    assert "unknown parameter num_machines" in result.stderr
    assert not (tmp_path / "runs").exists()
