"""The workshop's cell magics: ``%%pipeline`` (a pipeline source cell), ``%%sql``, ``%%alert``, ``%%solution``.

``workshop.setup(globals())`` registers them in the notebook's IPython, bound to the workshop:

    %%sql
    SELECT plant, count(*) AS readings FROM smart_factory.silver_readings GROUP BY plant ORDER BY plant

``%%sql name`` also keeps the result as the DataFrame ``name``. ``%%alert <name>`` defines an
alert from YAML in the shape of the files in ``alerts/``. ``%%solution`` (and
``%%pipeline <name> --solution``) mark an exercise's worked solution: it runs only when the
``solutions`` parameter is on (batch runs), and otherwise says how to use it.
"""

from __future__ import annotations

import re
import shlex
from typing import TYPE_CHECKING, Any

from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse.volumes import resolve_path
from smart_factory.workshop.alerting import save_alert_cell
from smart_factory.workshop.display import Table, TextBlock
from smart_factory.workshop.pipeline_cells import PipelineCell, cell_name

if TYPE_CHECKING:
    from smart_factory.workshop.session import Workshop

SQL_ROWS_SHOWN = 20
SQL_TEXT_SHOWN = 100  # characters of a long text value (an error, a JSON document) shown in a cell
SOLUTION_NOT_RUN = (
    "Worked solution: not run, since the `solutions` parameter is off. Expand the cell to read it; "
    "to use it, copy it into your exercise cell above (or run the notebook with solutions=True)."
)


def register_magics(factory: Workshop) -> None:
    """Register the cell magics in the running IPython, if there is one (papermill and Jupyter both have it)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return
    shell = get_ipython()
    if shell is None:
        return
    magics = WorkshopMagics(factory, shell.user_ns)
    shell.register_magic_function(magics.pipeline, magic_kind="cell", magic_name="pipeline")
    shell.register_magic_function(magics.sql, magic_kind="cell", magic_name="sql")
    shell.register_magic_function(magics.solution, magic_kind="cell", magic_name="solution")
    shell.register_magic_function(magics.alert, magic_kind="cell", magic_name="alert")


class WorkshopMagics:
    def __init__(self, factory: Workshop, namespace: dict[str, Any]) -> None:
        self.factory = factory
        self.namespace = namespace

    def pipeline(self, line: str, cell: str) -> TextBlock:
        """Save the cell as a pipeline source file and check it on its own."""
        parsed = PipelineCell.parse(line, cell)
        if parsed.solution and not self.factory.parameters.solutions:
            return TextBlock(SOLUTION_NOT_RUN)
        defined = self.factory.pipeline_cells.check(parsed, self.factory.spark)
        self.factory.pipeline_cells.save(parsed)
        if not defined:
            return TextBlock(f"Saved cell {parsed.name}: it defines no dataset.")
        lead = "Worked solution saved" if parsed.solution else "Saved"
        return TextBlock(f"{lead}; the next update runs it.\n" + "\n".join(f"  {line}" for line in defined))

    def sql(self, line: str, cell: str) -> Table | None:
        """Run the cell as Spark SQL and show the first rows; ``%%sql name`` keeps the DataFrame as ``name``."""
        words = shlex.split(line)
        if len(words) > 1 or (words and not words[0].isidentifier()):
            raise SmartFactoryError(f"%%sql takes at most one name to keep the result under, got `{line}`")
        frame = self.factory.spark.sql(_with_volume_paths(cell))
        if words:
            self.namespace[words[0]] = frame
        if not frame.columns:
            return None
        rows = frame.limit(SQL_ROWS_SHOWN + 1).collect()
        shown = [[_shortened(value) for value in row] for row in rows[:SQL_ROWS_SHOWN]]
        caption = f"first {SQL_ROWS_SHOWN} rows" if len(rows) > SQL_ROWS_SHOWN else None
        return Table(frame.columns, shown, caption)

    def alert(self, line: str, cell: str) -> TextBlock:
        """Define an alert from the cell's YAML (the shape of the files in ``alerts/``), plan its query, save it."""
        name, solution = cell_name("%%alert", line, example="overheating")
        if solution and not self.factory.parameters.solutions:
            return TextBlock(SOLUTION_NOT_RUN)
        alert = save_alert_cell(self.factory, name, cell)
        condition = alert.condition
        return TextBlock(
            f"Saved alert '{alert.name}': its query plans against the tables; it triggers when "
            f"{condition.value_label} {condition.operator} {condition.threshold}."
        )

    def solution(self, line: str, cell: str) -> TextBlock | None:
        """Run the cell's Python only when worked solutions are on."""
        if not self.factory.parameters.solutions:
            return TextBlock(SOLUTION_NOT_RUN)
        shell = _shell()
        result = shell.run_cell(cell, store_history=False)
        result.raise_error()
        return None


_QUOTED_VOLUME_PATH = re.compile(r"`(/Volumes/[^`]+)`")


def _with_volume_paths(sql: str) -> str:
    # Spark SQL reads files by path (json.`/Volumes/...`) without PySpark's readers, which is where
    # volume paths are mapped to the storage root: map the quoted ones here.
    return _QUOTED_VOLUME_PATH.sub(lambda match: f"`{resolve_path(match.group(1))}`", sql)


def _shortened(value: Any) -> Any:
    if isinstance(value, str) and len(value) > SQL_TEXT_SHOWN:
        return value[: SQL_TEXT_SHOWN - 1] + "…"
    return value


def _shell() -> Any:
    from IPython import get_ipython

    return get_ipython()
