"""``make demo``: the numbered notebooks, run in order with papermill, then a one-screen summary.

    run = run_series({"num_devices": 100})          # notebooks/NN_*.ipynb -> runs/<UTC time>/
    print(run.summary)

Each notebook gets only the parameters its ``parameters`` cell declares; a name no
notebook declares is an error. The notebooks share one kernel, one after the other, so
Spark starts once and later notebooks find its JVM warm (a third of the series' time
otherwise); ``shared_kernel=False`` gives each its own, as Jupyter would. The first
notebook that fails stops the series with a :class:`NotebookFailed` naming the notebook
and the cell; its executed copy (with the error) is in the run folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync

from smart_factory.lakehouse.paths import checkout_root
from smart_factory.workshop.parameters import WorkshopParameterError, WorkshopParameters
from smart_factory.workshop.session import WorkshopError
from smart_factory.yaml_files import read_yaml_mapping

KERNEL_NAME = "smart-factory"
KERNEL_DISPLAY_NAME = "Smart Factory (.venv)"
SUMMARY_TAG = "workshop-summary"  # the recap cell whose text output is the run's summary
NOTEBOOK_PATTERN = "[0-9][0-9]_*.ipynb"


class NotebookFailed(WorkshopError):
    """A notebook of the series raised; the message names it, the cell and the error."""


@dataclass(frozen=True)
class NotebookRun:
    notebook: str
    seconds: float
    parameters: dict[str, Any]


@dataclass
class SeriesRun:
    run_dir: Path
    notebooks: list[NotebookRun] = field(default_factory=list)
    summary: str = ""

    @property
    def seconds(self) -> float:
        return sum(run.seconds for run in self.notebooks)


def default_notebooks_dir() -> Path:
    return (checkout_root() or Path.cwd()) / "notebooks"


def default_runs_dir() -> Path:
    return (checkout_root() or Path.cwd()) / "runs"


def series_notebooks(notebooks_dir: Path) -> list[Path]:
    """The numbered notebooks, in the order of the story (05 and 06 join when they exist)."""
    return sorted(notebooks_dir.glob(NOTEBOOK_PATTERN))


def parse_value(text: str) -> Any:
    """A command-line value, typed as YAML would type it: ``50`` -> 50, ``null`` -> None.

    >>> parse_value("50"), parse_value("null"), parse_value("2026-01-05T08:00:00Z")
    (50, None, '2026-01-05T08:00:00Z')
    """
    value = yaml.safe_load(text)
    # A timestamp stays text: the notebooks take times as ISO strings.
    return text if isinstance(value, datetime) else value


def load_parameters_file(path: str | Path) -> dict[str, Any]:
    """A YAML mapping of parameter names to values."""
    loaded = read_yaml_mapping(path, WorkshopParameterError, "parameters")
    return {str(name): (value.isoformat() if isinstance(value, datetime) else value) for name, value in loaded.items()}


def ensure_kernel() -> str:
    """The ``smart-factory`` kernel (this interpreter), installed into this environment if missing."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
        if Path(spec.argv[0]).resolve() == Path(sys.executable).resolve():
            return KERNEL_NAME
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(kernel_name=KERNEL_NAME, display_name=KERNEL_DISPLAY_NAME, prefix=sys.prefix)
    return KERNEL_NAME


class QuietKernelManager(AsyncKernelManager):
    """A kernel whose own stderr (start-up notices, not cell output) goes nowhere, as nbval does it.

    What cells print still reaches the notebook: ipykernel captures it.
    """

    async def start_kernel(self, **kwargs: Any) -> None:  # type: ignore[override]
        kwargs.setdefault("stderr", subprocess.DEVNULL)
        await super().start_kernel(**kwargs)


def _new_run_dir(runs_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = runs_dir / stamp
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = runs_dir / f"{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def run_series(
    overrides: Mapping[str, Any] | None = None,
    notebooks_dir: Path | None = None,
    runs_dir: Path | None = None,
    on_notebook: Callable[[NotebookRun], None] = lambda run: None,
    shared_kernel: bool = True,
) -> SeriesRun:
    """Run every numbered notebook in order into ``runs/<UTC time>/``; raise :class:`NotebookFailed`."""
    import papermill

    overrides = dict(overrides or {})
    WorkshopParameters.from_overrides(overrides)  # unknown names and wrong types fail before any kernel starts
    notebooks = series_notebooks(notebooks_dir or default_notebooks_dir())
    if not notebooks:
        raise WorkshopError(f"no notebooks matching {NOTEBOOK_PATTERN} in {notebooks_dir or default_notebooks_dir()}")
    declared = {path: _declared_parameters(path) for path in notebooks}
    undeclared = set(overrides) - set().union(*declared.values())
    if undeclared:
        raise WorkshopParameterError(f"no notebook takes the parameter {', '.join(sorted(undeclared))}")
    kernel = ensure_kernel()
    run = SeriesRun(_new_run_dir(runs_dir or default_runs_dir()))
    (run.run_dir / "parameters.yml").write_text(yaml.safe_dump(overrides, sort_keys=True) if overrides else "{}\n")
    # Given a manager, nbclient starts its kernel for the first notebook and leaves it running.
    shared = QuietKernelManager(kernel_name=kernel) if shared_kernel else None
    try:
        for path in notebooks:
            parameters = {name: value for name, value in overrides.items() if name in declared[path]}
            if "solutions" in declared[path]:  # a batch run runs the worked solutions, unless told otherwise
                parameters.setdefault("solutions", True)
            output = run.run_dir / path.name
            started = time.perf_counter()
            try:
                papermill.execute_notebook(
                    str(path), str(output), parameters=parameters, kernel_name=kernel, cwd=str(path.parent),
                    progress_bar=False, log_output=False, kernel_manager_class=QuietKernelManager, km=shared,
                )  # fmt: skip
            except papermill.PapermillExecutionError as error:
                raise NotebookFailed(
                    f"{path.name} failed in cell {error.exec_count} ({error.ename}: {error.evalue.strip()}). "
                    f"The executed notebook, with the error, is {output}"
                ) from None
            notebook_run = NotebookRun(path.name, time.perf_counter() - started, parameters)
            run.notebooks.append(notebook_run)
            on_notebook(notebook_run)
    finally:
        if shared is not None and shared.has_kernel:
            run_sync(shared.shutdown_kernel)(now=True)
    run.summary = summary_from(run.run_dir, notebooks, overrides)
    (run.run_dir / "summary.txt").write_text(run.summary + "\n", encoding="utf-8")
    return run


def _declared_parameters(path: Path) -> set[str]:
    import papermill

    try:
        return set(papermill.inspect_notebook(str(path)))
    except ValueError as error:  # e.g. no kernelspec in the notebook's metadata
        raise WorkshopError(f"cannot read the parameters of {path.name}: {error}") from None


def summary_from(run_dir: Path, notebooks: list[Path], overrides: Mapping[str, Any]) -> str:
    """The recap notebook's summary output; computed here with Spark when the series has no recap."""
    import nbformat

    for path in reversed(notebooks):
        executed = nbformat.read(run_dir / path.name, as_version=4)
        for cell in executed.cells:
            if SUMMARY_TAG in cell.metadata.get("tags", []):
                for output in cell.get("outputs", []):
                    text = output.get("data", {}).get("text/plain")
                    if text:
                        return text
    from smart_factory.workshop.session import setup
    from smart_factory.workshop.summary import collect_summary

    parameters = WorkshopParameters.from_overrides(overrides)
    with open(os.devnull, "w") as quiet:
        saved, sys.stdout = sys.stdout, quiet
        try:
            factory = setup(parameters)
        finally:
            sys.stdout = saved
    return collect_summary(factory).to_text()
