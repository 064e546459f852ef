"""Figures of the Smart Factory Operations dashboard."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from smart_factory.dashboards.figures.common import HEIGHT, styled, table_figure, time_unit

LEVELS = {"plant": "Plants", "floor": "Floors", "line": "Lines"}  # level -> button label
_DEFAULT_LEVEL = "plant"
_TEMPERATURE_SCALE = "YlOrRd"


def location_label(row: pd.Series) -> str:
    """``Plant Aue``, ``Plant Aue · floor 2`` or ``Plant Aue · floor 2 · Line 21`` by the row's level."""
    parts = [str(row["plant"])]
    if row["level"] in ("floor", "line"):
        parts.append(f"floor {int(row['floor'])}")
    if row["level"] == "line":
        parts.append(str(row["line"]))
    return " · ".join(parts)


def temperature_by_location(frame: pd.DataFrame) -> go.Figure:
    """Average (top) and max (bottom) temperature per hour, one line per plant, floor or line.

    Buttons switch between plants, floors and lines; they work inline, in the served page
    and in the exported file alike, as they are part of the figure.
    """
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
        subplot_titles=("Average temperature (°C)", "Max temperature (°C)"),
    )  # fmt: skip
    frame = frame.assign(location=frame.apply(location_label, axis=1))
    traces, subplot_rows, levels_of_traces = [], [], []
    for level in LEVELS:
        rows = frame[frame["level"] == level]
        for index, (location, series) in enumerate(rows.groupby("location", sort=True)):
            color = qualitative.Plotly[index % len(qualitative.Plotly)]
            for row, column in ((1, "avg_temperature_celsius"), (2, "max_temperature_celsius")):
                traces.append(
                    go.Scatter(
                        x=series["hour_start"], y=series[column], name=location, legendgroup=location,
                        mode="lines+markers", line={"color": color}, showlegend=row == 1,
                        visible=level == _DEFAULT_LEVEL,
                        hovertemplate="%{x|%Y-%m-%d %H:00}<br>%{y:.2f} °C<extra>" + location + "</extra>",
                    )
                )  # fmt: skip
                subplot_rows.append(row)
                levels_of_traces.append(level)
    figure.add_traces(traces, rows=subplot_rows, cols=[1] * len(traces))  # one call: far faster than one per trace
    buttons = [
        {"label": label, "method": "update", "args": [{"visible": [level == chosen for level in levels_of_traces]}]}
        for chosen, label in LEVELS.items()
    ]
    figure.update_layout(
        updatemenus=[{"type": "buttons", "direction": "right", "buttons": buttons, "x": 0, "xanchor": "left",
                      "y": 1.06, "yanchor": "bottom", "showactive": True, "active": list(LEVELS).index(_DEFAULT_LEVEL)}]
    )  # fmt: skip
    figure.update_xaxes(tickformat="%H:%M\n%b %d")  # whole hours, even when there is only one
    figure.update_xaxes(title_text="hour (UTC)", row=2, col=1)
    return styled(figure, height=HEIGHT + 200)


def hot_devices(frame: pd.DataFrame) -> go.Figure:
    """The devices whose latest reading is over the threshold, hottest first, as a table."""
    return table_figure(
        frame,
        {"device_id": "Device", "plant": "Plant", "floor": "Floor", "line": "Line",
         "last_reading_at": "Last reading (UTC)", "temperature_celsius": "°C", "vibration_hz": "Vibration (Hz)",
         "hot_readings_last_hour": "Hot readings, last hour"},
        formats={"temperature_celsius": ".1f", "vibration_hz": ".1f"},
        column_widths=[1, 1.2, 0.5, 0.7, 1.6, 0.5, 0.8, 0.9],
    )  # fmt: skip


def device_hour_heatmap(frame: pd.DataFrame) -> go.Figure:
    """Max temperature per device (rows, hottest on top) and hour (columns)."""
    # Hours as labels, not times: every hour with data gets a column of the same width,
    # and an hour without readings does not stretch its neighbour.
    hours = frame.assign(hour=frame["hour_start"].dt.strftime("%b %d %H:00"))
    columns = hours.sort_values("hour_start")["hour"].unique()
    devices = frame["device_id"].unique()[::-1]  # loaded hottest first; the heatmap draws its first row at the bottom
    grid = hours.pivot(index="device_id", columns="hour", values="max_temperature_celsius")
    grid = grid.reindex(index=devices, columns=columns)
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(), x=list(grid.columns), y=list(grid.index), colorscale=_TEMPERATURE_SCALE,
            colorbar={"title": {"text": "max °C"}}, xgap=1, ygap=1,
            hovertemplate="%{y}<br>%{x}<br>max %{z:.1f} °C<extra></extra>",
        )
    )  # fmt: skip
    figure.update_xaxes(title_text="hour (UTC)", type="category")
    return styled(figure, height=max(HEIGHT, 18 * len(devices) + 110))


def vibration_vs_temperature(frame: pd.DataFrame) -> go.Figure:
    """One point per device and hour, coloured by the hour's max temperature."""
    figure = go.Figure(
        go.Scattergl(
            x=frame["avg_temperature_celsius"], y=frame["avg_vibration_hz"], mode="markers",
            text=frame["device_id"], customdata=frame[["max_temperature_celsius"]].to_numpy(),
            marker={"color": frame["max_temperature_celsius"], "colorscale": _TEMPERATURE_SCALE, "size": 6,
                    "opacity": 0.75, "colorbar": {"title": {"text": "max °C"}}},
            hovertemplate="%{text}<br>avg %{x:.1f} °C, max %{customdata[0]:.1f} °C<br>%{y:.1f} Hz<extra></extra>",
        )
    )  # fmt: skip
    figure.update_xaxes(title_text="average temperature in the hour (°C)")
    figure.update_yaxes(title_text="average vibration in the hour (Hz)")
    return styled(figure)


def freshness(frame: pd.DataFrame) -> go.Figure:
    """How old the newest reading, ingestion and pipeline update are, each in a fitting unit."""
    figure = go.Figure()
    for index, row in frame.reset_index(drop=True).iterrows():
        divisor, unit = time_unit(row["age_seconds"])
        figure.add_trace(
            go.Indicator(
                mode="number", value=row["age_seconds"] / divisor,
                number={"suffix": f" {unit} ago", "valueformat": ".1f", "font": {"size": 30}},
                title={"text": f"{row['what']}<br><span style='font-size:0.8em;color:#757575'>"
                               f"{row['at']:%Y-%m-%d %H:%M:%S} UTC</span>", "font": {"size": 15}},
                domain={"row": 0, "column": index},
            )
        )  # fmt: skip
    figure.update_layout(grid={"rows": 1, "columns": max(len(frame), 1)})
    return styled(figure, height=170)


def alert_states(frame: pd.DataFrame) -> go.Figure:
    """Each alert's latest state, triggered ones first, the row tinted by the state."""
    tints = {"TRIGGERED": "#ffebee", "OK": "#e8f5e9"}
    return table_figure(
        frame,
        {"alert": "Alert", "state": "State", "value": "Value", "evaluated_at": "Evaluated (UTC)",
         "evaluations": "Evaluations"},
        column_widths=[1.6, 1, 0.8, 1.4, 0.8],
        row_colors=[tints.get(state, "#f5f5f5") for state in frame["state"]],
    )  # fmt: skip


def recent_notifications(frame: pd.DataFrame) -> go.Figure:
    """The latest notifications sent, newest first."""
    return table_figure(
        frame, {"evaluated_at": "When (UTC)", "alert": "Alert", "state": "State", "sent": "Notifications sent"}
    )
