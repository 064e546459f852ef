"""Figure builders on small known frames: the right numbers in the right places."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from smart_factory.dashboards.figures import common
from smart_factory.dashboards.figures import operations as operations_figures
from smart_factory.dashboards.figures import pipeline_health as health_figures

HOURS = [pd.Timestamp("2026-01-05 07:00"), pd.Timestamp("2026-01-05 08:00")]


def _traces(figure, name: str) -> list:
    return [trace for trace in figure.data if trace.name == name]


def test_temperature_lines_per_plant_by_default_with_buttons_for_floors_and_lines() -> None:
    frame = pd.DataFrame([
        {"level": level, "plant": "Plant A", "floor": floor, "line": line, "hour_start": hour,
         "avg_temperature_celsius": average, "max_temperature_celsius": average + 5}
        for level, floor, line, offset in [("plant", None, None, 0), ("floor", 1, None, 1), ("line", 1, "Line 7", 2)]
        for hour, average in zip(HOURS, (20.0 + offset, 30.0 + offset), strict=True)
    ])  # fmt: skip

    figure = operations_figures.temperature_by_location(frame)

    plant_avg, plant_max = _traces(figure, "Plant A")
    assert list(plant_avg.y) == [20.0, 30.0] and plant_avg.visible and plant_avg.yaxis == "y"
    assert list(plant_max.y) == [25.0, 35.0] and plant_max.yaxis == "y2"
    line_avg, _ = _traces(figure, "Plant A · floor 1 · Line 7")
    assert list(line_avg.y) == [22.0, 32.0] and line_avg.visible is False
    buttons = {button.label: button.args[0]["visible"] for button in figure.layout.updatemenus[0].buttons}
    assert list(buttons) == ["Plants", "Floors", "Lines"]
    assert buttons["Lines"] == [trace.name == "Plant A · floor 1 · Line 7" for trace in figure.data]


def test_heatmap_puts_the_hottest_device_on_top_and_leaves_missing_hours_blank() -> None:
    frame = pd.DataFrame({
        "device_id": ["DEV-9", "DEV-9", "DEV-2"], "hour_start": [HOURS[0], HOURS[1], HOURS[1]],
        "max_temperature_celsius": [31.0, 47.5, 36.0], "peak_temperature_celsius": [47.5, 47.5, 36.0],
    })  # fmt: skip

    heatmap = operations_figures.device_hour_heatmap(frame).data[0]

    assert list(heatmap.y) == ["DEV-2", "DEV-9"]  # drawn bottom-up: the hottest is the last, top row
    assert list(heatmap.x) == ["Jan 05 07:00", "Jan 05 08:00"]
    assert math.isnan(heatmap.z[0][0]) and heatmap.z[0][1] == 36.0
    assert list(heatmap.z[1]) == [31.0, 47.5]


def test_hot_devices_table_formats_the_last_reading() -> None:
    frame = pd.DataFrame([{
        "device_id": "DEV-7", "plant": "Plant A", "floor": 2, "line": None,
        "last_reading_at": pd.Timestamp("2026-01-05 08:13:45.741"), "temperature_celsius": 48.44,
        "vibration_hz": 198.94, "hot_readings_last_hour": 3,
    }])  # fmt: skip

    table = operations_figures.hot_devices(frame).data[0]

    assert table.header.values[0] == "Device"
    assert [column[0] for column in table.cells.values] == [
        "DEV-7", "Plant A", "2", "", "2026-01-05 08:13:45", "48.4", "198.9", "3"
    ]


def test_freshness_shows_each_age_in_a_fitting_unit() -> None:
    frame = pd.DataFrame({
        "what": ["Newest reading (event time)", "Last ingestion into silver"],
        "at": [pd.Timestamp("2026-01-05 08:00"), pd.Timestamp("2026-01-06 09:00")],
        "age_seconds": [3 * 86_400, 90.0],
    })  # fmt: skip

    readings, ingestion = operations_figures.freshness(frame).data

    assert (readings.value, readings.number.suffix) == (3.0, " days ago")
    assert (ingestion.value, ingestion.number.suffix) == (1.5, " minutes ago")
    assert "2026-01-06 09:00:00 UTC" in ingestion.title.text


def test_alert_states_tint_triggered_rows() -> None:
    frame = pd.DataFrame({"alert": ["hot", "stale"], "state": ["TRIGGERED", "OK"], "value": [7.0, 1.0],
                          "evaluated_at": HOURS, "evaluations": [2, 1]})  # fmt: skip
    table = operations_figures.alert_states(frame).data[0]
    assert list(table.cells.values[1]) == ["TRIGGERED", "OK"]
    assert list(table.cells.fill.color[0]) == ["#ffebee", "#e8f5e9"]


def test_updates_bars_are_durations_coloured_by_state_in_minutes_when_long() -> None:
    frame = pd.DataFrame({
        "update_number": [1, 2], "update_label": ["#1 · aaaa", "#2 · bbbb"], "started_at": HOURS,
        "state": ["COMPLETED", "FAILED"], "duration_seconds": [120.0, 30.0],
    })  # fmt: skip

    figure = health_figures.updates(frame)

    completed, failed = figure.data
    assert (completed.name, list(completed.x), list(completed.y)) == ("COMPLETED", ["#1 · aaaa"], [2.0])
    assert (failed.name, list(failed.y), failed.marker.color) == ("FAILED", [0.5], common.STATE_COLORS["FAILED"])
    assert figure.layout.yaxis.title.text == "duration (minutes)"


def test_rows_written_one_bar_series_per_dataset_in_update_order() -> None:
    frame = pd.DataFrame({
        "update_number": [2, 1, 1], "update_label": ["#2 · b", "#1 · a", "#1 · a"],
        "dataset": ["silver_readings", "bronze_readings", "silver_readings"], "rows_written": [5, 100, 90],
    })  # fmt: skip
    figure = health_figures.rows_written(frame)
    silver = _traces(figure, "silver_readings")[0]
    assert dict(zip(silver.x, silver.y, strict=True)) == {"#2 · b": 5, "#1 · a": 90}
    assert list(figure.layout.xaxis.categoryarray) == ["#1 · a", "#2 · b"]


def test_expectations_show_failed_counts_and_rates_per_rule() -> None:
    frame = pd.DataFrame({
        "update_number": [1, 1], "update_label": ["#1 · a"] * 2, "dataset": ["readings_validated"] * 2,
        "rule": ["device_id_present", "timestamp_parses"], "passed_records": [990, 1000],
        "failed_records": [10, 0], "failed_percent": [1.0, 0.0],
    })  # fmt: skip
    figure = health_figures.expectations(frame)
    bars, rates = _traces(figure, "device_id_present")
    assert (bars.type, list(bars.y), rates.type, list(rates.y)) == ("bar", [10], "scatter", [1.0])
    assert list(bars.customdata[0][1:]) == [990, 10]


def test_quarantine_volume_and_reasons() -> None:
    volume = pd.DataFrame({"update_number": [1], "update_label": ["#1 · a"], "quarantined_rows": [657],
                           "validated_rows": [50480], "quarantined_percent": [1.302]})  # fmt: skip
    bars, share = health_figures.quarantine_volume(volume).data
    assert (list(bars.y), list(bars.text), list(share.y)) == ([657], ["657"], [1.302])

    reasons = pd.DataFrame({"rule": ["device_id_present", "timestamp_parses"], "records": [812, 51],
                            "percent_of_quarantined": [94.31, 5.92]})  # fmt: skip
    bar = health_figures.quarantine_reasons(reasons).data[0]
    assert list(bar.y) == ["timestamp_parses", "device_id_present"]  # the most frequent drawn on top
    assert list(bar.text) == ["51 (5.9 %)", "812 (94.3 %)"]


def test_schema_versions_label_each_change() -> None:
    frame = pd.DataFrame({
        "table": ["bronze_readings", "bronze_readings"], "delta_version": [0, 1], "committed_at": HOURS,
        "schema_version": [1, 2], "column_count": [10, 11], "change": ["created with 10 columns", "+humidity_percent"],
    })  # fmt: skip
    created, changed = health_figures.schema_versions(frame).data
    assert list(created.text) == ["v1"]
    assert list(changed.text) == ["v2: +humidity_percent"] and list(changed.x) == [HOURS[1]]


def test_ingestion_lag_in_days_when_the_clock_is_far_behind() -> None:
    frame = pd.DataFrame({"ingested_at": HOURS[:1], "readings": [100], "min_seconds": [86_400.0],
                          "p50_seconds": [2 * 86_400.0], "p95_seconds": [3 * 86_400.0],
                          "max_seconds": [4 * 86_400.0]})  # fmt: skip
    figure = health_figures.ingestion_lag(frame)
    assert [(trace.name, trace.y[0]) for trace in figure.data] == [("median", 2.0), ("95th percentile", 3.0),
                                                                    ("max", 4.0)]  # fmt: skip
    assert figure.layout.yaxis.title.text == "lag (days)"


@pytest.mark.parametrize(("seconds", "unit"), [(0.5, "seconds"), (59, "seconds"), (60, "minutes"),
                                               (7200, "hours"), (86_400 * 3, "days")])  # fmt: skip
def test_time_unit(seconds: float, unit: str) -> None:
    assert common.time_unit(seconds)[1] == unit


def test_empty_figure_says_why_and_wraps_long_messages() -> None:
    message = "The table smart_factory.event_log does not exist yet: run the pipeline (smart-factory pipeline run)."
    figure = common.empty_figure(message)
    assert figure.layout.meta["empty_state"] == message
    assert figure.layout.annotations[0].text.replace("<br>", " ") == message
    assert "<br>" in figure.layout.annotations[0].text
