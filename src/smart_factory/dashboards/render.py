"""Turn a dashboard's panels into figures, each with its own empty state.

A missing table, an empty one, or a query that fails affects its panel only: the panel
shows why, the rest of the dashboard still renders.
"""

from __future__ import annotations

import logging
import threading
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


class RenderCache:
    """Rendered panels kept until a table they read changes: one render per commit, however many
    page views and refreshes ask. Clock-driven (``live``) panels are rendered every time.
    """

    def __init__(self, reader: LakehouseReader) -> None:
        self.reader = reader
        self._rendered: dict[str, tuple[tuple[str | None, ...], RenderedPanel]] = {}
        self._lock = threading.Lock()

    def render(self, panel: Panel, fingerprint: dict[str, str | None]) -> RenderedPanel:
        """``panel`` as of ``fingerprint`` (from :meth:`LakehouseReader.fingerprint`, covering its tables)."""
        if panel.live:
            return render_panel(panel, self.reader)
        tables_state = tuple(fingerprint[table] for table in panel.tables)
        with self._lock:
            cached = self._rendered.get(panel.key)
        if cached is not None and cached[0] == tables_state:
            return cached[1]
        rendered = render_panel(panel, self.reader)
        with self._lock:
            self._rendered[panel.key] = (tables_state, rendered)
        return rendered


@lru_cache(maxsize=8)
def shared_reader(storage_root: str | None = None, schema: str = SCHEMA) -> LakehouseReader:
    """One reader (and so one cache of table snapshots) per storage root and schema in this process."""
    return LakehouseReader(StoragePaths.from_env(storage_root), schema)
