"""The notebooks' "your turn" exercises: checks that say, in plain words, what is right and what is missing.

Each check looks at what the learner's code produced — the tables, the event log, a query's
result — never at the code's text, so any correct answer passes::

    workshop.check("registry_drop_rule", factory)       # ✓ / ✗ per point, and a hint

In a batch run (``solutions`` on) the worked solutions have run, so a check that does not
pass raises :class:`ExerciseNotSolved`: a solution that stopped working fails the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from smart_factory.alerts.query import run_alert_query
from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse import DEVICE_REGISTRY_LANDING, SCHEMA
from smart_factory.workshop.alerting import saved_alert
from smart_factory.workshop.session import Workshop


class ExerciseNotSolved(SmartFactoryError):
    """A batch run's worked solution no longer passes its exercise's check."""


@dataclass
class CheckResult:
    """The points an exercise checks, each passed or not, and what to try next."""

    exercise: str
    points: list[tuple[bool, str]] = field(default_factory=list)
    hint: str = ""

    def expect(self, passed: bool, text: str) -> bool:
        self.points.append((bool(passed), text))
        return bool(passed)

    @property
    def passed(self) -> bool:
        return bool(self.points) and all(ok for ok, _ in self.points)

    def _lines(self) -> list[str]:
        verdict = "Solved" if self.passed else "Not yet"
        lines = [f"{verdict}: {self.exercise}"]
        lines += [f"  {'✓' if ok else '✗'} {text}" for ok, text in self.points]
        if not self.passed and self.hint:
            lines.append(f"  Hint: {self.hint}")
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._lines())

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b35900"
        head, *rest = self._lines()
        items = "".join(f"<li style='list-style:none'>{escape(line.strip())}</li>" for line in rest)
        return f"<div><b style='color:{colour}'>{escape(head)}</b><ul>{items}</ul></div>"


Check = Callable[[Workshop, dict[str, Any]], CheckResult]
_CHECKS: dict[str, Check] = {}


def exercise(name: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        _CHECKS[name] = check
        return check

    return register


def check(name: str, factory: Workshop, namespace: dict[str, Any] | None = None) -> CheckResult:
    """Run exercise ``name``'s check. ``namespace`` (the notebook's ``globals()``) holds answers kept in variables."""
    if name not in _CHECKS:
        raise SmartFactoryError(f"no exercise called {name!r}; the exercises are {', '.join(sorted(_CHECKS))}")
    result = _CHECKS[name](factory, namespace or {})
    if factory.parameters.solutions and not result.passed:
        raise ExerciseNotSolved(f"the worked solution of {name} does not pass its check:\n{result!r}")
    return result


def _kept_result(result: CheckResult, namespace: dict[str, Any], name: str) -> DataFrame | None:
    """The DataFrame a ``%%sql <name>`` cell kept, noted as the check's first point."""
    answer = namespace.get(name)
    return answer if result.expect(isinstance(answer, DataFrame), f"a DataFrame named {name} exists") else None


# --- shared looks at the event log --------------------------------------------------------------


def _event_log(factory: Workshop) -> DataFrame:
    return factory.spark.table(f"{SCHEMA}.event_log")


def latest_update_id(factory: Workshop) -> str | None:
    row = (
        _event_log(factory).where("event_type = 'create_update'")
        .orderBy(F.col("timestamp").desc(), F.col("sequence.control_plane_seq_no").desc()).first()
    )  # fmt: skip
    return row["origin"]["update_id"] if row else None


def declared_rules(factory: Workshop, update_id: str, dataset: str) -> list[dict[str, str]]:
    """The expectations ``dataset`` was defined with in one update (its ``flow_definition`` event)."""
    rows = (
        _event_log(factory)
        .where(F.col("origin.update_id") == update_id)
        .where("event_type = 'flow_definition'")
        .where(F.col("origin.dataset_name") == dataset)
        .selectExpr("CAST(details AS STRING) AS details").collect()
    )  # fmt: skip
    return [rule for row in rows for rule in json.loads(row["details"])["flow_definition"]["expectations"]]


def latest_rule_metrics(factory: Workshop, dataset: str, rule: str) -> tuple[int, int] | None:
    """(passed, failed) records of ``rule`` on ``dataset`` the last time it was checked (its newest ``flow_progress``).

    A materialized view whose inputs did not change is not recomputed, so its rules are
    counted in the update that last refreshed it, not necessarily the latest one.
    """
    rows = (
        _event_log(factory)
        .where("event_type = 'flow_progress'")
        .where(F.col("origin.dataset_name") == dataset)
        .orderBy(F.col("timestamp").desc(), F.col("sequence.control_plane_seq_no").desc())
        .selectExpr("CAST(details AS STRING) AS details").collect()
    )  # fmt: skip
    for row in rows:
        quality = json.loads(row["details"])["flow_progress"].get("data_quality") or {}
        for metric in quality.get("expectations") or []:
            if metric.get("name") == rule:
                return int(metric.get("passed_records") or 0), int(metric.get("failed_records") or 0)
    return None


# --- part 2 -----------------------------------------------------------------------------------


@exercise("registry_drop_rule")
def _registry_drop_rule(factory: Workshop, namespace: dict[str, Any]) -> CheckResult:
    result = CheckResult("drop registry rows without a device id",
                         hint="add @dlt.expect_or_drop(\"device_id_present\", \"device_id IS NOT NULL\") above "
                              "`def device_registry():`, run the cell, then run the update again.")  # fmt: skip
    update_id = latest_update_id(factory)
    rules = declared_rules(factory, update_id, "device_registry") if update_id else []
    drop_rules = [rule for rule in rules if rule["action"] == "drop" and "device_id" in rule["constraint"]]
    if not result.expect(drop_rules, "device_registry has an expect_or_drop rule on device_id in the latest update"):
        return result
    landed_without_id = (
        factory.spark.read.json(DEVICE_REGISTRY_LANDING).where("device_id IS NULL").count()
    )
    table = factory.spark.table(f"{SCHEMA}.device_registry")
    result.expect(table.where("device_id IS NULL").count() == 0, "device_registry holds no row without a device id")
    metrics = latest_rule_metrics(factory, "device_registry", drop_rules[0]["name"])
    dropped = metrics[1] if metrics else None
    result.expect(
        dropped == landed_without_id,
        f"the event log counts {dropped} dropped row(s) for rule {drop_rules[0]['name']}; "
        f"the landing zone holds {landed_without_id} registry row(s) without an id",
    )
    return result


# --- part 3 -----------------------------------------------------------------------------------


@exercise("failed_update_query")
def _failed_update_query(factory: Workshop, namespace: dict[str, Any]) -> CheckResult:
    result = CheckResult(
        "find the failed update and its cause in the event log",
        hint="start the cell with %%sql failed_updates and select origin.update_id and error from "
        "smart_factory.event_log, keeping the update_progress events of level ERROR.",
    )
    answer = _kept_result(result, namespace, "failed_updates")
    if answer is None:
        return result
    rows = [row.asDict(recursive=True) for row in answer.collect()]
    failed = {
        row["origin"]["update_id"]
        for row in _event_log(factory).where("event_type = 'update_progress' AND level = 'ERROR'").collect()
    }
    texts = [" ".join(str(value) for value in row.values()) for row in rows]
    result.expect(len(rows) == len(failed), f"it has one row per failed update ({len(failed)}), got {len(rows)}")
    result.expect(any(update_id in text for text in texts for update_id in failed), "each row names the update id")
    result.expect(any("vibration_normal" in text for text in texts), "the error names the rule that stopped it")
    return result


# --- part 4 -----------------------------------------------------------------------------------


@exercise("humidity_in_silver")
def _humidity_in_silver(factory: Workshop, namespace: dict[str, Any]) -> CheckResult:
    result = CheckResult(
        "carry humidity_percent through to silver",
        hint='add "try_cast(humidity_percent AS double) AS humidity_percent" to readings_typed\'s selectExpr, '
        "run the cell, then the full-refresh update cell.",
    )
    silver = factory.spark.table(f"{SCHEMA}.silver_readings")
    types = dict(silver.dtypes)
    if not result.expect(types.get("humidity_percent") == "double", "silver_readings has a DOUBLE humidity_percent"):
        return result
    # The files of the new firmware are those whose bronze rows carry a humidity.
    firmware_files = (
        factory.spark.table(f"{SCHEMA}.bronze_readings").where("humidity_percent IS NOT NULL")
        .select("source_file").distinct()
    )  # fmt: skip
    from_firmware = silver.join(firmware_files, "source_file")
    with_humidity = from_firmware.where("humidity_percent IS NOT NULL").count()
    total = from_firmware.count()
    result.expect(
        total > 0 and with_humidity == total,
        f"every silver reading from the new firmware's files has it ({with_humidity:,} of {total:,})",
    )
    older_with_humidity = silver.where("humidity_percent IS NOT NULL").join(firmware_files, "source_file", "left_anti")
    result.expect(older_with_humidity.count() == 0, "older readings, which had no humidity, read null")
    return result


# --- part 5 -----------------------------------------------------------------------------------

VIBRATION_LIMIT_HZ = 80


@exercise("vibration_alert")
def _vibration_alert(factory: Workshop, namespace: dict[str, Any]) -> CheckResult:
    result = CheckResult(
        "an alert on machines vibrating over 80 Hz in the last hour of readings",
        hint="query smart_factory.silver_readings for each device's max(vibration_hz) AS max_vibration_hz where "
        "event_time >= (SELECT max(event_time) FROM smart_factory.silver_readings) - INTERVAL 1 HOUR, keep those "
        "over 80 (HAVING), and check max_vibration_hz with op '>' and threshold 80.",
    )
    try:
        alert = saved_alert(factory, "vibration")
    except SmartFactoryError:
        result.expect(False, "the %%alert vibration cell has run")
        return result
    result.expect(alert.condition.column == "max_vibration_hz" and alert.condition.operator == ">"
                  and alert.condition.threshold == VIBRATION_LIMIT_HZ,
                  "its condition is max_vibration_hz > 80")  # fmt: skip
    outcome = run_alert_query(factory.spark, alert, shown_rows=10_000)
    if not result.expect(outcome.error is None and "device_id" in outcome.columns,
                         f"its query runs and returns device_id ({outcome.error or 'ok'})"):  # fmt: skip
        return result
    silver = factory.spark.table(f"{SCHEMA}.silver_readings")
    newest = silver.agg(F.max("event_time")).first()[0]
    expected = {
        row.device_id for row in silver.where(F.col("event_time") >= F.lit(newest) - F.expr("INTERVAL 1 HOUR"))
        .groupBy("device_id").agg(F.max("vibration_hz").alias("top"))
        .where(F.col("top") > VIBRATION_LIMIT_HZ).collect()
    }  # fmt: skip
    found = {row[outcome.columns.index("device_id")] for row in outcome.rows}
    result.expect(found == expected, f"it returns the {len(expected)} device(s) over 80 Hz in the last hour "
                  f"(got {len(found)}{', some others' if found - expected else ''})")  # fmt: skip
    result.expect(outcome.state == "TRIGGERED", f"evaluated now, it is TRIGGERED (got {outcome.state})")
    return result


# --- part 6 -----------------------------------------------------------------------------------


@exercise("vibration_panel")
def _vibration_panel(factory: Workshop, namespace: dict[str, Any]) -> CheckResult:
    result = CheckResult(
        "a panel of vibration anomalies per plant",
        hint="start the cell with %%sql vibration_by_plant; count silver_readings rows with vibration_hz > 80, "
        "grouped by plant, as readings_over_80hz.",
    )
    answer = _kept_result(result, namespace, "vibration_by_plant")
    if answer is None:
        return result
    if not result.expect({"plant", "readings_over_80hz"} <= set(answer.columns),
                         "it has the columns plant and readings_over_80hz"):  # fmt: skip
        return result
    got = {row.plant: row.readings_over_80hz for row in answer.collect()}
    silver = factory.spark.table(f"{SCHEMA}.silver_readings")
    expected = {
        row.plant: row["count"]
        for row in silver.where(F.col("vibration_hz") > VIBRATION_LIMIT_HZ).groupBy("plant").count().collect()
    }
    result.expect(got == expected, f"its counts match silver's readings over 80 Hz in each of the "
                  f"{len(expected)} plants (total {sum(expected.values()):,})")  # fmt: skip
    return result
