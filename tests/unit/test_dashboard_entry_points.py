"""The notebook helpers, and the errors the commands give."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

import plotly.graph_objects as go
import pytest
from dashboard_support import utc, write_table

from smart_factory.cli import main
from smart_factory.dashboards import dashboard_figures, get_dashboard, show_dashboard
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.dashboards.server import serve
from smart_factory.dashboards.spec import OPERATIONS
from smart_factory.errors import DashboardError
from smart_factory.lakehouse.paths import StoragePaths


def test_dashboard_figures_are_titled_by_panel(tmp_path: Path) -> None:
    write_table(tmp_path, "gold_device_hourly", [
        {"device_id": "DEV-1", "hour_start": utc("2026-01-05 08:00"), "avg_temperature_celsius": 30.0,
         "max_temperature_celsius": 44.0, "avg_vibration_hz": 50.0, "readings": 3}
    ])  # fmt: skip
    figures = dashboard_figures("operations", storage_root=str(tmp_path))
    assert list(figures) == [panel.key for panel in OPERATIONS.panels]
    assert figures["heatmap"].layout.title.text.startswith("Max temperature per device and hour<br>")
    assert list(figures["heatmap"].data[0].z[0]) == [44.0]
    assert figures["hot_devices"].layout.meta["empty_state"].startswith("The table smart_factory.silver_readings")


def test_show_dashboard_displays_the_title_then_every_panel_with_a_static_picture(
    tmp_path: Path, monkeypatch, chromium: tuple[str, str]
) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda item, raw=False: shown.append(item))
    show_dashboard("pipeline-health", storage_root=str(tmp_path))
    assert "Pipeline Health" in shown[0].data
    assert len(shown) == 1 + len(get_dashboard("pipeline-health").panels)
    for bundle in shown[1:]:  # the interactive chart for Jupyter, a PNG for GitHub, nbviewer and exports
        assert go.Figure(bundle["application/vnd.plotly.v1+json"]).layout.title.text
        assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")


def test_without_a_browser_the_charts_are_shown_and_it_says_so(tmp_path: Path, monkeypatch, capsys) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda item, raw=False: shown.append(item))
    monkeypatch.setenv("PATH", str(tmp_path))  # Kaleido finds no Chromium or Chrome
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-browser"))
    show_dashboard("pipeline-health", storage_root=str(tmp_path))
    assert "show only inside Jupyter" in capsys.readouterr().out
    assert all("image/png" not in bundle and "application/vnd.plotly.v1+json" in bundle for bundle in shown[1:])


def test_an_unknown_dashboard_is_a_clear_error(tmp_path: Path, capsys) -> None:
    with pytest.raises(DashboardError, match="no dashboard 'factory'; choose one of: operations, pipeline-health"):
        get_dashboard("factory")
    assert main(["dashboard", "export", "--storage-root", str(tmp_path), "--dashboard", "factory",
                 "--out", str(tmp_path / "x.html")]) == 2  # fmt: skip
    assert "no dashboard 'factory'" in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(DashboardError, match=f"Cannot serve the dashboards on 127.0.0.1:{port}.*--port"):
            serve(LakehouseReader(StoragePaths(tmp_path)), "127.0.0.1", port, refresh_seconds=5)
