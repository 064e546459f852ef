"""``smart-factory alerts validate`` plans each alert's query on Spark, naming the file and line of a mistake."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from alert_support import REPO, fresh_schema, save_gold_device_hourly

from smart_factory.alerts import load_alerts
from smart_factory.alerts.planning import alert_query_problems
from smart_factory.cli import main
from smart_factory.lakehouse import StoragePaths
from smart_factory.runtime.event_log import EventLog

OVERHEATING = (REPO / "alerts" / "overheating_equipment.yml").read_text()


@pytest.fixture
def schema(spark, storage: StoragePaths) -> str:
    schema = fresh_schema()
    save_gold_device_hourly(spark, storage, schema, hot={"D-1": 44.0})
    return schema


def alerts_folder(folder: Path, schema: str, **edits: tuple[str, str]) -> Path:
    """The shipped overheating alert reading ``schema``, once per file name, with one text edit each."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, (old, new) in edits.items():
        text = OVERHEATING.replace("smart_factory.", f"{schema}.").replace("Overheating Equipment Alert", name)
        assert old in text, old
        (folder / f"{name}.yml").write_text(text.replace(old, new))
    return folder


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_each_query_is_planned_and_every_mistake_is_named(spark, schema: str, tmp_path: Path) -> None:
    folder = alerts_folder(
        tmp_path / "alerts",
        schema,
        fine=("", ""),
        typo=("FROM", "FORM"),
        no_table=("gold_device_hourly\n", "gold_device_daily\n"),
        no_column=("column: max_temperature_celsius", "column: max_temp"),
        text_value=("column: max_temperature_celsius", "column: device_id"),
    )
    dropping = folder / "dropping.yml"
    dropping.write_text(
        OVERHEATING.replace("Overheating Equipment Alert", "dropping").replace(
            OVERHEATING[OVERHEATING.index("query: |") : OVERHEATING.index("condition:")],
            f"query: DROP TABLE {schema}.gold_device_hourly\n",
        )
    )
    alerts = load_alerts(folder)

    problems = alert_query_problems(spark, alerts)

    def problem_of(name: str) -> str:
        found = [problem for problem in problems if problem.startswith(str(folder / f"{name}.yml"))]
        assert len(found) == 1, (name, problems)
        return found[0]

    assert len(problems) == 5  # the fine one has none
    query_line = line_of(folder / "typo.yml", "query:")
    column_line = line_of(folder / "no_column.yml", "column: max_temp")
    assert problem_of("typo").startswith(
        f"{folder / 'typo.yml'}:{query_line}: 'query' does not parse: [PARSE_SYNTAX_ERROR] Syntax error at or near"
    )
    assert problem_of("no_table").startswith(
        f"{folder / 'no_table.yml'}:{query_line}: 'query' cannot be planned against the tables: "
        "[TABLE_OR_VIEW_NOT_FOUND]"
    )
    assert problem_of("no_column") == (
        f"{folder / 'no_column.yml'}:{column_line}: 'condition.column' 'max_temp' is not a column of the "
        "query's result; it returns device_id, hour_start, max_temperature_celsius, avg_temperature_celsius, readings"
    )
    assert problem_of("text_value") == (
        f"{folder / 'text_value.yml'}:{column_line}: MAX(device_id) is string, not a number to compare with 40"
    )
    assert problem_of("dropping") == f"{dropping}:{query_line}: 'query' must be a query (SELECT …); an alert only reads"
    assert spark.table(f"{schema}.gold_device_hourly").count() == 24  # planning ran nothing: the table is whole


def test_the_shipped_alerts_plan_against_the_pipelines_tables(spark, storage: StoragePaths, schema: str) -> None:
    log = EventLog(spark, str(storage.table(f"{schema}.event_log")), "pipeline", "Smart_Factory", "update-1", schema)
    log.emit("create_update", "Update started.", {"cause": "API_CALL"})
    log.flush()  # written by another process, as far as this session's catalog knows
    shipped = [replace(alert, query=alert.query.replace("smart_factory.", f"{schema}.")) for alert in load_alerts()]

    assert alert_query_problems(spark, shipped) == []


def test_validate_reports_the_problems_and_fails(spark, storage: StoragePaths, schema: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    folder = alerts_folder(tmp_path / "alerts", schema, fine=("", ""))
    arguments = ["alerts", "validate", "--alerts-dir", str(folder), "--storage-root", str(storage.root)]
    assert main(arguments) == 0
    assert "1 alert(s), no problems found." in capsys.readouterr().out

    alerts_folder(folder, schema, no_column=("column: max_temperature_celsius", "column: max_temp"))
    assert main(arguments) == 2
    error = capsys.readouterr().err
    assert error.startswith("smart-factory: error: The alerts cannot be evaluated:\n  - ")
    assert "'condition.column' 'max_temp' is not a column of the query's result" in error
