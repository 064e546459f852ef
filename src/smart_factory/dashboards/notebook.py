"""The dashboards inline in a notebook: interactive Plotly figures, one per panel.

    from smart_factory.dashboards import show_dashboard
    show_dashboard("operations")          # or "pipeline-health"
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from smart_factory.dashboards.render import render_dashboard, shared_reader
from smart_factory.dashboards.spec import get_dashboard
from smart_factory.lakehouse.paths import SCHEMA


def dashboard_figures(name: str, storage_root: str | None = None, schema: str = SCHEMA) -> dict[str, go.Figure]:
    """The dashboard's figures by panel key, each titled, ready to ``.show()`` or save.

    >>> figures = dashboard_figures("pipeline-health")   # doctest: +SKIP
    >>> figures["expectations"].show()                    # doctest: +SKIP
    """
    rendered = render_dashboard(get_dashboard(name), shared_reader(storage_root, schema))
    figures = {}
    for item in rendered:
        figure = go.Figure(item.figure)  # a copy: the title belongs to the notebook view only
        figure.update_layout(
            title={"text": f"{item.panel.title}<br><sup>{html.escape(item.panel.description)}</sup>", "x": 0},
            margin={"t": 80},
        )
        figures[item.panel.key] = figure
    return figures


def show_dashboard(name: str = "operations", storage_root: str | None = None, schema: str = SCHEMA) -> None:
    """Display the dashboard ``name`` in the notebook: its title, then each panel's figure."""
    from IPython.display import HTML, display

    dashboard = get_dashboard(name)
    display(HTML(f"<h2>{html.escape(dashboard.title)}</h2><p>{html.escape(dashboard.description)}</p>"))
    for figure in dashboard_figures(name, storage_root, schema).values():
        display(figure)
