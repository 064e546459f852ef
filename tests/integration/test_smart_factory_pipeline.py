"""The Smart Factory pipeline end to end on simulated data with every scenario."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import assert_gold_equals_recomputation, smart_factory_pipeline

from smart_factory.runtime.delta_txn import STARTING_VERSIONS_FILE
from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator


def test_every_landed_record_is_accounted_for(spark, tmp_path: Path) -> None:
    landing, registry_folder = tmp_path / "landing", tmp_path / "registry"
    registry = DeviceRegistry.generate(num_devices=60, seed=7)
    registry.save(registry_folder)
    simulator = SensorSimulator(registry, seed=7)
    first = simulator.land_batches(
        landing, num_files=3, readings_per_file=400,
        scenario=Scenario(malformed=True, duplicate_share=0.03, late_share=0.05, malformed_share=0.01),
    )  # fmt: skip
    pipeline = smart_factory_pipeline(spark, tmp_path, landing, registry_folder)
    assert pipeline.run().state == "COMPLETED"
    second = simulator.land_batches(
        landing, num_files=2, readings_per_file=400,
        scenario=Scenario(schema_change=True, overheating_devices=4, duplicate_share=0.03),
    )  # fmt: skip
    update = pipeline.run()
    assert update.state == "COMPLETED", update.error

    totals = first.totals + second.totals
    broken_files = sum(first.malformed_files.get(kind, 0) for kind in ("not_json", "truncated_array"))
    malformed_lines = totals.truncated_lines + totals.wrong_type_lines
    target = pipeline.settings.target

    def count(table: str) -> int:
        return spark.table(f"{target}.{table}").count()

    bronze, silver, quarantine = count("bronze_readings"), count("silver_readings"), count("quarantine_readings")
    # Bronze keeps every record that landed, broken ones included (with _rescued_data).
    assert bronze == totals.records + malformed_lines + broken_files
    # Silver holds each valid reading once; quarantine every record that broke a rule.
    assert silver == totals.readings - totals.readings_without_device_id
    assert quarantine == totals.readings_without_device_id + malformed_lines + broken_files
    # Reconciliation from the event log alone: the rows validated once, split into quarantine
    # and silver; what silver did not write is the re-sent duplicates it removed.
    written = {
        r.flow: r.rows
        for r in spark.sql(
            f"SELECT origin.flow_name AS flow, sum(details:flow_progress.metrics.num_output_rows::bigint) AS rows "
            f"FROM {target}.event_log WHERE event_type = 'flow_progress' "
            "AND details:flow_progress.status::string = 'COMPLETED' GROUP BY origin.flow_name"
        ).collect()
    }
    duplicates_removed = written["readings_validated"] - written["quarantine_readings"] - written["silver_readings"]
    assert duplicates_removed == totals.duplicate_records > 0
    assert written["bronze_readings"] == bronze == silver + quarantine + duplicates_removed

    # The schema change reached bronze; older rows read null for the new column.
    humidity = spark.sql(f"SELECT count(humidity_percent) AS n FROM {target}.bronze_readings").first().n
    assert humidity == second.totals.readings_with_humidity + second.totals.duplicate_records
    # Every broken record in quarantine names the rules it broke.
    assert spark.sql(f"SELECT count(*) FROM {target}.quarantine_readings WHERE size(broken_rules) = 0").first()[0] == 0
    # Overheating devices show up hot in gold.
    hot = {r.device_id for r in spark.sql(
        f"SELECT DISTINCT device_id FROM {target}.gold_device_hourly WHERE max_temperature_celsius > 40"
    ).collect()}  # fmt: skip
    assert set(second.overheating_device_ids) <= hot
    readings_in_gold = spark.sql(f"SELECT sum(readings) FROM {target}.gold_device_hourly").first()[0]
    assert readings_in_gold == silver

    # Gold is refreshed by groups, and equals a recomputation from silver.
    assert_gold_equals_recomputation(spark, target)

    # The streams over pipeline tables began from the Delta log (tables only appended to),
    # and the second update re-planned their first batches from it too.
    for flow in ("readings_validated", "silver_readings", "quarantine_readings"):
        chosen = pipeline.layout.pipeline_dir / "checkpoints" / flow / flow / STARTING_VERSIONS_FILE
        assert list(json.loads(chosen.read_text()).values()) == [0], flow


def test_late_readings_correct_old_hours_in_gold_by_incremental_refresh(spark, tmp_path: Path) -> None:
    landing, registry_folder = tmp_path / "landing", tmp_path / "registry"
    registry = DeviceRegistry.generate(num_devices=20, seed=11)
    registry.save(registry_folder)
    simulator = SensorSimulator(registry, seed=11)
    simulator.land_batches(landing, num_files=2, readings_per_file=300, scenario=Scenario(late_share=0.2))
    pipeline = smart_factory_pipeline(spark, tmp_path, landing, registry_folder)
    assert pipeline.run().state == "COMPLETED"
    target = pipeline.settings.target
    before = {(r.hour_start, r.device_id): r.readings for r in spark.table(f"{target}.gold_device_hourly").collect()}

    simulator.land_batches(landing, num_files=1, readings_per_file=300, scenario=Scenario(late_share=0.3))
    update = pipeline.run()
    assert update.state == "COMPLETED", update.error

    after = {(r.hour_start, r.device_id): r.readings for r in spark.table(f"{target}.gold_device_hourly").collect()}
    corrected = {key for key in before if after[key] != before[key]}
    newest_hour = max(hour for hour, _ in before)
    # Readings hours late landed in hours gold had already published, and updated them.
    assert any(hour < newest_hour for hour, _ in corrected), corrected
    techniques = [
        r.technique
        for r in spark.sql(
            f"SELECT details:planning_information.technique_information[0].maintenance_type::string AS technique "
            f"FROM {target}.event_log WHERE event_type = 'planning_information' "
            f"AND origin.update_id = '{update.update_id}' AND origin.flow_name = 'gold_device_hourly'"
        ).collect()
    ]
    assert techniques == ["MAINTENANCE_TYPE_GROUP_AGGREGATE"]
    assert_gold_equals_recomputation(spark, target)


def techniques_of(spark, target: str, update_id: str) -> dict[str, str]:
    """Each materialized view's refresh technique in one update, from the event log."""
    return {
        r.flow: r.technique
        for r in spark.sql(
            f"SELECT origin.flow_name AS flow, "
            f"details:planning_information.technique_information[0].maintenance_type::string AS technique "
            f"FROM {target}.event_log WHERE event_type = 'planning_information' AND origin.update_id = '{update_id}'"
        ).collect()
    }


def test_a_view_whose_files_did_not_change_is_not_refreshed(spark, tmp_path: Path) -> None:
    landing, registry_folder = tmp_path / "landing", tmp_path / "registry"
    registry = DeviceRegistry.generate(num_devices=12, seed=3)
    registry.save(registry_folder)
    simulator = SensorSimulator(registry, seed=3)
    simulator.land_batches(landing, num_files=1, readings_per_file=100)
    pipeline = smart_factory_pipeline(spark, tmp_path, landing, registry_folder)
    first = pipeline.run()
    target = pipeline.settings.target
    registry_table = pipeline.layout.storage.table(f"{target}.device_registry")
    assert techniques_of(spark, target, first.update_id)["device_registry"] == "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"

    simulator.land_batches(landing, num_files=1, readings_per_file=100)
    versions_before = len(list((registry_table / "_delta_log").glob("*.json")))
    second = pipeline.run()
    assert second.state == "COMPLETED", second.error
    techniques = techniques_of(spark, target, second.update_id)
    # The registry file is as it was: nothing to do. The per-line view reads new gold rows: recomputed.
    assert techniques["device_registry"] == "MAINTENANCE_TYPE_NO_OP"
    assert techniques["gold_plant_line_hourly"] == "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"
    assert len(list((registry_table / "_delta_log").glob("*.json"))) == versions_before
    assert spark.table(f"{target}.device_registry").count() == 12

    # A new device joins the registry (the file is rewritten): the view is recomputed and has it.
    DeviceRegistry.generate(num_devices=13, seed=3).save(registry_folder)
    third = pipeline.run()
    assert techniques_of(spark, target, third.update_id)["device_registry"] == "MAINTENANCE_TYPE_COMPLETE_RECOMPUTE"
    assert spark.table(f"{target}.device_registry").count() == 13
