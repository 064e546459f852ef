"""Turn a dashboard's panels into figures, each with its own empty state.

A missing table, an empty one, or a query that fails affects its panel only: the panel
shows why, the rest of the dashboard still renders.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

import plotly.graph_objects as go

from smart_factory.dashboards.figures.common import empty_figure
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.dashboards.spec import Dashboard, Panel
from smart_factory.errors import PanelDataUnavailable
from smart_factory.lakehouse.paths import SCHEMA, StoragePaths

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedPanel:
    panel: Panel
    figure: go.Figure
    empty_reason: str | None = None  # why the panel has nothing to show; None when it has data


def css_classes(item: RenderedPanel) -> str:
    """The panel card's classes, shared by the served page and the export (see assets/dashboard.css)."""
    return " ".join(["panel"] + (["wide"] if item.panel.wide else []) + (["empty"] if item.empty_reason else []))


def render_panel(panel: Panel, reader: LakehouseReader) -> RenderedPanel:
    try:
        frame = panel.load(reader)
        if frame.empty:
            return RenderedPanel(panel, empty_figure(panel.empty_message), panel.empty_message)
        return RenderedPanel(panel, panel.draw(frame))
    except PanelDataUnavailable as missing:
        return RenderedPanel(panel, empty_figure(str(missing)), str(missing))
    except Exception as error:  # one broken panel must not take the dashboard down
        log.warning("Dashboard panel %r failed", panel.key, exc_info=True)
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        reason = f"This panel could not be drawn: {type(error).__name__}: {first_line}"
        return RenderedPanel(panel, empty_figure(reason), reason)


def render_dashboard(dashboard: Dashboard, reader: LakehouseReader) -> list[RenderedPanel]:
    return [render_panel(panel, reader) for panel in dashboard.panels]


@lru_cache(maxsize=8)
def shared_reader(storage_root: str | None = None, schema: str = SCHEMA) -> LakehouseReader:
    """One reader (and so one cache of table snapshots) per storage root and schema in this process."""
    return LakehouseReader(StoragePaths.from_env(storage_root), schema)
