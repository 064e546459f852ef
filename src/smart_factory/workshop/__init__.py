"""The workshop: helpers behind the numbered notebooks, and the batch run behind ``make demo``.

Every notebook starts the same way::

    from smart_factory import workshop
    factory = workshop.setup(globals())          # Spark, the storage root, the parameters
    workshop.require_parts_before(3, factory)    # earlier parts, if this storage root lacks them

then calls a story step (``workshop.land_more_readings(factory)``) and shows an answer
(``workshop.ledger_by_file(factory)``): tables, the pipeline graph, a chart.
"""

from smart_factory.workshop.alerting import (
    alert_history,
    alert_query_result,
    evaluate_alert,
    evaluate_overheating_alert,
    operator_inbox,
    outbox,
    overheating_alert,
)
from smart_factory.workshop.dashboard_views import panel_numbers, panel_query, show_dashboard
from smart_factory.workshop.display import BarChart, GraphView, Table, TextBlock, file_head, source_code
from smart_factory.workshop.exercises import CheckResult, ExerciseNotSolved, check
from smart_factory.workshop.parameters import DEFAULTS, WorkshopParameterError, WorkshopParameters
from smart_factory.workshop.reconcile import expected_rows
from smart_factory.workshop.session import PIPELINE_SETTINGS, Workshop, WorkshopError, setup
from smart_factory.workshop.story import (
    EVERYDAY_FAULTS,
    PARTS,
    export_dashboards,
    land_late_readings,
    land_more_readings,
    land_overheating_burst,
    land_schema_change,
    read_in_rescue_mode,
    require_parts_before,
    run_update,
    start_factory,
)
from smart_factory.workshop.summary import collect_summary, expectation_totals, reconciliation
from smart_factory.workshop.views import (
    bar_chart,
    columns_of,
    compare_counts,
    compare_hours,
    counts,
    expectation_metrics,
    failure_summary,
    humidity_by_landing,
    landing_summary,
    landing_vs_ledger,
    ledger_by_file,
    ledger_by_update,
    pipeline_plan,
    quarantine_by_rule,
    readings_per_hour,
    registry_overview,
    rescued_fields,
    rows_written_per_update,
    table_counts,
    table_head,
    temperature_histogram,
)

__all__ = [
    "DEFAULTS",
    "EVERYDAY_FAULTS",
    "PARTS",
    "PIPELINE_SETTINGS",
    "BarChart",
    "CheckResult",
    "ExerciseNotSolved",
    "GraphView",
    "Table",
    "TextBlock",
    "Workshop",
    "WorkshopError",
    "WorkshopParameterError",
    "WorkshopParameters",
    "alert_history",
    "alert_query_result",
    "bar_chart",
    "check",
    "collect_summary",
    "columns_of",
    "compare_counts",
    "compare_hours",
    "counts",
    "evaluate_alert",
    "evaluate_overheating_alert",
    "expectation_metrics",
    "expectation_totals",
    "expected_rows",
    "export_dashboards",
    "failure_summary",
    "file_head",
    "humidity_by_landing",
    "land_late_readings",
    "land_more_readings",
    "land_overheating_burst",
    "land_schema_change",
    "landing_summary",
    "landing_vs_ledger",
    "ledger_by_file",
    "ledger_by_update",
    "operator_inbox",
    "outbox",
    "overheating_alert",
    "panel_numbers",
    "panel_query",
    "pipeline_plan",
    "quarantine_by_rule",
    "read_in_rescue_mode",
    "readings_per_hour",
    "reconciliation",
    "registry_overview",
    "require_parts_before",
    "rescued_fields",
    "rows_written_per_update",
    "run_update",
    "setup",
    "show_dashboard",
    "source_code",
    "start_factory",
    "table_counts",
    "table_head",
    "temperature_histogram",
]  # fmt: skip
