"""What every dashboard figure shares: the look, the empty state, tables and time units."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

HEIGHT = 360
STATE_COLORS = {
    "COMPLETED": "#2e7d32", "OK": "#2e7d32",
    "FAILED": "#c62828", "TRIGGERED": "#c62828",
    "CANCELED": "#757575", "UNKNOWN": "#757575",
}  # fmt: skip
RUNNING_COLOR = "#1565c0"  # any state not above: the update (or alert) is still in progress
HEADER_FILL = "#37474f"
_UNITS = ((86_400, "days"), (3_600, "hours"), (60, "minutes"), (1, "seconds"))


def styled(figure: go.Figure, height: int = HEIGHT) -> go.Figure:
    """The dashboards' common look. ``uirevision`` keeps a user's zoom across auto-refreshes."""
    figure.update_layout(
        template="plotly_white",
        height=height,
        margin={"l": 56, "r": 16, "t": 36, "b": 40},
        font={"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 12},
        uirevision="dashboard",
    )
    return figure


def empty_figure(message: str, height: int = HEIGHT) -> go.Figure:
    """A blank panel that says why it is blank (missing table, no rows, failed query)."""
    figure = go.Figure()
    wrapped = "<br>".join(textwrap.wrap(message, 60))  # Plotly does not wrap annotation text
    figure.add_annotation(
        text=wrapped, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
        font={"size": 14, "color": "#616161"}, align="center",
    )  # fmt: skip
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    figure.update_layout(meta={"empty_state": message})
    return styled(figure, height)


def table_figure(
    frame: pd.DataFrame,
    headers: Mapping[str, str],
    formats: Mapping[str, str] | None = None,
    row_colors: list[str] | None = None,
    column_widths: list[float] | None = None,
) -> go.Figure:
    """A table of ``frame``'s columns named in ``headers`` (column -> header), in that order.

    ``formats`` are Python format specs per column (``{"temperature_celsius": ".1f"}``);
    ``row_colors`` tints whole rows (one colour per row); ``column_widths`` are relative.
    """
    formats = formats or {}
    cells = [[_format(value, formats.get(column)) for value in frame[column]] for column in headers]
    fill = [row_colors or ["white"] * len(frame)] * len(headers)
    header = {"values": list(headers.values()), "fill_color": HEADER_FILL, "font": {"color": "white"}, "align": "left"}
    cells_style = {"values": cells, "align": "left", "fill_color": fill}
    figure = go.Figure(go.Table(header=header, cells=cells_style, columnwidth=column_widths))
    figure = styled(figure, height=min(HEIGHT + 120, 80 + 30 * max(len(frame), 1)))
    figure.update_layout(margin={"l": 8, "r": 8, "t": 8, "b": 8})
    return figure


def time_unit(seconds: float) -> tuple[float, str]:
    """The largest unit in which ``seconds`` is at least 1: ``(divisor, name)``.

    >>> time_unit(7200)
    (3600, 'hours')
    """
    return next(((divisor, name) for divisor, name in _UNITS if abs(seconds) >= divisor), _UNITS[-1])


def state_color(state: str) -> str:
    return STATE_COLORS.get(state, RUNNING_COLOR)


def _format(value: object, spec: str | None) -> str:
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return format(value, spec) if spec else str(value)
