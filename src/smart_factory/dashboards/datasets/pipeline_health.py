"""The Pipeline Health dashboard's data: the event log's updates, flows and expectations, plus
what the tables themselves say about quarantine, schema changes and ingestion lag."""

from __future__ import annotations

import pandas as pd

from smart_factory.dashboards.datasets import SqlDataset
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.errors import PanelDataUnavailable

RECENT_UPDATES = 20
TOP_REASONS = 10
QUARANTINE_DATASET = "quarantine_readings"
VALIDATED_DATASET = "readings_validated"
PIPELINE_TABLES = (
    "bronze_readings", "silver_readings", "quarantine_readings", "device_registry",
    "gold_device_hourly", "gold_plant_line_hourly", "event_log",
)  # fmt: skip

# The last RECENT_UPDATES updates, numbered from the first. An update whose final state is
# not logged yet is still running: its duration runs up to now.
_RECENT_UPDATES = f"""
WITH update_events AS (
    SELECT origin.update_id AS update_id, timestamp, sequence.control_plane_seq_no AS seq,
           details.update_progress.state::VARCHAR AS state
    FROM event_log WHERE event_type IN ('create_update', 'update_progress')
),
updates AS (
    SELECT update_id,
           row_number() OVER (ORDER BY min(timestamp), update_id) AS update_number,
           min(timestamp) AS started_at,
           max(timestamp) AS last_event_at,
           coalesce(arg_max(state, (timestamp, seq)) FILTER (WHERE state IS NOT NULL), 'QUEUED') AS state
    FROM update_events GROUP BY update_id
),
recent_updates AS (
    SELECT update_id, update_number, '#' || update_number || ' · ' || left(update_id, 8) AS update_label,
           started_at::TIMESTAMP AS started_at, state,
           epoch(CASE WHEN state IN ('COMPLETED', 'FAILED', 'CANCELED') THEN last_event_at ELSE now() END
                 - started_at) AS duration_seconds
    FROM updates
    WHERE update_number > (SELECT max(update_number) FROM updates) - {RECENT_UPDATES}
),
completed_flows AS (
    SELECT u.update_number, u.update_label, e.origin.dataset_name AS dataset, e.details
    FROM event_log AS e JOIN recent_updates AS u ON e.origin.update_id = u.update_id
    WHERE e.event_type = 'flow_progress' AND e.details.flow_progress.status::VARCHAR = 'COMPLETED'
)
"""

_UPDATES = _RECENT_UPDATES + """
SELECT update_number, update_label, update_id, started_at, state, duration_seconds
FROM recent_updates ORDER BY update_number
"""

_ROWS_WRITTEN = _RECENT_UPDATES + """
SELECT update_number, update_label, dataset,
       sum(details.flow_progress.metrics.num_output_rows::BIGINT)::BIGINT AS rows_written
FROM completed_flows GROUP BY ALL ORDER BY update_number, dataset
"""

_EXPECTATIONS = _RECENT_UPDATES + """
SELECT update_number, update_label, dataset, rule,
       sum(passed_records)::BIGINT AS passed_records, sum(failed_records)::BIGINT AS failed_records,
       round(100.0 * sum(failed_records) / nullif(sum(passed_records) + sum(failed_records), 0), 3) AS failed_percent
FROM (
    SELECT update_number, update_label, dataset,
           unnest(details.flow_progress.data_quality.expectations::STRUCT(
               name VARCHAR, passed_records BIGINT, failed_records BIGINT)[], recursive := true)
    FROM completed_flows
) AS results(update_number, update_label, dataset, rule, passed_records, failed_records)
GROUP BY ALL ORDER BY update_number, dataset, rule
"""

_QUARANTINE_VOLUME = _RECENT_UPDATES + f"""
SELECT update_number, update_label,
       coalesce(sum(rows) FILTER (WHERE dataset = '{QUARANTINE_DATASET}'), 0)::BIGINT AS quarantined_rows,
       coalesce(sum(rows) FILTER (WHERE dataset = '{VALIDATED_DATASET}'), 0)::BIGINT AS validated_rows,
       round(100.0 * quarantined_rows / nullif(validated_rows, 0), 3) AS quarantined_percent
FROM (SELECT update_number, update_label, dataset, details.flow_progress.metrics.num_output_rows::BIGINT AS rows
      FROM completed_flows)
GROUP BY ALL HAVING validated_rows > 0 OR quarantined_rows > 0 ORDER BY update_number
"""

_QUARANTINE_REASONS = f"""
SELECT rule, count(*) AS records,
       round(100.0 * count(*) / (SELECT count(*) FROM {QUARANTINE_DATASET}), 2) AS percent_of_quarantined
FROM (SELECT unnest(broken_rules) AS rule FROM {QUARANTINE_DATASET})
GROUP BY rule ORDER BY records DESC, rule LIMIT {TOP_REASONS}
"""

# Each ingestion micro-batch stamps its rows with one ingested_at.
_INGESTION_LAG = """
SELECT ingested_at::TIMESTAMP AS ingested_at, count(*) AS readings,
       min(epoch(ingested_at - event_time)) AS min_seconds,
       quantile_cont(epoch(ingested_at - event_time), 0.5) AS p50_seconds,
       quantile_cont(epoch(ingested_at - event_time), 0.95) AS p95_seconds,
       max(epoch(ingested_at - event_time)) AS max_seconds
FROM silver_readings
GROUP BY ingested_at ORDER BY ingested_at
"""


# The recent updates: number, label, start, final (or current) state, duration.
updates = SqlDataset(_UPDATES, "event_log")

# Rows each dataset's flows wrote in each recent update.
rows_written = SqlDataset(_ROWS_WRITTEN, "event_log")

# Passed and failed records per expectation rule and update, with the failure rate.
expectation_results = SqlDataset(_EXPECTATIONS, "event_log")

# Rows sent to quarantine per update, and their share of the validated rows.
quarantine_volume = SqlDataset(_QUARANTINE_VOLUME, "event_log")

# The rules quarantined records broke most often (a record may break several).
quarantine_reasons = SqlDataset(_QUARANTINE_REASONS, QUARANTINE_DATASET)

# Per ingestion batch, how long after its event time a reading reached silver (seconds).
ingestion_lag = SqlDataset(_INGESTION_LAG, "silver_readings")


def schema_versions(reader: LakehouseReader) -> pd.DataFrame:
    """Every schema each pipeline table has had, with when it changed and the columns that did.

    Read from the tables' Delta logs: the event log records the schema a flow was planned
    with, which misses a column that Auto Loader adds during an update.
    """
    frames = []
    for table in PIPELINE_TABLES:
        if not reader.exists(table):
            continue
        history = reader.schema_history(table)
        history.insert(0, "table", table)
        history["schema_version"] = range(1, len(history) + 1)
        history["column_count"] = history["columns"].map(len)
        history["change"] = _changes(history["columns"].tolist())
        frames.append(history.drop(columns="columns").rename(columns={"version": "delta_version"}))
    if not frames:
        raise PanelDataUnavailable("No pipeline table exists yet: run the pipeline (smart-factory pipeline run).")
    return pd.concat(frames, ignore_index=True)


def _changes(schemas: list[list[str]]) -> list[str]:
    changes = []
    for index, columns in enumerate(schemas):
        if index == 0:
            changes.append(f"created with {len(columns)} columns")
            continue
        before = schemas[index - 1]
        added = [f"+{name}" for name in columns if name not in before]
        removed = [f"−{name}" for name in before if name not in columns]
        changes.append(" ".join(added + removed) or "columns reordered")
    return changes
