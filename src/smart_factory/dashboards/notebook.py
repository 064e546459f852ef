"""The dashboards inline in a notebook: interactive Plotly figures, one per panel.

    from smart_factory.dashboards import show_dashboard
    show_dashboard("operations")          # or "pipeline-health"
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import plotly.graph_objects as go

from smart_factory.dashboards.render import render_dashboard, shared_reader
from smart_factory.dashboards.spec import get_dashboard
from smart_factory.lakehouse.paths import SCHEMA

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"
STATIC_WIDTH = 1000  # pixels of a chart's static picture
STATIC_TIMEOUT_SECONDS = 120


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
    """Display the dashboard ``name`` in the notebook: its title, then each panel's figure.

    Each figure carries a PNG of itself beside the interactive chart, drawn by Kaleido in a
    local Chromium or Chrome: Jupyter shows the chart, and GitHub, nbviewer or an HTML export
    of the notebook (which cannot run Plotly's script) show the picture. Without such a
    browser, one line says the charts show only inside Jupyter.
    """
    from IPython.display import HTML, display

    dashboard = get_dashboard(name)
    display(HTML(f"<h2>{html.escape(dashboard.title)}</h2><p>{html.escape(dashboard.description)}</p>"))
    figures = list(dashboard_figures(name, storage_root, schema).values())
    pictures = static_pictures(figures)
    if pictures is None:
        print("No Chromium or Chrome for static pictures: the charts below show only inside Jupyter.")
    for index, figure in enumerate(figures):
        bundle = {PLOTLY_MIMETYPE: json.loads(figure.to_json())}
        if pictures is not None:
            bundle["image/png"] = base64.b64encode(pictures[index]).decode()
        display(bundle, raw=True)


def static_pictures(figures: list[go.Figure], timeout: float = STATIC_TIMEOUT_SECONDS) -> list[bytes] | None:
    """Each figure as PNG, drawn by Kaleido in one local Chromium or Chrome; ``None`` without one.

    Kaleido runs in a thread of its own with a time limit: its browser must never hang a cell.
    """
    try:
        import kaleido
    except ImportError:
        return None
    for name in ("choreographer", "kaleido"):
        # Their browser protocol logs what it skips ("JSONError decoding message. Ignoring") with a
        # traceback on stderr; a picture that fails shows as none, below.
        logging.getLogger(name).setLevel(logging.CRITICAL)

    async def draw() -> list[bytes]:
        async with kaleido.Kaleido() as browser:
            return [await browser.calc_fig(figure, opts={"format": "png", "width": STATIC_WIDTH,
                                                          "height": figure.layout.height or 450})
                    for figure in figures]  # fmt: skip

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="static-pictures")
    try:
        return pool.submit(asyncio.run, draw()).result(timeout=timeout)
    except Exception:  # no browser, or one that does not answer in time: the charts still work
        return None
    finally:
        pool.shutdown(wait=False)  # a browser that hangs is left behind, not waited for

