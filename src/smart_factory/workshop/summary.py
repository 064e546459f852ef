"""The workshop at a glance: what the batch run prints at the end and the recap notebook shows.

Computed from the tables, the event log and the alert history (never from a notebook's
output), so it says what the lakehouse really holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from pyspark.sql import functions as F

from smart_factory.workshop.alerting import alerts_summary
from smart_factory.workshop.display import Table
from smart_factory.workshop.reconcile import add_rows
from smart_factory.workshop.session import Workshop
from smart_factory.workshop.views import EXPECTATIONS_SCHEMA, rows_written_per_update, table_counts


@dataclass(frozen=True)
class Section:
    title: str
    body: Table | str

    def to_text(self) -> str:
        body = self.body.to_text() if isinstance(self.body, Table) else self.body
        return f"{self.title}\n{body}"

    def _repr_html_(self) -> str:
        body = self.body._repr_html_() if isinstance(self.body, Table) else f"<p>{escape(self.body)}</p>"
        return f"<h4>{escape(self.title)}</h4>{body}"


@dataclass(frozen=True)
class WorkshopSummary:
    sections: list[Section] = field(default_factory=list)

    def to_text(self) -> str:
        return "\n\n".join(section.to_text() for section in self.sections)

    def _repr_html_(self) -> str:
        return "".join(section._repr_html_() for section in self.sections)

    def __repr__(self) -> str:
        return self.to_text()

    def section(self, title: str) -> Section:
        return next(section for section in self.sections if section.title == title)


def expectation_totals(factory: Workshop) -> Table:
    """Every expectation's passed and failed records over all updates (Databricks' event-log query)."""
    results = F.from_json(F.expr("details:flow_progress.data_quality.expectations::string"), EXPECTATIONS_SCHEMA)
    expectations = (
        factory.table("event_log")
        .where("event_type = 'flow_progress'")
        .select(F.explode(results).alias("e"))
        .groupBy(F.col("e.dataset").alias("dataset"), F.col("e.name").alias("expectation"))
        .agg(F.sum("e.passed_records").alias("passed"), F.sum("e.failed_records").alias("failed"))
    )
    return Table.from_dataframe(expectations, ["dataset", "expectation"], limit=None)


def reconciliation(factory: Workshop) -> Table:
    """Rows each table should hold, from the simulator's counts of every landing, against what it holds."""
    expected = add_rows(*(entry["expected_rows"] for entry in factory.progress.landings))
    rows = []
    for name, rows_expected in expected.items():
        actual = factory.count(name) if factory.has_table(name) else 0
        rows.append([name, rows_expected, actual, "yes" if actual == rows_expected else "NO"])
    return Table(["table", "expected", "actual", "match"], rows)


def dashboards_summary(factory: Workshop) -> str:
    """Where the dashboards are: the exported file, if part 6 wrote one, and the live page."""
    serve = "`smart-factory dashboard serve` shows both as a live page"
    if factory.dashboards_file.is_file():
        return f"exported to {factory.dashboards_file.name} in the storage root (opens offline); {serve}"
    return f"not exported yet (06_dashboards.ipynb does); {serve}"


def collect_summary(factory: Workshop) -> WorkshopSummary:
    """The summary of whatever the workshop has built in this storage root so far."""
    if not factory.has_table("bronze_readings"):
        return WorkshopSummary([Section("Tables", "none yet: run 01 and 02 first")])
    sections = [
        Section("Tables and rows", table_counts(factory)),
        Section("Rows written per update (event log)", rows_written_per_update(factory)),
        Section("Expectations, all updates (event log)", expectation_totals(factory)),
        Section("Reconciliation", reconciliation(factory)),
    ]
    sections += [Section("Alerts", alerts_summary(factory)), Section("Dashboards", dashboards_summary(factory))]
    return WorkshopSummary(sections)
