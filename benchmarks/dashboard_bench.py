"""How fast a dashboard refresh answers, and what Spark SQL would cost instead.

The lakehouse is the workshop demo's own (``smart-factory demo``: 2,000 devices, two pipeline
updates; 200 devices and smaller files when quick), built in a temporary folder.

- ``dashboard_cold_refresh_seconds`` (goal < 2): every panel of both dashboards from a fresh
  reader, so each table is read from Delta: what a refresh costs right after an update.
- ``dashboard_warm_refresh_seconds``: the same with the tables cached (no new commit).
- ``dashboard_idle_refresh_seconds``: what the served page does when nothing changed: look up
  the tables' versions and redraw the clock-driven panels only.
- ``dashboard_queries_vs_spark_ratio``: three panel queries (hot devices, rows written per
  update, quarantine reasons) through delta-rs + DuckDB against the same three in Spark SQL
  on the same session's tables; medians of 5, a warm-up run of each side first.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import Measurement, benchmark
from smart_factory.dashboards.datasets import operations, pipeline_health
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.dashboards.render import render_panel
from smart_factory.dashboards.spec import DASHBOARDS
from smart_factory.lakehouse import StoragePaths, get_spark
from smart_factory.workshop.demo import DemoSettings, run_demo

ROUNDS = 5
SPARK_EQUIVALENTS = (
    """SELECT device_id, max_by(temperature_celsius, event_time) AS temperature_celsius
       FROM smart_factory.silver_readings GROUP BY device_id HAVING max_by(is_overheating, event_time)
       ORDER BY temperature_celsius DESC""",
    """SELECT origin.update_id, origin.dataset_name, sum(details:flow_progress.metrics.num_output_rows::bigint)
       FROM smart_factory.event_log
       WHERE event_type = 'flow_progress' AND details:flow_progress.status::string = 'COMPLETED' GROUP BY ALL""",
    """SELECT rule, count(*) AS records FROM smart_factory.quarantine_readings
       LATERAL VIEW explode(broken_rules) AS rule GROUP BY rule ORDER BY records DESC LIMIT 10""",
)
DUCKDB_EQUIVALENTS = (operations.hot_devices, pipeline_health.rows_written, pipeline_health.quarantine_reasons)


@benchmark
def dashboard_refresh(quick: bool) -> list[Measurement]:
    root = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    settings = DemoSettings(storage_root=str(root), master="local[2]")
    if quick:
        settings = DemoSettings(storage_root=str(root), master="local[2]", num_devices=200, num_files=3,
                                readings_per_file=2000)  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()):  # the demo narrates; the runner prints JSON only
        run_demo(settings)
    storage = StoragePaths.from_env(root)
    panels = [panel for dashboard in DASHBOARDS.values() for panel in dashboard.panels]

    def render_all(reader: LakehouseReader) -> None:
        for panel in panels:
            render_panel(panel, reader)

    cold = _median(lambda: render_all(LakehouseReader(storage)))
    warm_reader = LakehouseReader(storage)
    render_all(warm_reader)
    warm = _median(lambda: render_all(warm_reader))
    tables = tuple(sorted({table for panel in panels for table in panel.tables}))
    idle = _median(lambda: (warm_reader.fingerprint(tables), [render_panel(p, warm_reader) for p in panels if p.live]))

    spark = get_spark(storage_root=root)
    duckdb_seconds = _median(lambda: [load(warm_reader) for load in DUCKDB_EQUIVALENTS], warm_up=True)
    spark_seconds = _median(lambda: [spark.sql(query).collect() for query in SPARK_EQUIVALENTS], warm_up=True)
    return [
        Measurement("dashboard_cold_refresh_seconds", round(cold, 3), "s"),
        Measurement("dashboard_warm_refresh_seconds", round(warm, 3), "s"),
        Measurement("dashboard_idle_refresh_seconds", round(idle, 3), "s"),
        Measurement("dashboard_queries_vs_spark_ratio", round(duckdb_seconds, 4), "s",
                    baseline=round(spark_seconds, 4)),
    ]


def _median(run: Callable[[], object], warm_up: bool = False) -> float:
    if warm_up:
        run()
    timings = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        run()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)
