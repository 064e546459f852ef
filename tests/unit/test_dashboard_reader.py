"""The lakehouse reader: cached per table state, and never fooled by a table written anew."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dashboard_support import reader_on, write_table

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
