"""The Smart Factory Operations dashboard's data: the factory as the gold and silver tables see it."""

from __future__ import annotations

import pandas as pd

from smart_factory.dashboards.datasets import SqlDataset
from smart_factory.dashboards.reader import LakehouseReader

HEATMAP_DEVICES = 30
HEATMAP_HOURS = 24

# Line, floor and plant rows in one pass. A plant's average is the device-weighted mean of
# its lines' averages: each line's average is already a mean over its devices.
_TEMPERATURE_BY_LOCATION = """
SELECT CASE WHEN grouping(floor) = 1 THEN 'plant' WHEN grouping(line) = 1 THEN 'floor' ELSE 'line' END AS level,
       plant, floor, line, hour_start::TIMESTAMP AS hour_start,
       round(sum(avg_temperature_celsius * devices) / sum(devices), 2) AS avg_temperature_celsius,
       max(max_temperature_celsius) AS max_temperature_celsius,
       sum(devices)::BIGINT AS devices,
       sum(overheating_devices)::BIGINT AS overheating_devices
FROM gold_plant_line_hourly
GROUP BY GROUPING SETS ((plant, hour_start), (plant, floor, hour_start), (plant, floor, line, hour_start))
ORDER BY level, plant, floor NULLS FIRST, line NULLS FIRST, hour_start
"""

# "Now" is the newest reading: the factory's clock, which the simulator may keep in the past.
_HOT_DEVICES = """
WITH latest AS (
    SELECT device_id,
           max(event_time) AS last_reading_at,
           arg_max(temperature_celsius, event_time) AS temperature_celsius,
           arg_max(vibration_hz, event_time) AS vibration_hz,
           arg_max(is_overheating, event_time) AS is_overheating,
           arg_max(plant, event_time) AS plant,
           arg_max(floor, event_time) AS floor,
           arg_max(line, event_time) AS line
    FROM silver_readings GROUP BY device_id
),
last_hour AS (
    SELECT device_id, count(*) AS hot_readings_last_hour
    FROM silver_readings
    WHERE is_overheating AND event_time > (SELECT max(event_time) FROM silver_readings) - INTERVAL 1 HOUR
    GROUP BY device_id
)
SELECT device_id, plant, floor, line, last_reading_at::TIMESTAMP AS last_reading_at,
       temperature_celsius, vibration_hz, coalesce(hot_readings_last_hour, 0) AS hot_readings_last_hour
FROM latest LEFT JOIN last_hour USING (device_id)
WHERE is_overheating
ORDER BY temperature_celsius DESC, device_id
"""

_DEVICE_HOUR_MAX = f"""
WITH recent AS (
    SELECT * FROM gold_device_hourly
    WHERE hour_start > (SELECT max(hour_start) FROM gold_device_hourly) - INTERVAL {HEATMAP_HOURS} HOUR
),
hottest AS (
    SELECT device_id, max(max_temperature_celsius) AS peak_temperature_celsius
    FROM recent GROUP BY device_id
    ORDER BY peak_temperature_celsius DESC, device_id LIMIT {HEATMAP_DEVICES}
)
SELECT device_id, hour_start::TIMESTAMP AS hour_start, max_temperature_celsius, peak_temperature_celsius
FROM recent JOIN hottest USING (device_id)
ORDER BY peak_temperature_celsius DESC, device_id, hour_start
"""

_VIBRATION_VS_TEMPERATURE = """
SELECT device_id, hour_start::TIMESTAMP AS hour_start, avg_temperature_celsius, max_temperature_celsius,
       avg_vibration_hz, readings
FROM gold_device_hourly
ORDER BY hour_start, device_id
"""

_FRESHNESS_OF_READINGS = """
SELECT 'Newest reading (event time)' AS what, max(event_time)::TIMESTAMP AS at FROM silver_readings
UNION ALL
SELECT 'Last ingestion into silver', max(ingested_at)::TIMESTAMP FROM silver_readings
"""

_LAST_UPDATE = """
SELECT 'Last pipeline update: '
           || arg_max(details.update_progress.state::VARCHAR, (timestamp, sequence.control_plane_seq_no)) AS what,
       max(timestamp)::TIMESTAMP AS at
FROM event_log WHERE event_type = 'update_progress'
HAVING count(*) > 0
"""


# Hourly average and max temperature per plant, per floor and per line (``level`` says which).
temperature_by_location = SqlDataset(_TEMPERATURE_BY_LOCATION, "gold_plant_line_hourly")

# Devices whose latest reading is over the overheating threshold, hottest first.
hot_devices = SqlDataset(_HOT_DEVICES, "silver_readings")

# Max temperature per device and hour, for the hottest devices of the last day of data.
device_hour_max = SqlDataset(_DEVICE_HOUR_MAX, "gold_device_hourly")

# One point per device and hour: average vibration against average temperature.
vibration_vs_temperature = SqlDataset(_VIBRATION_VS_TEMPERATURE, "gold_device_hourly")


def freshness(reader: LakehouseReader) -> pd.DataFrame:
    """When the newest data was made, ingested and processed; ``age_seconds`` as of now.

    The pipeline-update row is left out while the event log does not exist.
    """
    frame = reader.query(_FRESHNESS_OF_READINGS, "silver_readings")
    if reader.exists("event_log"):
        frame = pd.concat([frame, reader.query(_LAST_UPDATE, "event_log")], ignore_index=True)
    frame = frame.dropna(subset=["at"]).reset_index(drop=True)
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    frame["age_seconds"] = (now - frame["at"]).dt.total_seconds()
    return _say_which_clock(frame)


def _say_which_clock(frame: pd.DataFrame) -> pd.DataFrame:
    """Name the clock when the readings' own clock is far behind the wall clock (a simulator's past dates).

    Ages are wall-clock ages; a reading ingested minutes ago but dated months back is not
    months late in arriving, so the panel says whose clock its date comes from.
    """
    if len(frame) < 2:
        return frame
    reading_age, ingestion_age = frame["age_seconds"].iloc[0], frame["age_seconds"].iloc[1]
    behind_days = (reading_age - ingestion_age) / 86_400
    if behind_days >= 1:
        frame.loc[0, "what"] = (f"Newest reading (event time; the data's clock is {behind_days:,.0f} days "
                                "behind the wall clock)")  # fmt: skip
    return frame
