"""Alert states and notifications, from ``smart_factory.alert_history`` (written by smart_factory.alerts).

The alerts package is built alongside this one, so its table is read by column *name*, with
a few likely spellings for each, and every column beyond the name, time and state is
optional. A missing table or column is an empty state with a message, never an error page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.errors import PanelDataUnavailable

ALERT_HISTORY = "alert_history"
RECENT_NOTIFICATIONS = 10
_SCANNED_EVALUATIONS = 500  # notifications are looked for among this many latest evaluations

# role -> accepted column names, preferred first
_COLUMNS: dict[str, tuple[str, ...]] = {
    "alert": ("alert_name", "alert", "name"),
    "evaluated_at": ("evaluated_at", "evaluated_time", "evaluation_time", "evaluated", "timestamp"),
    "state": ("state", "status"),
    "value": ("value", "observed_value", "metric_value"),
    "notifications": ("notifications_sent", "notifications", "notified"),
}
_REQUIRED = ("alert", "evaluated_at", "state")


def alert_states(reader: LakehouseReader) -> pd.DataFrame:
    """Each alert's latest evaluation: ``alert``, ``state``, ``value``, ``evaluated_at``, ``evaluations``."""
    columns = _resolve(reader)
    value = _quoted(columns["value"]) if "value" in columns else "NULL"
    alert, at, state = (_quoted(columns[role]) for role in ("alert", "evaluated_at", "state"))
    return reader.query(
        f"""
        SELECT * FROM (
            SELECT {alert}::VARCHAR AS alert,
                   arg_max({state}, {at})::VARCHAR AS state,
                   arg_max({value}, {at}) AS value,
                   max({at})::TIMESTAMP AS evaluated_at,
                   count(*) AS evaluations
            FROM {ALERT_HISTORY} GROUP BY 1
        ) AS latest  -- ordered outside: inside, "state" would name the table's column, not the latest state
        ORDER BY CASE state WHEN 'TRIGGERED' THEN 0 WHEN 'UNKNOWN' THEN 1 ELSE 2 END, alert
        """,
        ALERT_HISTORY,
    )


def recent_notifications(reader: LakehouseReader) -> pd.DataFrame:
    """The latest evaluations that sent notifications: ``evaluated_at``, ``alert``, ``state``, ``sent``."""
    columns = _resolve(reader)
    if "notifications" not in columns:
        raise PanelDataUnavailable(
            f"{ALERT_HISTORY} has no column saying which notifications were sent "
            f"(looked for {', '.join(_COLUMNS['notifications'])})."
        )
    alert, at, state, sent = (_quoted(columns[role]) for role in ("alert", "evaluated_at", "state", "notifications"))
    latest = reader.query(
        f"""
        SELECT {at}::TIMESTAMP AS evaluated_at, {alert}::VARCHAR AS alert, {state}::VARCHAR AS state, {sent} AS sent
        FROM {ALERT_HISTORY} ORDER BY {at} DESC LIMIT {_SCANNED_EVALUATIONS}
        """,
        ALERT_HISTORY,
    )
    # The notifications column's type is the alerts package's choice (a count, a flag, a
    # list of destinations): each becomes a short text, empty when nothing was sent.
    latest["sent"] = latest["sent"].map(_describe_sent)
    return latest[latest["sent"] != ""].head(RECENT_NOTIFICATIONS).reset_index(drop=True)


def _resolve(reader: LakehouseReader) -> dict[str, str]:
    available = {name.lower(): name for name in reader.table(ALERT_HISTORY).column_names}
    found: dict[str, str] = {}
    for role, names in _COLUMNS.items():
        match = next((available[name] for name in names if name in available), None)
        if match is not None:
            found[role] = match
    for role in _REQUIRED:
        if role not in found:
            raise PanelDataUnavailable(
                f"{ALERT_HISTORY} has no column for the alert's {role.replace('_', ' ')} "
                f"(looked for {', '.join(_COLUMNS[role])})."
            )
    return found


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _describe_sent(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool | np.bool_):
        return "sent" if value else ""
    if isinstance(value, int | float | np.integer | np.floating):
        return f"{int(value)} sent" if value > 0 else ""
    if isinstance(value, Sequence | np.ndarray) and not isinstance(value, str):
        return ", ".join(_describe_notification(item) for item in value)
    return str(value)


def _describe_notification(item: object) -> str:
    # alert_history's notifications are records (kind, destination, status, …): a person reads
    # "TRIGGERED to webhook: DELIVERED", not the record itself.
    if isinstance(item, Mapping):
        kind, destination, status = (item.get(key) for key in ("kind", "destination", "status"))
        return " ".join(part for part in (str(kind or "notification"), f"to {destination}" if destination else "",
                                          f"({str(status).lower()})" if status else "") if part)  # fmt: skip
    return str(item)
