"""The dashboards on the real pipeline's tables: panel data against Spark, the export, and the
served page in headless Chromium (with screenshots in test-artifacts/dashboards/)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from dashboard_support import dashboard_server, utc, write_table
from pipeline_support import REPO, smart_factory_pipeline

from smart_factory.cli import main
from smart_factory.dashboards.datasets import operations, pipeline_health
from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.dashboards.spec import OPERATIONS, PIPELINE_HEALTH
from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator

ARTIFACTS = REPO / "test-artifacts" / "dashboards"


@dataclass(frozen=True)
class Factory:
    storage: StoragePaths
    target: str
    overheating_devices: tuple[str, ...]

    def reader(self) -> LakehouseReader:
        return LakehouseReader(self.storage, self.target)


@pytest.fixture(scope="module")
def factory(spark, storage: StoragePaths, tmp_path_factory: pytest.TempPathFactory) -> Factory:
    """Two pipeline updates on a small factory: the second brings a new column and hot machines."""
    folder = tmp_path_factory.mktemp("dashboards")
    landing, registry_folder = folder / "landing", folder / "registry"
    registry = DeviceRegistry.generate(num_devices=40, seed=11)
    registry.save(registry_folder)
    simulator = SensorSimulator(registry, seed=11)
    simulator.land_batches(landing, num_files=2, readings_per_file=300, scenario=Scenario(malformed=True))
    pipeline = smart_factory_pipeline(spark, folder, landing, registry_folder)
    assert pipeline.run().state == "COMPLETED"
    second = simulator.land_batches(landing, num_files=1, readings_per_file=300,
                                    scenario=Scenario(schema_change=True, overheating_devices=3))  # fmt: skip
    update = pipeline.run()
    assert update.state == "COMPLETED", update.error
    return Factory(storage, pipeline.settings.target, tuple(second.overheating_device_ids))


def test_panel_data_matches_what_spark_computes(spark, factory: Factory) -> None:
    reader, target = factory.reader(), factory.target

    # Rows written per update and dataset, as the event log records them.
    spark_rows = {
        (r.update, r.dataset): r.rows
        for r in spark.sql(f"""
            SELECT origin.update_id AS update, origin.dataset_name AS dataset,
                   sum(details:flow_progress.metrics.num_output_rows::bigint) AS rows
            FROM {target}.event_log
            WHERE event_type = 'flow_progress' AND details:flow_progress.status::string = 'COMPLETED'
            GROUP BY ALL""").collect()
    }  # fmt: skip
    updates = pipeline_health.updates(reader)
    assert updates["state"].tolist() == ["COMPLETED", "COMPLETED"]
    update_ids = dict(zip(updates["update_label"], updates["update_id"], strict=True))
    written = pipeline_health.rows_written(reader)
    assert {(update_ids[r.update_label], r.dataset): r.rows_written for r in written.itertuples()} == spark_rows

    # Expectation results summed over updates; the failure rate is failed / checked.
    spark_failed = {
        r.rule: (r.passed, r.failed)
        for r in spark.sql(f"""
            SELECT e.name AS rule, sum(e.passed_records) AS passed, sum(e.failed_records) AS failed
            FROM {target}.event_log LATERAL VIEW explode(from_json(
                details:flow_progress.data_quality.expectations::string,
                'array<struct<name:string,passed_records:bigint,failed_records:bigint>>')) AS e
            WHERE event_type = 'flow_progress' GROUP BY e.name""").collect()
    }  # fmt: skip
    results = pipeline_health.expectation_results(reader)
    totals = results.groupby("rule")[["passed_records", "failed_records"]].sum()
    assert {rule: (row.passed_records, row.failed_records) for rule, row in totals.iterrows()} == spark_failed
    first = results.iloc[0]
    assert first.failed_percent == pytest.approx(100 * first.failed_records / (first.passed_records
                                                                               + first.failed_records), abs=1e-3)

    # Quarantine: per-update volume from the event log, reasons from the table.
    volume = pipeline_health.quarantine_volume(reader)
    assert volume["quarantined_rows"].sum() == spark.table(f"{target}.quarantine_readings").count()
    spark_reasons = {r.rule: r.n for r in spark.sql(
        f"SELECT rule, count(*) AS n FROM {target}.quarantine_readings LATERAL VIEW explode(broken_rules) AS rule "
        "GROUP BY rule").collect()}  # fmt: skip
    assert dict(pipeline_health.quarantine_reasons(reader)[["rule", "records"]].values) == spark_reasons

    # Hot devices: each device's latest reading, over the threshold.
    spark_hot = {r.device_id: r.temperature for r in spark.sql(f"""
        SELECT device_id, max_by(temperature_celsius, event_time) AS temperature
        FROM {target}.silver_readings GROUP BY device_id
        HAVING max_by(is_overheating, event_time)""").collect()}  # fmt: skip
    hot = operations.hot_devices(reader)
    assert dict(hot[["device_id", "temperature_celsius"]].values) == spark_hot
    assert hot["temperature_celsius"].is_monotonic_decreasing
    assert set(factory.overheating_devices) & set(hot["device_id"])  # the scenario's machines are among them

    # Plant-level hourly maximum, from gold.
    spark_max = {(r.plant, r.hour.replace(tzinfo=None)): r.peak for r in spark.sql(
        f"SELECT plant, hour_start AS hour, max(max_temperature_celsius) AS peak "
        f"FROM {target}.gold_plant_line_hourly GROUP BY ALL").collect()}  # fmt: skip
    plants = operations.temperature_by_location(reader).query("level == 'plant'")
    dashboard_max = {(r.plant, r.hour_start.to_pydatetime()): r.max_temperature_celsius for r in plants.itertuples()}
    assert dashboard_max == spark_max

    # The new column Auto Loader added in the second update is a bronze schema version.
    versions = pipeline_health.schema_versions(reader).query("table == 'bronze_readings'")
    assert versions["change"].tolist()[-1] == "+humidity_percent"
    # Every silver reading is in exactly one ingestion batch.
    assert pipeline_health.ingestion_lag(reader)["readings"].sum() == spark.table(f"{target}.silver_readings").count()
    newest = spark.sql(f"SELECT max(event_time) AS t FROM {target}.silver_readings").first().t
    freshness = operations.freshness(reader)
    reading = freshness.iloc[0]
    assert reading["what"].startswith("Newest reading (event time; the data's clock is")  # simulated: dated back
    assert reading["at"].to_pydatetime() == newest.replace(tzinfo=None)
    assert freshness["what"].iloc[-1] == "Last pipeline update: COMPLETED"


def test_export_is_one_file_that_opens_offline(factory: Factory, tmp_path: Path) -> None:
    output = tmp_path / "mail" / "dashboards.html"
    assert main(["dashboard", "export", "--storage-root", str(factory.storage.root), "--schema", factory.target,
                 "--out", str(output)]) == 0  # fmt: skip
    page = output.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)  # plotly.js is inlined, nothing to fetch
    assert "Plotly.newPlot" in page and len(page) > 3_000_000
    for panel in OPERATIONS.panels + PIPELINE_HEALTH.panels:
        assert f'id="panel-{panel.key}"' in page and panel.title in page


@pytest.fixture
def served(factory: Factory) -> Iterator[str]:
    """``smart-factory dashboard serve`` in a child process on a free port; yields its base URL."""
    with dashboard_server(factory.storage.root, "--refresh-seconds", "1", "--schema", factory.target) as (url, _):
        yield url


@pytest.mark.slow
def test_served_dashboards_render_and_refresh_in_headless_chromium(
    chromium: tuple[str, str], factory: Factory, served: str
) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location, driver = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(argument)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def page_text() -> str:  # textContent includes the SVG text of charts and tables
        return browser.execute_script("return document.body.textContent")

    def panel_text(key: str) -> str:  # Dash renders a dict id as its JSON, keys sorted
        return browser.execute_script(
            "return document.getElementById(arguments[0]).textContent", f'{{"key":"{key}","type":"panel"}}'
        )

    def open_dashboard(path: str, panels: int) -> None:
        browser.get(served + path)
        WebDriverWait(browser, 60).until(
            lambda _: len(browser.find_elements(By.CSS_SELECTOR, ".panel .js-plotly-plot .main-svg")) >= panels
        )

    def screenshot(name: str) -> None:
        # The whole page: grow the window until the height stops changing (charts re-lay out).
        height = 0
        for _ in range(5):
            if height == (height := browser.execute_script("return document.documentElement.scrollHeight")):
                break
            browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",  # the viewport, not the window
                                    {"width": 1400, "height": height, "deviceScaleFactor": 1, "mobile": False})
            time.sleep(1)
        browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))

    try:
        open_dashboard("/operations", len(OPERATIONS.panels))
        assert browser.find_element(By.TAG_NAME, "h1").text == OPERATIONS.title
        assert [h2.text for h2 in browser.find_elements(By.CSS_SELECTOR, ".panel h2")] == [
            panel.title for panel in OPERATIONS.panels
        ]
        hot = operations.hot_devices(factory.reader())
        hottest = hot.iloc[0]
        assert hottest.device_id in page_text() and f"{hottest.temperature_celsius:.1f}" in page_text()
        assert "alert_history does not exist yet" in page_text().replace("\n", " ")
        seconds = float(re.search(r"in ([\d.]+) s", browser.find_element(By.ID, "status").text).group(1))
        assert seconds < 2.0, f"the page took {seconds} s to answer"

        # The page refreshes by itself: an alert evaluated now shows within a refresh or two.
        write_table(factory.storage.root, "alert_history", [
            {"alert_name": "overheating_machines", "evaluated_at": utc("2026-01-05 09:00"), "state": "TRIGGERED",
             "value": float(len(hot)), "notifications_sent": ["email:ops"]}], schema=factory.target)  # fmt: skip
        WebDriverWait(browser, 20).until(lambda _: "overheating_machines" in page_text())
        assert "TRIGGERED" in panel_text("alerts")
        assert "could not be drawn" not in page_text() and "email:ops" in page_text()
        screenshot("operations")

        open_dashboard("/pipeline-health", len(PIPELINE_HEALTH.panels))
        assert browser.find_element(By.TAG_NAME, "h1").text == PIPELINE_HEALTH.title
        assert [h2.text for h2 in browser.find_elements(By.CSS_SELECTOR, ".panel h2")] == [
            panel.title for panel in PIPELINE_HEALTH.panels
        ]
        volume = pipeline_health.quarantine_volume(factory.reader())
        text = page_text()
        assert all(f"{rows:,}" in text for rows in volume["quarantined_rows"])
        assert "#2 · " in text and "+humidity_percent" in text
        screenshot("pipeline-health")
    finally:
        browser.quit()
