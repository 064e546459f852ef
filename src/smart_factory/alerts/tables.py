"""The two Delta tables alerting keeps, beside the pipeline's tables in the lakehouse.

- ``alert_history``: one row per evaluation of an alert — value, state, error, the
  notifications it sent — and the alert's running status (episode, last notification), so
  the next evaluation needs nothing but the latest row.
- ``alert_outbox``: one row per notification and destination, written *before* sending and
  marked when delivered; what is still PENDING is retried by the next evaluation.

Both are plain Delta tables, so a notebook can query them like any gold table.
"""

from __future__ import annotations

from pyspark.sql import SparkSession

from smart_factory.lakehouse.catalog import register_table
from smart_factory.lakehouse.paths import StoragePaths

HISTORY_TABLE = "alert_history"
OUTBOX_TABLE = "alert_outbox"

HISTORY_SCHEMA = (
    "evaluation_id STRING, sequence BIGINT, alert_name STRING, alert_file STRING, evaluated_at TIMESTAMP, "
    "state STRING, last_known_state STRING, condition STRING, value STRING, row_count BIGINT, error STRING, "
    "episode BIGINT, episode_started_at TIMESTAMP, last_notified_at TIMESTAMP, "
    "notifications ARRAY<STRUCT<idempotency_key: STRING, kind: STRING, destination: STRING, status: STRING, "
    "error: STRING>>, seconds DOUBLE"
)
OUTBOX_SCHEMA = (
    "idempotency_key STRING, destination_id STRING, destination STRING, alert_name STRING, kind STRING, "
    "episode BIGINT, evaluation_id STRING, subject STRING, body STRING, created_at TIMESTAMP, status STRING, "
    "attempts INT, last_error STRING, last_attempt_at TIMESTAMP, delivered_at TIMESTAMP"
)


def ensure_table(spark: SparkSession, storage: StoragePaths, name: str, schema: str) -> str:
    """Create the Delta table ``name`` (``schema.table``) empty if it is not there; its folder."""
    path = storage.table(name)
    if not (path / "_delta_log").is_dir():
        # "ignore" keeps a table another process created in the meantime.
        spark.createDataFrame([], schema).write.format("delta").mode("ignore").save(str(path))
    register_table(spark, storage, name)
    return str(path)
