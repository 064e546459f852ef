"""Notebook cells as the pipeline's source: what a learner edits is what the next update runs.

Databricks takes notebooks as pipeline source code; the workshop does the same with cells
that start with ``%%pipeline <name>``. Each such cell is saved as ``<name>.py`` under the
storage root (``workshop/pipeline/``), with the magic's line kept as a comment so a
line number in an error is the line in the cell. The workshop's pipeline then runs every
saved cell, as Databricks runs every cell of a source notebook::

    %%pipeline bronze
    import dlt

    @dlt.table
    def bronze_readings():
        return spark.readStream.format("cloudFiles").option("cloudFiles.format", "json").load(path)

A cell is checked as soon as it runs (it is loaded on its own: syntax, decorator arguments,
a failing import), so a mistake is reported under the cell that has it, not at the update.

The committed notebooks are the reference copy of these cells: a notebook opened on its
own first replays the ``%%pipeline`` cells of the parts before it (their worked solutions
included) with :func:`seed_from_notebooks`, so a part recreated quietly runs the code its
own notebook shows.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from pyspark.sql import SparkSession

from smart_factory.errors import PipelineDefinitionError
from smart_factory.runtime.loader import load_pipeline_files
from smart_factory.runtime.settings import PipelineSettings

CELL_MAGIC = "%%pipeline"
_CELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def cell_name(magic: str, line: str, example: str) -> tuple[str, bool]:
    """A cell magic's one name, and whether ``--solution`` marks the cell as a worked solution."""
    words = shlex.split(line)
    names = [word for word in words if word != "--solution"]
    if len(names) != 1 or not _CELL_NAME.match(names[0]):
        raise PipelineDefinitionError(
            f"{magic} needs one name for the cell, e.g. `{magic} {example}` (optionally followed by "
            f"--solution); got `{magic} {line.strip()}`"
        )
    return names[0], "--solution" in words


@dataclass(frozen=True)
class PipelineCell:
    """One ``%%pipeline`` cell: its name, its code, and whether it is an exercise's worked solution."""

    name: str
    code: str
    solution: bool = False

    @classmethod
    def parse(cls, line: str, code: str) -> PipelineCell:
        """From the magic's argument line (``silver_readings`` or ``silver_readings --solution``)."""
        name, solution = cell_name(CELL_MAGIC, line, example="silver_readings")
        return cls(name, code, solution)

    @property
    def file_text(self) -> str:
        # The magic's line stays, as a comment, so line N of the file is line N of the cell.
        flag = " --solution" if self.solution else ""
        return f"# {CELL_MAGIC} {self.name}{flag}\n{self.code}"


@dataclass(frozen=True)
class CellStore:
    """The saved ``%%pipeline`` cells of one storage root."""

    folder: Path

    def files(self) -> list[Path]:
        return sorted(self.folder.glob("*.py"))

    def is_empty(self) -> bool:
        return not self.files()

    def save(self, cell: PipelineCell) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{cell.name}.py"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(cell.file_text, encoding="utf-8")
        temporary.replace(path)
        return path

    def check(self, cell: PipelineCell, spark: SparkSession) -> list[str]:
        """Load ``cell`` on its own and say what it defines; raises with the cell's line on a mistake."""
        scratch = self.folder.parent / "pipeline-check" / f"{cell.name}.py"
        scratch.parent.mkdir(parents=True, exist_ok=True)
        scratch.write_text(cell.file_text, encoding="utf-8")
        try:
            registry = load_pipeline_files([scratch], spark)
        except PipelineDefinitionError as error:
            raise PipelineDefinitionError(_in_cell(str(error), cell.name)) from None
        finally:
            scratch.unlink(missing_ok=True)
        described = []
        for dataset in registry.datasets:
            rules = dataset.expectations
            kind = "a temporary table" if dataset.temporary else f"a {dataset.kind.replace('_', ' ')}"
            described.append(f"{dataset.name}: {kind}" + (f", {len(rules)} expectation(s): "
                             + ", ".join(f"{e.name} ({e.action})" for e in rules) if rules else ""))  # fmt: skip
        return described

    def clear(self) -> None:
        for path in self.files():
            path.unlink()


def _in_cell(message: str, name: str) -> str:
    # The loader names the file (`silver_readings.py:7: ...`); the learner knows it as a cell.
    return re.sub(rf"\b{re.escape(name)}\.py:(\d+|\?)", rf"cell `{CELL_MAGIC} {name}`, line \1", message)


def pipeline_cells_of(notebook: Path, *, with_solutions: bool = True) -> list[PipelineCell]:
    """The ``%%pipeline`` cells of a notebook file, in order (worked solutions only if asked)."""
    cells = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        first, _, body = cell.source.partition("\n")
        if cell.cell_type != "code" or not first.startswith(CELL_MAGIC + " "):
            continue
        parsed = PipelineCell.parse(first[len(CELL_MAGIC):], body)
        if with_solutions or not parsed.solution:
            cells.append(parsed)
    return cells


def seed_from_notebooks(store: CellStore, notebooks: Iterable[Path]) -> None:
    """Save the cells of ``notebooks`` in order, later ones replacing earlier ones of the same name."""
    for notebook in notebooks:
        for cell in pipeline_cells_of(notebook):
            store.save(cell)


def settings_with_cells(settings: PipelineSettings, store: CellStore) -> PipelineSettings:
    """The pipeline's settings with the saved cells as its libraries (the shipped file's while there are none)."""
    files = store.files()
    return replace(settings, libraries=tuple(files)) if files else settings
