"""The lakehouse reader and the render cache: work done once per commit, never fooled by a table written anew."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dashboard_support import reader_on, utc, write_table

from smart_factory.dashboards.render import RenderCache
from smart_factory.dashboards.spec import OPERATIONS
from smart_factory.errors import PanelDataUnavailable


def test_a_table_is_read_once_per_commit(tmp_path: Path) -> None:
    reader = reader_on(tmp_path)
    assert reader.fingerprint(("gold_device_hourly",)) == {"gold_device_hourly": None}
    write_table(tmp_path, "gold_device_hourly", [{"device_id": "DEV-1", "readings": 3}])
    first = reader.fingerprint(("gold_device_hourly",))
    snapshot = reader.table("gold_device_hourly")
    assert reader.table("gold_device_hourly") is snapshot  # no new commit: the cached Arrow table

    write_table(tmp_path, "gold_device_hourly", [{"device_id": "DEV-2", "readings": 4}])
    assert reader.fingerprint(("gold_device_hourly",)) != first
    assert reader.query("SELECT sum(readings) AS n FROM gold_device_hourly", "gold_device_hourly").n[0] == 7


def test_a_table_deleted_and_written_anew_is_read_again_at_the_same_version(tmp_path: Path) -> None:
    # A full refresh removes the table's folder; the new table starts again at version 0.
    reader = reader_on(tmp_path)
    write_table(tmp_path, "gold_device_hourly", [{"device_id": "DEV-1", "readings": 3}])
    assert reader.table("gold_device_hourly").num_rows == 1
    shutil.rmtree(reader.folder("gold_device_hourly"))
    write_table(tmp_path, "gold_device_hourly", [{"device_id": "DEV-1", "readings": 3}] * 2)
    assert reader.table("gold_device_hourly").num_rows == 2


def test_a_missing_table_says_how_it_comes_to_exist(tmp_path: Path) -> None:
    reader = reader_on(tmp_path)
    with pytest.raises(PanelDataUnavailable, match=r"smart_factory\.event_log does not exist yet: run the pipeline"):
        reader.query("SELECT * FROM event_log", "event_log")
    with pytest.raises(PanelDataUnavailable, match="once the alerts have been evaluated"):
        reader.table("alert_history")


def test_a_panel_is_rendered_once_per_commit_of_its_tables_and_live_ones_every_time(tmp_path: Path) -> None:
    write_table(tmp_path, "gold_device_hourly", [
        {"device_id": "DEV-1", "hour_start": utc("2026-01-05 08:00"), "avg_temperature_celsius": 30.0,
         "max_temperature_celsius": 44.0, "avg_vibration_hz": 50.0, "readings": 3}
    ])  # fmt: skip
    cache = RenderCache(reader_on(tmp_path))
    heatmap, freshness = OPERATIONS.panel("heatmap"), OPERATIONS.panel("freshness")
    before = cache.reader.fingerprint(OPERATIONS.tables)
    assert cache.render(heatmap, before) is cache.render(heatmap, before)
    assert cache.render(freshness, before) is not cache.render(freshness, before)

    write_table(tmp_path, "gold_device_hourly", [
        {"device_id": "DEV-2", "hour_start": utc("2026-01-05 08:00"), "avg_temperature_celsius": 30.0,
         "max_temperature_celsius": 47.0, "avg_vibration_hz": 50.0, "readings": 3}
    ])  # fmt: skip
    redrawn = cache.render(heatmap, cache.reader.fingerprint(OPERATIONS.tables)).figure.data[0]
    assert list(redrawn.y) == ["DEV-1", "DEV-2"]  # DEV-2 is hotter: drawn on top
