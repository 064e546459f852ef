"""The notebooks' helpers that need no Spark: parameters, tables, charts, reconciliation, progress."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator
from smart_factory.workshop.display import BarChart, Table, TextBlock, file_head, format_value
from smart_factory.workshop.parameters import DEFAULTS, WorkshopParameterError, WorkshopParameters
from smart_factory.workshop.reconcile import add_rows, expected_rows
from smart_factory.workshop.session import WorkshopProgress


def test_parameters_come_from_a_notebook_namespace_and_ignore_other_names() -> None:
    namespace = {"num_devices": 50, "seed": 7, "factory": object(), "__name__": "__main__"}
    parameters = WorkshopParameters.from_namespace(namespace)
    assert (parameters.num_devices, parameters.seed, parameters.num_files) == (50, 7, DEFAULTS.num_files)
    assert parameters.file_interval == dt.timedelta(minutes=DEFAULTS.minutes_per_file)


def test_parameter_errors_name_the_parameter() -> None:
    with pytest.raises(WorkshopParameterError, match="unknown parameter num_machines.*num_devices"):
        WorkshopParameters.from_overrides({"num_machines": 5})
    with pytest.raises(WorkshopParameterError, match="num_devices must be a whole number"):
        WorkshopParameters(num_devices="many")
    with pytest.raises(WorkshopParameterError, match="num_files must be at least 1"):
        WorkshopParameters(num_files=0)
    with pytest.raises(WorkshopParameterError, match="seed must be a whole number"):
        WorkshopParameters(seed=True)
    assert WorkshopParameters(num_devices="40").num_devices == 40  # as text from a command line


def test_values_are_formatted_for_people() -> None:
    assert format_value(1234567) == "1,234,567"
    assert format_value(2.0) == "2.00"
    assert format_value(None) == "null"
    assert format_value(False) == "false"
    assert format_value(dt.datetime(2026, 1, 5, 8, 0, 1, 545000)) == "2026-01-05 08:00:01.545"
    assert format_value(dt.datetime(2026, 1, 5, 9)) == "2026-01-05 09:00:00"
    assert format_value(["a", 1]) == "[a, 1]"


def test_a_table_renders_as_aligned_text_and_as_escaped_html() -> None:
    table = Table(["table", "rows", "note"], [["bronze", 9093, "<b>"], ["silver", None, "ok"]], caption="Counts")
    assert table.to_text().splitlines() == [
        "Counts",
        "table    rows  note",
        "------  -----  ----",
        "bronze  9,093  <b>",
        "silver   null  ok",
    ]
    html = table._repr_html_()
    assert "<caption" in html and "&lt;b&gt;" in html and '<td style="text-align:right">9,093</td>' in html
    assert table.column("rows") == [9093, None]


def test_a_bar_chart_marks_bars_over_the_threshold() -> None:
    chart = BarChart([(39.0, 10), (40.0, 2)], "Readings", "temperature", threshold=40.0)
    svg = chart._repr_html_()
    assert svg.startswith("<svg") and svg.count("<rect") == 2 and svg.count("#c0392b") == 1
    assert repr(chart).splitlines()[1:] == ["     39 " + "#" * 40 + " 10", "     40 " + "#" * 8 + " 2"]


def test_text_blocks_show_a_file_head_as_a_code_block(tmp_path: Path) -> None:
    file = tmp_path / "readings.json"
    file.write_text('{"a": 1}\n' + '{"b": "' + "x" * 300 + '"}\n' + '{"c": 3}\n{"d": 4}\n')
    head = file_head(file, lines=3, width=20)
    assert repr(head).splitlines() == ['{"a": 1}', '{"b": "xxxxxxxxxxxx…', '{"c": 3}']
    assert head._repr_markdown_().startswith("```json\n")
    assert TextBlock("a ``` b")._repr_markdown_().startswith("````")


def test_expected_rows_follow_the_simulators_counts(tmp_path: Path) -> None:
    simulator = SensorSimulator(DeviceRegistry.generate(30, seed=3), seed=3)
    manifest = simulator.land_batches(
        tmp_path, num_files=2, readings_per_file=200, scenario=Scenario(malformed=True, duplicate_share=0.05)
    )
    totals = manifest.totals
    rows = expected_rows(manifest)
    garbled = totals.truncated_lines + totals.wrong_type_lines
    assert rows["bronze_readings"] == totals.readings + totals.duplicate_records + garbled + 1  # + the not-JSON file
    assert rows["silver_readings"] == totals.readings - totals.readings_without_device_id
    assert rows["bronze_readings"] - rows["silver_readings"] - rows["quarantine_readings"] == totals.duplicate_records
    assert add_rows(rows, rows)["silver_readings"] == 2 * rows["silver_readings"]


def test_progress_is_kept_beside_the_data(tmp_path: Path) -> None:
    progress = WorkshopProgress(tmp_path / "workshop" / "progress.json")
    assert progress.parts_done == [] and progress.landings == []
    manifest = SensorSimulator(DeviceRegistry.generate(10, seed=1), seed=1).land_batches(
        tmp_path / "landing", num_files=1, readings_per_file=50
    )
    progress.note_landing(1, "first readings", manifest)
    progress.mark_done(2)
    progress.mark_done(1)
    progress.mark_done(2)
    reloaded = WorkshopProgress(tmp_path / "workshop" / "progress.json")
    assert reloaded.parts_done == [1, 2]
    (landing,) = reloaded.landings
    assert landing["what"] == "first readings" and landing["files"] == [manifest.files[0].name]
    assert landing["expected_rows"] == expected_rows(manifest)


def test_the_solutions_parameter_is_a_flag_from_the_notebook_or_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("SMART_FACTORY_SOLUTIONS", raising=False)
    assert WorkshopParameters().solutions is False
    assert WorkshopParameters(solutions="true").solutions is True
    monkeypatch.setenv("SMART_FACTORY_SOLUTIONS", "1")
    assert WorkshopParameters().solutions is True and WorkshopParameters(solutions=False).solutions is False
    with pytest.raises(WorkshopParameterError, match="solutions must be True or False"):
        WorkshopParameters(solutions="maybe")


def test_a_later_part_refuses_parameters_its_factory_was_not_made_with(tmp_path: Path) -> None:
    from smart_factory.lakehouse import StoragePaths
    from smart_factory.workshop.session import Workshop
    from smart_factory.workshop.story import require_parts_before

    storage = StoragePaths(tmp_path)
    made = Workshop(WorkshopParameters(num_devices=40), None, storage)  # type: ignore[arg-type]  # no Spark needed
    made.progress.note_factory_parameters(made.parameters)
    for part in (1, 2, 3):
        made.progress.mark_done(part)
    with pytest.raises(WorkshopParameterError, match=r"num_devices is 300, but this storage root's factory was "
                                                    r"made with 40 by part 1, and part 4 continues it"):  # fmt: skip
        require_parts_before(4, Workshop(WorkshopParameters(), None, storage))  # type: ignore[arg-type]
    # The same parameters continue the factory (nothing to recreate: parts 1-3 are done, cells are saved).
    made.pipeline_cells.folder.mkdir(parents=True)
    (made.pipeline_cells.folder / "bronze.py").write_text("# a saved cell\n")
    require_parts_before(4, made)
