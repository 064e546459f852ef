"""Figures of the Pipeline Health dashboard."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from smart_factory.dashboards.figures.common import HEIGHT, state_color, styled, time_unit


def updates(frame: pd.DataFrame) -> go.Figure:
    """One bar per update: its duration, coloured by its final (or current) state."""
    divisor, unit = time_unit(frame["duration_seconds"].max())
    figure = go.Figure()
    for state, rows in frame.groupby("state", sort=True):
        figure.add_trace(
            go.Bar(
                x=rows["update_label"], y=rows["duration_seconds"] / divisor, name=state,
                marker_color=state_color(state), customdata=rows[["started_at"]].to_numpy(),
                text=[f"{value:.1f}" for value in rows["duration_seconds"] / divisor], textposition="outside",
                hovertemplate="%{x}<br>started %{customdata[0]|%Y-%m-%d %H:%M:%S} UTC<br>%{y:.1f} " + unit
                + f"<extra>{state}</extra>",
            )
        )  # fmt: skip
    figure.update_xaxes(title_text="update", categoryorder="array", categoryarray=frame["update_label"].tolist())
    figure.update_yaxes(title_text=f"duration ({unit})")
    return styled(figure)


def rows_written(frame: pd.DataFrame) -> go.Figure:
    """Rows written per dataset (bars side by side) in each update."""
    figure = go.Figure()
    for index, (dataset, rows) in enumerate(frame.groupby("dataset", sort=True)):
        figure.add_trace(
            go.Bar(
                x=rows["update_label"], y=rows["rows_written"], name=dataset,
                marker_color=qualitative.Safe[index % len(qualitative.Safe)],
                hovertemplate="%{x}<br>%{y:,} rows<extra>" + dataset + "</extra>",
            )
        )  # fmt: skip
    figure.update_layout(barmode="group")
    _order_updates(figure, frame)
    figure.update_yaxes(title_text="rows written")
    return styled(figure)


def expectations(frame: pd.DataFrame) -> go.Figure:
    """Per rule and update: failed records (top, bars) and the share of records failing (bottom)."""
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
        subplot_titles=("Failed records", "Failed share of checked records (%)"),
    )  # fmt: skip
    for index, ((dataset, rule), rows) in enumerate(frame.groupby(["dataset", "rule"], sort=True)):
        color = qualitative.Plotly[index % len(qualitative.Plotly)]
        custom = rows[["dataset", "passed_records", "failed_records"]].to_numpy()
        hover = f"%{{x}} · {dataset}<br>passed %{{customdata[1]:,}}, failed %{{customdata[2]:,}}<extra>{rule}</extra>"
        figure.add_trace(
            go.Bar(x=rows["update_label"], y=rows["failed_records"], name=rule, legendgroup=rule,
                   marker_color=color, customdata=custom, hovertemplate=hover),
            row=1, col=1,
        )  # fmt: skip
        figure.add_trace(
            go.Scatter(x=rows["update_label"], y=rows["failed_percent"], name=rule, legendgroup=rule,
                       mode="lines+markers", line={"color": color}, showlegend=False, customdata=custom,
                       hovertemplate=hover.replace("<br>", "<br>%{y:.3f} % failed<br>", 1)),
            row=2, col=1,
        )  # fmt: skip
    figure.update_layout(barmode="group")
    _order_updates(figure, frame)
    return styled(figure, height=HEIGHT + 160)


def quarantine_volume(frame: pd.DataFrame) -> go.Figure:
    """Rows quarantined per update (bars) and their share of the validated rows (line, right axis)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Bar(x=frame["update_label"], y=frame["quarantined_rows"], name="quarantined rows", marker_color="#ef6c00",
               text=[f"{value:,}" for value in frame["quarantined_rows"]], textposition="outside"),
        secondary_y=False,
    )  # fmt: skip
    figure.add_trace(
        go.Scatter(x=frame["update_label"], y=frame["quarantined_percent"], name="share of validated rows (%)",
                   mode="lines+markers", line={"color": "#37474f"}),
        secondary_y=True,
    )  # fmt: skip
    _order_updates(figure, frame)
    figure.update_yaxes(title_text="rows", secondary_y=False)
    figure.update_yaxes(title_text="% of validated", secondary_y=True, rangemode="tozero", tickformat=".2f",
                        showgrid=False)  # fmt: skip
    figure = styled(figure)
    figure.update_layout(legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"})  # clear of the right axis
    return figure


def quarantine_reasons(frame: pd.DataFrame) -> go.Figure:
    """The rules quarantined records broke most often, most frequent on top."""
    rows = frame.iloc[::-1]  # horizontal bars draw the first row at the bottom
    figure = go.Figure(
        go.Bar(
            x=rows["records"], y=rows["rule"], orientation="h", marker_color="#ef6c00",
            text=[f"{records:,} ({percent:.1f} %)" for records, percent in
                  zip(rows["records"], rows["percent_of_quarantined"], strict=True)],
            textposition="auto", hovertemplate="%{y}: %{x:,} records<extra></extra>",
        )
    )  # fmt: skip
    figure.update_xaxes(title_text="quarantined records breaking the rule")
    return styled(figure)


def schema_versions(frame: pd.DataFrame) -> go.Figure:
    """A timeline per table: a marker at each schema version, labelled with what changed."""
    changed = frame["schema_version"] > 1
    figure = go.Figure()
    for is_change, rows in ((False, frame[~changed]), (True, frame[changed])):
        figure.add_trace(
            go.Scatter(
                x=rows["committed_at"], y=rows["table"], mode="markers+text",
                name="schema change" if is_change else "table created",
                text=[f"v{version}: {change}" if is_change else f"v{version}"
                      for version, change in zip(rows["schema_version"], rows["change"], strict=True)],
                textposition="top left" if is_change else "top center",
                marker={"size": 14 if is_change else 9, "symbol": "diamond" if is_change else "circle",
                        "color": "#c62828" if is_change else "#90a4ae"},
                customdata=rows[["delta_version", "column_count", "change"]].to_numpy(),
                hovertemplate="%{y} schema %{text}<br>%{x|%Y-%m-%d %H:%M:%S} UTC, Delta version %{customdata[0]}"
                "<br>%{customdata[1]} columns: %{customdata[2]}<extra></extra>",
            )
        )  # fmt: skip
    first, last = frame["committed_at"].min(), frame["committed_at"].max()
    padding = max((last - first) * 0.08, pd.Timedelta(seconds=30))
    figure.update_xaxes(title_text="committed (UTC)", range=[first - padding, last + padding])
    figure.update_yaxes(categoryorder="array", categoryarray=sorted(frame["table"].unique(), reverse=True))
    return styled(figure, height=max(HEIGHT, 40 * frame["table"].nunique() + 120))


def ingestion_lag(frame: pd.DataFrame) -> go.Figure:
    """Per ingestion batch: median, 95th percentile and max of (ingested_at − event_time)."""
    divisor, unit = time_unit(frame["max_seconds"].max())
    figure = go.Figure()
    for column, name, color in (("p50_seconds", "median", "#1565c0"), ("p95_seconds", "95th percentile", "#ef6c00"),
                                ("max_seconds", "max", "#c62828")):  # fmt: skip
        figure.add_trace(
            go.Scatter(
                x=frame["ingested_at"], y=frame[column] / divisor, name=name, mode="lines+markers",
                line={"color": color}, customdata=frame[["readings"]].to_numpy(),
                hovertemplate="batch of %{customdata[0]:,} readings<br>ingested %{x|%Y-%m-%d %H:%M:%S} UTC"
                "<br>%{y:.2f} " + unit + "<extra>" + name + "</extra>",
            )
        )  # fmt: skip
    figure.update_xaxes(title_text="ingested at (UTC)")
    figure.update_yaxes(title_text=f"lag ({unit})", rangemode="tozero")
    return styled(figure)


def _order_updates(figure: go.Figure, frame: pd.DataFrame) -> None:
    """Updates along x in run order (#1, #2, …), not alphabetically."""
    order = frame.drop_duplicates("update_label").sort_values("update_number")["update_label"].tolist()
    figure.update_xaxes(categoryorder="array", categoryarray=order)
