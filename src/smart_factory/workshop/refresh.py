"""Re-execute the notebooks in place, as committed: ``make notebooks``.

A clean run with the default parameters on a fresh, temporary storage root (never the
user's ``data/``), in order, saving each notebook with its new outputs so nbval has the
real results to compare with. Run it after any change that alters what a notebook shows.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from smart_factory.lakehouse.paths import STORAGE_ROOT_ENV
from smart_factory.workshop.parameters import SOLUTIONS_ENV
from smart_factory.workshop.runner import QuietKernelManager, default_notebooks_dir, ensure_kernel, series_notebooks


def refresh(notebooks: list[Path], timeout: int = 600) -> dict[str, float]:
    """Execute ``notebooks`` in order, in place; returns seconds per notebook."""
    import nbformat
    from nbclient import NotebookClient

    kernel = ensure_kernel()
    root = Path(tempfile.mkdtemp(prefix="smart-factory-notebooks-"))
    saved = os.environ.get(STORAGE_ROOT_ENV)
    os.environ[STORAGE_ROOT_ENV] = str(root)  # the kernels inherit it
    os.environ[SOLUTIONS_ENV] = "1"  # the committed outputs are those of the worked solutions
    seconds = {}
    try:
        for path in notebooks:
            notebook = nbformat.read(path, as_version=4)
            started = time.perf_counter()
            NotebookClient(notebook, timeout=timeout, kernel_name=kernel, record_timing=False,
                           kernel_manager_class=QuietKernelManager,
                           resources={"metadata": {"path": str(path.parent)}}).execute()  # fmt: skip
            seconds[path.name] = time.perf_counter() - started
            for cell in notebook.cells:
                cell.metadata.pop("execution", None)
            notebook.metadata.pop("widgets", None)
            nbformat.write(notebook, path)
            print(f"  {path.name:<42} {seconds[path.name]:5.1f} s", flush=True)
    finally:
        if saved is None:
            os.environ.pop(STORAGE_ROOT_ENV, None)
        else:
            os.environ[STORAGE_ROOT_ENV] = saved
        shutil.rmtree(root, ignore_errors=True)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smart_factory.workshop.refresh", description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every numbered notebook, in order")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or series_notebooks(default_notebooks_dir())
    seconds = refresh(notebooks)
    print(f"{len(seconds)} notebooks in {sum(seconds.values()):.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
