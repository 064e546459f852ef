"""The two dashboards, defined once: which panels, in which order, from which data and figure.

The notebook helper, the served page and the HTML export all render from these.

    from smart_factory.dashboards.spec import DASHBOARDS
    [panel.title for panel in DASHBOARDS["operations"].panels]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from smart_factory.dashboards.datasets import alerts as alerts_data
from smart_factory.dashboards.datasets import operations as operations_data
from smart_factory.dashboards.datasets import pipeline_health as health_data
from smart_factory.dashboards.figures import operations as operations_figures
from smart_factory.dashboards.figures import pipeline_health as health_figures
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.errors import DashboardError


@dataclass(frozen=True)
class Panel:
    """One chart or table: where its data comes from and how it is drawn."""

    key: str
    title: str
    description: str
    tables: tuple[str, ...]  # a new commit to any of these refreshes the panel
    load: Callable[[LakehouseReader], pd.DataFrame]
    draw: Callable[[pd.DataFrame], go.Figure]
    empty_message: str  # shown when the data has no rows
    wide: bool = False  # spans the page's full width
    live: bool = False  # changes with the clock too (ages, running updates): redrawn on every refresh


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    description: str
    panels: tuple[Panel, ...]

    @property
    def path(self) -> str:
        """Where the served page shows it."""
        return f"/{self.name}"

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(sorted({table for panel in self.panels for table in panel.tables}))

    def panel(self, key: str) -> Panel:
        return next(panel for panel in self.panels if panel.key == key)


OPERATIONS = Dashboard(
    name="operations",
    title="Smart Factory Operations",
    description="Temperatures across the plants, the machines running hot, alerts, and how fresh the data is.",
    panels=(
        Panel("freshness", "Data freshness", "How long ago the newest reading was taken, ingested and processed.",
              ("silver_readings", "event_log"), operations_data.freshness, operations_figures.freshness,
              "No readings in silver_readings yet.", wide=True, live=True),
        Panel("temperature", "Temperature by plant, floor and line",
              "Hourly average and maximum (gold_plant_line_hourly); the buttons switch between plants, floors "
              "and lines, the legend hides or shows one.",
              ("gold_plant_line_hourly",), operations_data.temperature_by_location,
              operations_figures.temperature_by_location, "No hourly aggregates yet.", wide=True),
        Panel("hot_devices", "Devices running hot now",
              "Devices whose latest reading is over the overheating threshold, hottest first.",
              ("silver_readings",), operations_data.hot_devices, operations_figures.hot_devices,
              "No device is running hot: every device's latest reading is under the threshold."),
        Panel("heatmap", "Max temperature per device and hour",
              f"The {operations_data.HEATMAP_DEVICES} hottest devices of the last "
              f"{operations_data.HEATMAP_HOURS} hours of data, hottest on top.",
              ("gold_device_hourly",), operations_data.device_hour_max, operations_figures.device_hour_heatmap,
              "No hourly device aggregates yet."),
        Panel("vibration", "Vibration vs temperature",
              "Each point is one device in one hour (gold_device_hourly), coloured by the hour's maximum.",
              ("gold_device_hourly",), operations_data.vibration_vs_temperature,
              operations_figures.vibration_vs_temperature, "No hourly device aggregates yet.", wide=True),
        Panel("alerts", "Alert states", "Each alert's latest evaluation (alert_history), triggered ones first.",
              (alerts_data.ALERT_HISTORY,), alerts_data.alert_states, operations_figures.alert_states,
              "No alert has been evaluated yet."),
        Panel("notifications", "Recent notifications",
              f"The last {alerts_data.RECENT_NOTIFICATIONS} evaluations that sent a notification.",
              (alerts_data.ALERT_HISTORY,), alerts_data.recent_notifications,
              operations_figures.recent_notifications, "No notification has been sent yet."),
    ),
)  # fmt: skip

PIPELINE_HEALTH = Dashboard(
    name="pipeline-health",
    title="Pipeline Health",
    description="The pipeline's updates, data quality and schema, from its event log and tables.",
    panels=(
        Panel("updates", "Updates", f"The last {health_data.RECENT_UPDATES} updates: duration, coloured by state.",
              ("event_log",), health_data.updates, health_figures.updates, "The event log has no update yet.",
              live=True),
        Panel("rows_written", "Rows written per dataset", "Rows each dataset's flows wrote in each update.",
              ("event_log",), health_data.rows_written, health_figures.rows_written,
              "No flow has completed yet."),
        Panel("expectations", "Expectations per rule",
              "Records failing each data-quality rule per update, in numbers and as a share of those checked.",
              ("event_log",), health_data.expectation_results, health_figures.expectations,
              "No expectation has been checked yet.", wide=True),
        Panel("quarantine_volume", "Quarantine volume",
              "Records sent to quarantine_readings per update, and their share of the validated records.",
              ("event_log",), health_data.quarantine_volume, health_figures.quarantine_volume,
              "No record has been validated yet."),
        Panel("quarantine_reasons", "Top quarantine reasons",
              "The rules quarantined records broke most often (a record can break several).",
              (health_data.QUARANTINE_DATASET,), health_data.quarantine_reasons, health_figures.quarantine_reasons,
              "Nothing has been quarantined."),
        Panel("schema_versions", "Schema versions",
              "Each table's schema versions from its Delta log, and the columns each change added or removed.",
              health_data.PIPELINE_TABLES, health_data.schema_versions, health_figures.schema_versions,
              "No table has a schema yet."),
        Panel("ingestion_lag", "Ingestion lag",
              "Per ingestion batch: how long after its event time a reading reached silver "
              "(the simulator's clock may be far from the wall clock).",
              ("silver_readings",), health_data.ingestion_lag, health_figures.ingestion_lag,
              "No readings in silver_readings yet."),
    ),
)  # fmt: skip

DASHBOARDS: dict[str, Dashboard] = {dashboard.name: dashboard for dashboard in (OPERATIONS, PIPELINE_HEALTH)}


def get_dashboard(name: str) -> Dashboard:
    """The dashboard called ``name`` (``operations`` or ``pipeline-health``)."""
    try:
        return DASHBOARDS[name.replace("_", "-")]
    except KeyError:
        raise DashboardError(f"There is no dashboard {name!r}; choose one of: {', '.join(DASHBOARDS)}.") from None
