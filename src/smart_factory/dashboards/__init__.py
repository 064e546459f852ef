"""Dashboards: "Smart Factory Operations" and "Pipeline Health", inline, served, or exported.

    from smart_factory.dashboards import show_dashboard, dashboard_figures
    show_dashboard("operations")                 # in a notebook: interactive Plotly figures
    show_dashboard("pipeline-health")
    dashboard_figures("operations")["heatmap"]   # one panel's figure

``smart-factory dashboard serve`` serves both as a self-refreshing page;
``smart-factory dashboard export --out dashboards.html`` writes a file that opens offline.
They read the Delta tables with delta-rs and DuckDB, not Spark (see docs/dashboards.md).
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use, so the CLI's `dashboard` sub-command costs nothing until it runs.
_PUBLIC = {
    "DASHBOARDS": "spec",
    "Dashboard": "spec",
    "Panel": "spec",
    "get_dashboard": "spec",
    "LakehouseReader": "reader",
    "dashboard_figures": "notebook",
    "show_dashboard": "notebook",
}

__all__ = [
    "DASHBOARDS",
    "Dashboard",
    "LakehouseReader",
    "Panel",
    "dashboard_figures",
    "get_dashboard",
    "show_dashboard",
]


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
