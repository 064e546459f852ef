"""The dashboards as a web page that refreshes itself: a Dash app over the lakehouse reader.

Every few seconds the page asks for news; the server looks up the Delta version of each
table the dashboard reads (milliseconds) and redraws only the panels whose tables got a new
commit, plus the clock-driven ones (data freshness, a running update's duration). A panel is
rendered once per commit of its tables and shared by every page view. The browser keeps
zoom and legend choices across redraws (``uirevision``).

    smart-factory dashboard serve            # http://127.0.0.1:8050/operations
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import DependencyException
from flask import Response, request
from werkzeug.serving import make_server

from smart_factory.dashboards.export import ASSETS_FOLDER
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.dashboards.render import RenderCache, RenderedPanel, css_classes
from smart_factory.dashboards.spec import DASHBOARDS, OPERATIONS, Dashboard
from smart_factory.errors import DashboardError


def create_app(cache: RenderCache, refresh_seconds: float) -> Dash:
    """The Dash app serving every dashboard in :data:`DASHBOARDS` at ``/<name>``, drawn through ``cache``."""
    reader = cache.reader
    app = Dash(
        __name__,
        title="Smart Factory dashboards",
        assets_folder=str(ASSETS_FOLDER),
        suppress_callback_exceptions=True,  # each page brings its own components
        update_title=None,
    )
    app.layout = html.Div(
        [
            dcc.Location(id="url"),
            dcc.Interval(id="refresh", interval=int(refresh_seconds * 1000)),
            html.Div(id="page"),
        ]
    )

    @app.callback(Output("page", "children"), Input("url", "pathname"))
    def show_page(pathname: str | None) -> Any:
        dashboard = _dashboard_at(pathname)
        if dashboard is None:
            missing = [html.H1("No such dashboard"), html.P(f"Nothing is served at {pathname}; pick one above.")]
            return [_top_bar(None, "no such dashboard"), html.Div(className="dashboard", children=missing)]
        began = time.perf_counter()
        fingerprint = reader.fingerprint(dashboard.tables)
        rendered = [cache.render(panel, fingerprint) for panel in dashboard.panels]
        return [
            _top_bar(dashboard, _status(began, refresh_seconds)),
            dcc.Store(id="fingerprint", data=fingerprint),
            html.Div(className="dashboard", id=f"dashboard-{dashboard.name}", children=[
                html.H1(dashboard.title), html.P(dashboard.description, className="description"),
                html.Div(className="panels", children=[_panel(item) for item in rendered]),
            ]),
        ]  # fmt: skip

    @app.callback(
        Output({"type": "panel-figure", "key": ALL}, "figure"),
        Output({"type": "panel", "key": ALL}, "className"),
        Output("fingerprint", "data"),
        Output("status", "children"),
        Input("refresh", "n_intervals"),
        State("url", "pathname"),
        State("fingerprint", "data"),
        prevent_initial_call=True,
    )
    def refresh(_: int, pathname: str | None, shown: dict[str, str | None] | None) -> Any:
        dashboard = _dashboard_at(pathname)
        if dashboard is None:
            return no_update, no_update, no_update, no_update
        began = time.perf_counter()
        fingerprint = reader.fingerprint(dashboard.tables)
        changed = {table for table, state in fingerprint.items() if (shown or {}).get(table, "") != state}
        figures, classes = [], []
        for panel in dashboard.panels:
            if panel.live or changed.intersection(panel.tables):
                item = cache.render(panel, fingerprint)
                figures.append(item.figure)
                classes.append(css_classes(item))
            else:
                figures.append(no_update)
                classes.append(no_update)
        return figures, classes, fingerprint, _status(began, refresh_seconds)

    _answer_unknown_paths_with_404(app)
    return app


def _answer_unknown_paths_with_404(app: Dash) -> None:
    """Serve the dashboards' pages and Dash's own files; anything else is a plain 404.

    Dash serves its page for every path (``/<path:path>``), so probes such as ``/../../etc/passwd``
    got a page back, and a path under ``/_dash-component-suites/`` that names no file of a
    package raised ``DependencyException``: a 500 with a traceback in the log.
    """
    pages = {"/", *(dashboard.path for dashboard in DASHBOARDS.values())}

    @app.server.before_request
    def only_dashboard_pages() -> Response | None:
        catch_all = request.url_rule is not None and request.url_rule.rule == "/<path:path>"
        return _not_found() if catch_all and (request.path.rstrip("/") or "/") not in pages else None

    app.server.register_error_handler(DependencyException, lambda _: _not_found())


def _not_found() -> Response:
    # Plain text that does not repeat the path: nothing a probe sends comes back as markup.
    pages = " and ".join(dashboard.path for dashboard in DASHBOARDS.values())
    return Response(f"Not found. The dashboards are at {pages}.\n", status=404, mimetype="text/plain")


def serve(reader: LakehouseReader, host: str, port: int, refresh_seconds: float) -> None:
    """Serve the dashboards on ``host:port`` until interrupted (the CLI defaults to 127.0.0.1:8050)."""
    cache = RenderCache(reader)
    app = create_app(cache, refresh_seconds)
    try:
        server = make_server(host, port, app.server, threaded=True)
    except (OSError, SystemExit) as error:  # Werkzeug exits on a port in use, after saying so on stderr
        reason = getattr(error, "strerror", None) or "the address is in use or not available"
        raise DashboardError(
            f"Cannot serve the dashboards on {host}:{port}: {reason}. Choose another port with --port."
        ) from None
    print(f"Dashboards of {reader.storage.root} on http://{host}:{server.server_port}{OPERATIONS.path} "
          f"(refreshing every {refresh_seconds:g} s). Ctrl+C stops.", flush=True)  # fmt: skip
    # Draw every panel once in the background, so the first visitor does not wait for it.
    threading.Thread(target=_warm_up, args=(cache,), daemon=True, name="dashboard-warm-up").start()
    try:
        server.serve_forever()
    finally:
        server.server_close()


def _warm_up(cache: RenderCache) -> None:
    for dashboard in DASHBOARDS.values():
        fingerprint = cache.reader.fingerprint(dashboard.tables)
        for panel in dashboard.panels:
            cache.render(panel, fingerprint)


def _dashboard_at(pathname: str | None) -> Dashboard | None:
    name = (pathname or "/").strip("/")
    return OPERATIONS if name == "" else DASHBOARDS.get(name)


def _top_bar(current: Dashboard | None, status: str) -> html.Div:
    links = [
        dcc.Link(dashboard.title, href=dashboard.path, className="active" if dashboard is current else "")
        for dashboard in DASHBOARDS.values()
    ]
    return html.Div(className="topbar", children=[
        html.Span("Smart Factory", className="brand"), *links, html.Span(status, id="status", className="status"),
    ])  # fmt: skip


def _panel(item: RenderedPanel) -> html.Div:
    return html.Div(
        id={"type": "panel", "key": item.panel.key},
        className=css_classes(item),
        children=[
            html.H2(item.panel.title),
            html.P(item.panel.description, className="description"),
            dcc.Graph(id={"type": "panel-figure", "key": item.panel.key}, figure=item.figure,
                      config={"displaylogo": False}),  # dcc.Graph sizes itself: width responsive, height the figure's
        ],
    )


def _status(began: float, refresh_seconds: float) -> str:
    checked = datetime.now(UTC).strftime("%H:%M:%S")
    return (f"checked {checked} UTC in {time.perf_counter() - began:.2f} s · "
            f"refreshes every {refresh_seconds:g} s")  # fmt: skip
