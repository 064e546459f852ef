"""Alert definition files: the shipped ones load, and every mistake names its file, line and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from smart_factory.alerts import AlertDefinition, load_alerts
from smart_factory.alerts.definition import DEFAULT_ALERTS_DIR
from smart_factory.cli import main
from smart_factory.errors import AlertDefinitionError

VALID = """\
name: Hot devices
query: SELECT device_id, max_temperature_celsius FROM smart_factory.gold_device_hourly
condition:
  column: max_temperature_celsius
  aggregation: max
  op: GREATER_THAN
  threshold: 40
schedule:
  cron: "*/2 * * * *"
  timezone: Europe/Berlin
notification:
  retrigger_seconds: 600
  subject: "{{ALERT_NAME}} is {{ALERT_STATUS}}"
"""


def write(folder: Path, text: str, name: str = "alert.yml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_the_shipped_alerts_load() -> None:
    alerts = {alert.name: alert for alert in load_alerts(DEFAULT_ALERTS_DIR)}
    assert set(alerts) == {"Overheating Equipment Alert", "Pipeline Health Alert"}
    overheating = alerts["Overheating Equipment Alert"]
    assert overheating.condition.describe() == "MAX(max_temperature_celsius) > 40"
    assert overheating.condition.empty_result_state == "OK"
    assert overheating.schedule.cron == "*/2 * * * *"
    assert overheating.notification.notify_on_ok
    # Relative to the newest data, so it fires on the simulator's seeded dates too.
    assert "max(hour_start)" in overheating.query and "current_timestamp" not in overheating.query.lower()


def test_a_valid_file_reads_into_canonical_values(tmp_path: Path) -> None:
    alert = AlertDefinition.load(write(tmp_path, VALID))
    assert alert.condition.operator == ">" and alert.condition.aggregation == "MAX"
    assert alert.condition.empty_result_state == "UNKNOWN"  # Databricks' default
    assert alert.notification.retrigger_seconds == 600 and not alert.notification.notify_on_ok
    assert alert.schedule.timezone == "Europe/Berlin"
    assert alert.source_file == str(tmp_path / "alert.yml")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("  op: GREATER_THAN", "  op: =>"), r"alert.yml:6: 'condition.op' must be one of >, GREATER_THAN"),
        (("  aggregation: max", "  aggregation: maximum"), r"alert.yml:5: 'condition.aggregation' must be one of MAX"),
        (("  threshold: 40", "  threshold: hot"), r"alert.yml:7: 'condition.threshold' must be a number with op >"),
        (('  cron: "*/2 * * * *"', '  cron: "every 2 minutes"'), r"alert.yml:9: 'schedule.cron' .* five-field cron"),
        (("  timezone: Europe/Berlin", "  timezone: Mars/Olympus"), r"alert.yml:10: 'schedule.timezone' .*time zone"),
        (("  retrigger_seconds: 600", "  retrigger_seconds: -1"), r"alert.yml:12: 'notification.retrigger_seconds'"),
        (("{{ALERT_STATUS}}", "{{ALERT_STATE}}"), r"alert.yml:13: 'notification.subject' uses unknown variable "
                                                   r"\{\{ALERT_STATE\}\}; the variables are ALERT_STATUS"),
        (("name: Hot devices", "title: Hot devices"), r"alert.yml:1: 'title' is not a field here; known fields: "),
        (("  column: max_temperature_celsius\n", ""), r"alert.yml:3: 'condition.column' is required"),
        (("  threshold: 40\n", ""), r"alert.yml:3: 'condition.threshold' is required with op >"),
    ],
)  # fmt: skip
def test_a_mistake_names_file_line_and_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    text = VALID.replace(*change)
    assert text != VALID
    with pytest.raises(AlertDefinitionError, match=message):
        AlertDefinition.load(write(tmp_path, text))


def test_missing_sections_and_broken_yaml_are_named(tmp_path: Path) -> None:
    with pytest.raises(AlertDefinitionError, match=r"alert.yml:1: 'schedule' is required"):
        AlertDefinition.load(write(tmp_path, VALID.split("schedule:")[0]))
    with pytest.raises(AlertDefinitionError, match=r"alert.yml is not valid YAML"):
        AlertDefinition.load(write(tmp_path, "name: [unclosed"))
    not_a_mapping = "name: a\nquery: SELECT 1\ncondition: 42\nschedule: {cron: '* * * * *'}\n"
    with pytest.raises(AlertDefinitionError, match=r"alert.yml:3: 'condition' must be a mapping of fields, got 42"):
        AlertDefinition.load(write(tmp_path, not_a_mapping))


def test_is_null_takes_no_threshold_and_text_needs_equality(tmp_path: Path) -> None:
    null_check = VALID.replace("op: GREATER_THAN", "op: IS_NULL").replace("  threshold: 40\n", "")
    null_condition = AlertDefinition.load(write(tmp_path, null_check)).condition
    assert null_condition.describe() == "MAX(max_temperature_celsius) IS NULL"
    with pytest.raises(AlertDefinitionError, match="'condition.threshold' must be left out with op IS_NULL"):
        AlertDefinition.load(write(tmp_path, VALID.replace("op: GREATER_THAN", "op: IS_NULL")))
    text_check = VALID.replace("op: GREATER_THAN", "op: '=='").replace("threshold: 40", "threshold: FAILED")
    assert AlertDefinition.load(write(tmp_path, text_check)).condition.threshold == "FAILED"


def test_names_are_unique_and_selectable(tmp_path: Path) -> None:
    write(tmp_path, VALID, "a.yml")
    write(tmp_path, VALID.replace("Hot devices", "Cold devices"), "b.yaml")
    (tmp_path / "notes.txt").write_text("not an alert")
    assert [alert.name for alert in load_alerts(tmp_path, ["Cold devices"])] == ["Cold devices"]
    with pytest.raises(AlertDefinitionError, match=r"No alert named 'Warm devices' in .*'Hot devices', 'Cold devices'"):
        load_alerts(tmp_path, ["Warm devices"])
    write(tmp_path, VALID, "c.yml")
    with pytest.raises(AlertDefinitionError, match=r"c.yml: 'name' 'Hot devices' is already used by .*a.yml"):
        load_alerts(tmp_path)
    with pytest.raises(AlertDefinitionError, match="No alert definitions at"):
        load_alerts(tmp_path / "missing")


def test_validate_prints_one_clear_line_for_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, VALID.replace("op: GREATER_THAN", "op: bigger"))
    assert main(["alerts", "validate", "--alerts-dir", str(tmp_path), "--storage-root", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"smart-factory: error: {tmp_path / 'alert.yml'}:6: 'condition.op' must be one of")
    assert len(error.splitlines()) == 1


def test_validate_lists_alerts_and_destinations(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "validate", "--definitions-only", "--storage-root", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "Overheating Equipment Alert" in output and "cron '*/2 * * * *' (Europe/Berlin)" in output
    assert "2 alert(s), no problems in the definitions (queries not planned)." in output
