"""Notification subject and body templates with Databricks SQL alerts' ``{{VARIABLES}}``.

>>> render("{{ALERT_NAME}} is {{ALERT_STATUS}}", {"ALERT_NAME": "Overheating", "ALERT_STATUS": "TRIGGERED"})
'Overheating is TRIGGERED'

Only the variables below exist; a definition naming another one is refused when it is
loaded, so a typo shows up in ``smart-factory alerts validate``, not in an operator's inbox.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from smart_factory.alerts.condition import format_value

VARIABLES: dict[str, str] = {
    "ALERT_STATUS": "the state the evaluation found: OK, TRIGGERED or UNKNOWN",
    "ALERT_NAME": "the alert's name",
    "ALERT_DESCRIPTION": "the alert's description (empty if none)",
    "ALERT_CONDITION": "the comparison operator, e.g. >",
    "ALERT_THRESHOLD": "the threshold the value is compared with",
    "ALERT_COLUMN": "the checked column, with its aggregation, e.g. MAX(max_temperature_celsius)",
    "ALERT_ERROR": "why the evaluation is UNKNOWN (empty otherwise)",
    "ALERT_FILE": "the definition file",
    "QUERY_RESULT_VALUE": "the checked value",
    "QUERY_RESULT_ROWS": "the first result rows, as a JSON list of objects",
    "QUERY_RESULT_COLS": "the result's column names, as a JSON list",
    "QUERY_RESULT_TABLE": "the first result rows as a text table",
    "QUERY_RESULT_ROW_COUNT": "how many rows the query returned",
    "EVALUATED_AT": "when the alert was evaluated (UTC)",
}
DEFAULT_SUBJECT = "[{{ALERT_STATUS}}] {{ALERT_NAME}}"
DEFAULT_BODY = (
    'Alert "{{ALERT_NAME}}" is {{ALERT_STATUS}}: {{ALERT_COLUMN}} = {{QUERY_RESULT_VALUE}} '
    "(condition {{ALERT_CONDITION}} {{ALERT_THRESHOLD}}), evaluated at {{EVALUATED_AT}}.\n\n{{QUERY_RESULT_TABLE}}"
)
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def unknown_variables(template: str) -> list[str]:
    """The ``{{NAMES}}`` in ``template`` that are not template variables."""
    return [name for name in _VARIABLE.findall(template) if name not in VARIABLES]


def render(template: str, values: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def text_table(columns: Sequence[str], rows: Sequence[Sequence[Any]], total_rows: int) -> str:
    """An aligned plain-text table (fits email, chat and log files alike).

    >>> print(text_table(["device_id", "max_c"], [("D-1", 44.5), ("D-22", 41.0)], total_rows=3))
    device_id  max_c
    ---------  -----
    D-1        44.5
    D-22       41
    (1 more row not shown)
    """
    if not columns:
        return "(no columns)"
    cells = [[display(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    lines = [
        "  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * width for width in widths),
        *("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in cells),
    ]
    if not rows:
        lines.append("(no rows)")
    hidden = total_rows - len(rows)
    if hidden > 0:
        lines.append(f"({hidden} more row{'s' if hidden > 1 else ''} not shown)")
    return "\n".join(lines)


def json_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=display)


def display(value: Any) -> str:
    """One cell as text: timestamps without microseconds, numbers without a needless ``.0``."""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return format_value(value)
