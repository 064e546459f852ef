"""Part 6: the two dashboards inline, and the numbers behind a panel as a table.

    workshop.show_dashboard(factory, "operations")       # interactive Plotly figures
    workshop.panel_numbers(factory, "operations", "hot_devices")

The charts are drawn from the Delta tables by delta-rs and DuckDB (see docs/dashboards.md),
the same way the served page and the HTML export draw them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from smart_factory.dashboards import notebook as dashboard_notebook
from smart_factory.dashboards.render import shared_reader
from smart_factory.dashboards.spec import get_dashboard
from smart_factory.workshop.display import Table, TextBlock
from smart_factory.workshop.session import Workshop, WorkshopError


def show_dashboard(factory: Workshop, name: str) -> None:
    """Display dashboard ``name`` ("operations" or "pipeline-health") from this storage root."""
    dashboard_notebook.show_dashboard(name, storage_root=str(factory.storage.root))


def panel_query(dashboard: str, panel: str) -> TextBlock:
    """The SQL a panel is drawn from (DuckDB's dialect, over the Delta tables), for reading and copying."""
    load = get_dashboard(dashboard).panel(panel).load
    sql = getattr(load, "sql", None)
    if sql is None:
        raise WorkshopError(f"panel {panel!r} of {dashboard!r} is computed in Python, not by one SQL query")
    return TextBlock(sql.strip(), "sql")


def panel_numbers(
    factory: Workshop, dashboard: str, panel: str, columns: Sequence[str] | None = None, limit: int = 10
) -> Table:
    """The first ``limit`` rows a panel is drawn from, in the panel's own order."""
    spec = get_dashboard(dashboard).panel(panel)
    frame = spec.load(shared_reader(str(factory.storage.root)))
    if columns:
        frame = frame[list(columns)]
    rows = [[_plain(value) for value in row] for row in frame.head(limit).itertuples(index=False)]
    return Table(list(frame.columns), rows, caption=f"{spec.title}: {len(frame)} row(s)")


def _plain(value: object) -> object:
    # pandas hands out its own scalars; the table formats Python ones.
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return value.tolist()
    return value
