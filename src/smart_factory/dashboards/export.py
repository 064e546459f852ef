"""A dashboard as one self-contained HTML file, to mail around: Plotly's JavaScript inlined,
so it opens offline, and the figures stay interactive (hover, zoom, legend, buttons)."""

from __future__ import annotations

import html
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import plotly.io as pio
from plotly.offline import get_plotlyjs

from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.dashboards.render import RenderedPanel, css_classes, render_dashboard
from smart_factory.dashboards.spec import Dashboard
from smart_factory.errors import DashboardError

FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
ASSETS_FOLDER = Path(str(resources.files("smart_factory.dashboards"))) / "assets"  # the served page's too


def stylesheet() -> str:
    """The CSS the served page and the exported file share."""
    return (ASSETS_FOLDER / "dashboard.css").read_text(encoding="utf-8")


def export_html(dashboards: list[Dashboard], reader: LakehouseReader, output: Path) -> Path:
    """Write ``dashboards`` (one after another) to ``output``; returns the file written."""
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = "\n".join(_section(dashboard, render_dashboard(dashboard, reader)) for dashboard in dashboards)
    title = " · ".join(dashboard.title for dashboard in dashboards)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{stylesheet()}</style>
<script>{get_plotlyjs()}</script>
</head><body>
{sections}
<p class="dashboard generated">Exported {generated} from {html.escape(str(reader.storage.root))}.</p>
</body></html>
"""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(page, encoding="utf-8")
    except OSError as error:
        raise DashboardError(f"Cannot write the dashboard export to {output}: {error.strerror}.") from error
    return output


def _section(dashboard: Dashboard, rendered: list[RenderedPanel]) -> str:
    panels = "\n".join(_panel(item) for item in rendered)
    return f"""<section class="dashboard" id="{dashboard.name}">
<h1>{html.escape(dashboard.title)}</h1><p class="description">{html.escape(dashboard.description)}</p>
<div class="panels">
{panels}
</div></section>"""


def _panel(item: RenderedPanel) -> str:
    figure = pio.to_html(item.figure, full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG)
    return f"""<div class="{css_classes(item)}" id="panel-{item.panel.key}">
<h2>{html.escape(item.panel.title)}</h2><p class="description">{html.escape(item.panel.description)}</p>
{figure}
</div>"""
