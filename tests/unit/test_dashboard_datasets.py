"""Panel datasets on small known Delta tables: the right numbers, and clear empty states."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from dashboard_support import reader_on, utc, write_table

from smart_factory.dashboards.datasets import SqlDataset, alerts, operations, pipeline_health
from smart_factory.dashboards.render import render_dashboard, render_panel
from smart_factory.dashboards.spec import DASHBOARDS, OPERATIONS, Panel
from smart_factory.errors import PanelDataUnavailable


def _reading(device: str, at: str, temperature: float, **extra: object) -> dict:
    return {"device_id": device, "event_time": utc(at), "temperature_celsius": temperature, "vibration_hz": 50.0,
            "plant": "Plant A", "floor": 1, "line": "Line 1", "is_overheating": temperature > 40,
            "ingested_at": utc("2026-01-05 10:00:00"), **extra}  # fmt: skip


def test_temperature_by_location_rolls_lines_up_to_floors_and_plants_weighted_by_devices(tmp_path: Path) -> None:
    lines = [("Line 1", 1, 20.0, 25.0, 1), ("Line 2", 1, 30.0, 41.0, 3), ("Line 3", 2, 40.0, 45.0, 4)]
    write_table(tmp_path, "gold_plant_line_hourly", [
        {"plant": "Plant A", "floor": floor, "line": line, "hour_start": utc("2026-01-05 08:00"),
         "avg_temperature_celsius": average, "max_temperature_celsius": peak, "devices": devices,
         "overheating_devices": 1, "readings": 10}
        for line, floor, average, peak, devices in lines
    ])  # fmt: skip

    frame = operations.temperature_by_location(reader_on(tmp_path))

    plant = frame[frame["level"] == "plant"].iloc[0]
    assert plant["avg_temperature_celsius"] == pytest.approx((20 * 1 + 30 * 3 + 40 * 4) / 8)
    assert plant["max_temperature_celsius"] == 45.0
    assert plant["devices"] == 8
    floors = frame[frame["level"] == "floor"].set_index("floor")
    assert floors.loc[1, "avg_temperature_celsius"] == pytest.approx(27.5)
    assert floors.loc[2, "max_temperature_celsius"] == 45.0
    assert frame[frame["level"] == "line"]["line"].tolist() == ["Line 1", "Line 2", "Line 3"]


def test_hot_devices_are_those_whose_latest_reading_is_hot_hottest_first(tmp_path: Path) -> None:
    write_table(tmp_path, "silver_readings", [
        _reading("DEV-1", "2026-01-05 08:00", 45.0), _reading("DEV-1", "2026-01-05 08:30", 46.5),
        _reading("DEV-2", "2026-01-05 08:10", 48.0), _reading("DEV-2", "2026-01-05 08:50", 30.0),  # cooled down
        _reading("DEV-3", "2026-01-05 08:55", 49.2, line=None),
        _reading("DEV-4", "2026-01-05 06:00", 41.0),  # hot, but not in the last hour of data
    ])  # fmt: skip

    hot = operations.hot_devices(reader_on(tmp_path))

    assert hot["device_id"].tolist() == ["DEV-3", "DEV-1", "DEV-4"]
    assert hot["temperature_celsius"].tolist() == [49.2, 46.5, 41.0]
    assert hot["last_reading_at"].tolist() == [pd.Timestamp("2026-01-05 08:55"), pd.Timestamp("2026-01-05 08:30"),
                                               pd.Timestamp("2026-01-05 06:00")]  # fmt: skip
    assert hot["hot_readings_last_hour"].tolist() == [1, 2, 0]


def test_device_hour_heatmap_keeps_the_hottest_devices_with_all_their_hours(tmp_path: Path) -> None:
    write_table(tmp_path, "gold_device_hourly", [
        {"device_id": device, "hour_start": utc(f"2026-01-05 {hour:02d}:00"), "max_temperature_celsius": value}
        for device, hour, value in [("DEV-1", 7, 30.0), ("DEV-1", 8, 44.0), ("DEV-2", 8, 35.0)]
    ])  # fmt: skip

    frame = operations.device_hour_max(reader_on(tmp_path))

    assert frame["device_id"].tolist() == ["DEV-1", "DEV-1", "DEV-2"]
    assert frame["peak_temperature_celsius"].tolist() == [44.0, 44.0, 35.0]


def test_alert_panels_read_the_alert_history_by_column_name(tmp_path: Path) -> None:
    # Other spellings than the preferred ones, and notifications as a list of destinations.
    write_table(tmp_path, "alert_history", [
        {"name": "hot_machines", "evaluation_time": utc("2026-01-05 08:00"), "status": "OK", "value": 0.0,
         "notifications": []},
        {"name": "hot_machines", "evaluation_time": utc("2026-01-05 09:00"), "status": "TRIGGERED", "value": 7.0,
         "notifications": ["email:ops@example.com", "webhook"]},
        {"name": "stale_data", "evaluation_time": utc("2026-01-05 09:00"), "status": "OK", "value": 3.0,
         "notifications": []},
    ])  # fmt: skip
    reader = reader_on(tmp_path)

    states = alerts.alert_states(reader)
    assert states[["alert", "state", "value", "evaluations"]].values.tolist() == [
        ["hot_machines", "TRIGGERED", 7.0, 2], ["stale_data", "OK", 3.0, 1]
    ]
    sent = alerts.recent_notifications(reader)
    assert sent[["alert", "sent"]].values.tolist() == [["hot_machines", "email:ops@example.com, webhook"]]


def test_alert_history_without_a_state_column_is_an_empty_state_naming_what_is_missing(tmp_path: Path) -> None:
    write_table(tmp_path, "alert_history", [{"alert_name": "hot", "evaluated_at": utc("2026-01-05 08:00")}])
    with pytest.raises(PanelDataUnavailable, match="state.*looked for state, status"):
        alerts.alert_states(reader_on(tmp_path))


def test_alert_panels_with_the_preferred_column_names_and_notification_counts(tmp_path: Path) -> None:
    write_table(tmp_path, "alert_history", [
        {"alert_name": name, "evaluated_at": utc(f"2026-01-05 0{hour}:00"), "state": state, "value": 1.0,
         "notifications_sent": count}
        for name, hour, state, count in [("hot", 1, "OK", 0), ("hot", 2, "TRIGGERED", 2), ("cold", 3, "OK", 0)]
    ])  # fmt: skip
    reader = reader_on(tmp_path)
    assert alerts.alert_states(reader)[["alert", "state"]].values.tolist() == [["hot", "TRIGGERED"], ["cold", "OK"]]
    assert alerts.recent_notifications(reader)["sent"].tolist() == ["2 sent"]


def test_notifications_recorded_as_records_read_as_words(tmp_path: Path) -> None:
    # alert_history's own shape: each notification a record of kind, destination and status.
    sent = {"idempotency_key": "k1", "kind": "TRIGGERED", "destination": "webhook", "status": "DELIVERED"}
    write_table(tmp_path, "alert_history", [
        {"alert_name": "hot", "evaluated_at": utc("2026-01-05 09:00"), "state": "TRIGGERED", "value": 44.0,
         "notifications": [sent]},
    ])  # fmt: skip
    assert alerts.recent_notifications(reader_on(tmp_path))["sent"].tolist() == ["TRIGGERED to webhook (delivered)"]


def test_freshness_names_the_clock_when_the_data_is_dated_in_the_past(tmp_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    write_table(tmp_path, "silver_readings", [
        _reading("DEV-1", "2026-01-05 10:00:00", 30.0, ingested_at=now.to_pydatetime().replace(tzinfo=None)),
    ])  # fmt: skip
    frame = operations.freshness(reader_on(tmp_path))
    assert frame["what"].iloc[1] == "Last ingestion into silver" and frame["age_seconds"].iloc[1] < 3600
    days = (now - pd.Timestamp("2026-01-05 10:00:00")) / pd.Timedelta(days=1)
    said = re.search(r"the data's clock is ([\d,]+) days behind the wall clock", frame["what"].iloc[0])
    assert said and abs(int(said.group(1).replace(",", "")) - days) <= 1, frame["what"].iloc[0]


def test_quarantine_reasons_count_each_broken_rule(tmp_path: Path) -> None:
    write_table(tmp_path, "quarantine_readings", [
        {"device_id": None, "broken_rules": ["device_id_present"]},
        {"device_id": None, "broken_rules": ["device_id_present", "timestamp_parses"]},
        {"device_id": "DEV-1", "broken_rules": ["temperature_plausible"]},
        {"device_id": "DEV-2", "broken_rules": ["temperature_plausible"]},
    ])  # fmt: skip
    reasons = pipeline_health.quarantine_reasons(reader_on(tmp_path))
    assert reasons.values.tolist() == [
        ["device_id_present", 2, 50.0], ["temperature_plausible", 2, 50.0], ["timestamp_parses", 1, 25.0]
    ]


def test_ingestion_lag_per_batch(tmp_path: Path) -> None:
    batch = utc("2026-01-05 10:00:00")
    write_table(tmp_path, "silver_readings", [
        _reading("DEV-1", f"2026-01-05 09:{minute:02d}:00", 20.0, ingested_at=batch) for minute in (0, 30, 50)
    ])  # fmt: skip
    lag = pipeline_health.ingestion_lag(reader_on(tmp_path))
    assert lag[["readings", "min_seconds", "p50_seconds", "max_seconds"]].values.tolist() == [[3, 600, 1800, 3600]]


def test_schema_versions_come_from_the_delta_log(tmp_path: Path) -> None:
    write_table(tmp_path, "bronze_readings", [{"device_id": "DEV-1", "temperature_celsius": "20"}])
    write_table(tmp_path, "bronze_readings", [{"device_id": "DEV-2", "temperature_celsius": "21"}])
    write_table(tmp_path, "bronze_readings", [{"device_id": "DEV-3", "temperature_celsius": "22",
                                               "humidity_percent": "40"}])  # fmt: skip
    reader = reader_on(tmp_path)

    versions = pipeline_health.schema_versions(reader)

    assert versions[["table", "schema_version", "delta_version", "change"]].values.tolist() == [
        ["bronze_readings", 1, 0, "created with 2 columns"], ["bronze_readings", 2, 2, "+humidity_percent"]
    ]
    write_table(tmp_path, "bronze_readings", [{"device_id": "DEV-4"}])  # new commit, same schema
    assert len(pipeline_health.schema_versions(reader)) == 2


def test_every_panel_explains_itself_when_there_are_no_tables_at_all(tmp_path: Path) -> None:
    reader = reader_on(tmp_path)
    for dashboard in DASHBOARDS.values():
        for item in render_dashboard(dashboard, reader):
            assert item.empty_reason, item.panel.key
            assert "does not exist yet" in item.empty_reason or "No pipeline table" in item.empty_reason
            assert item.figure.layout.meta["empty_state"] == item.empty_reason


def test_an_empty_table_shows_the_panels_own_message(tmp_path: Path) -> None:
    write_table(tmp_path, "silver_readings", [_reading("DEV-1", "2026-01-05 08:00", 20.0)])
    item = render_panel(OPERATIONS.panel("hot_devices"), reader_on(tmp_path))
    assert item.empty_reason == OPERATIONS.panel("hot_devices").empty_message


def test_a_failing_panel_shows_why_and_the_others_still_render(tmp_path: Path) -> None:
    def broken(reader: object) -> pd.DataFrame:
        raise ValueError("Binder Error: column x not found\nmore detail")

    panel = Panel("broken", "Broken", "", (), broken, lambda frame: None, "")  # type: ignore[arg-type]
    item = render_panel(panel, reader_on(tmp_path))
    assert item.empty_reason == "This panel could not be drawn: ValueError: Binder Error: column x not found"


def test_each_panel_declares_the_tables_its_query_reads() -> None:
    # The served page redraws a panel when one of its declared tables gets a commit.
    for dashboard in DASHBOARDS.values():
        for panel in dashboard.panels:
            if isinstance(panel.load, SqlDataset):
                assert set(panel.load.tables) <= set(panel.tables), panel.key
