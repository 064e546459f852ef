"""The device registry's expectations, on the real pipeline and a hand-kept registry with mistakes."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline_support import smart_factory_pipeline

from smart_factory.simulator import DeviceRegistry, SensorSimulator

HAND_KEPT = [
    {"device_id": None, "plant": "Munich", "floor": 1, "line": "M1-L1", "machine_type": "cnc_mill"},  # on order
    {"device_id": "HAND-0001", "plant": "Munich", "floor": "three", "line": "M1-L3", "machine_type": "press"},
    {"device_id": "HAND-0002", "plant": "Munich", "floor": 2, "line": "M1-L2", "install_date": "soon"},
    {"device_id": "HAND-0003", "plant": "Munich", "floor": "2", "line": "M1-L2", "install_date": "2024-05-01"},
]


def test_registry_rows_without_an_id_are_dropped_and_misfit_values_warned_about(spark, tmp_path: Path) -> None:
    landing, registry_folder = tmp_path / "landing", tmp_path / "registry"
    registry = DeviceRegistry.generate(num_devices=20, seed=11)
    registry.save(registry_folder)
    (registry_folder / "hand-kept.json").write_text("".join(json.dumps(row) + "\n" for row in HAND_KEPT))
    SensorSimulator(registry, seed=11).land_batches(landing, num_files=1, readings_per_file=200)
    pipeline = smart_factory_pipeline(spark, tmp_path, landing, registry_folder)

    update = pipeline.run()

    assert update.state == "COMPLETED", update.error
    target = pipeline.settings.target
    table = spark.table(f"{target}.device_registry")
    # Every row with an id is kept (none lost, none twice); the one without is dropped.
    assert table.count() == 20 + 3
    assert table.where("device_id IS NULL").count() == 0
    assert table.select("device_id").distinct().count() == 23
    hand_kept = {row.device_id: row for row in table.where("device_id LIKE 'HAND-%'").collect()}
    assert hand_kept["HAND-0001"].floor is None
    assert json.loads(hand_kept["HAND-0001"]._rescued_data) == {"floor": "three"}
    assert hand_kept["HAND-0002"].install_date is None
    assert json.loads(hand_kept["HAND-0002"]._rescued_data) == {"install_date": "soon"}
    assert hand_kept["HAND-0003"].floor == 2 and hand_kept["HAND-0003"]._rescued_data is None  # a number as text
    assert table.where("device_id NOT LIKE 'HAND-%' AND (floor IS NULL OR _rescued_data IS NOT NULL)").count() == 0

    # What the user sees: the registry's flow in the event log, with each rule's counts.
    progress = spark.sql(
        f"SELECT details:flow_progress.data_quality AS quality FROM {target}.event_log "
        f"WHERE origin.update_id = '{update.update_id}' AND origin.flow_name = 'device_registry' "
        "AND details:flow_progress.status::string = 'COMPLETED'"
    ).first()
    quality = json.loads(progress.quality.toJson())
    assert quality["dropped_records"] == 1
    failed = {rule["name"]: rule["failed_records"] for rule in quality["expectations"]}
    assert failed == {"device_id_present": 1, "floor_is_a_number": 1, "install_date_is_a_date": 1}

    # The registry still places every device that reported, once: the per-line view counts each reading once.
    def readings(view: str) -> int:
        return spark.sql(f"SELECT sum(readings) FROM {target}.{view}").first()[0]

    assert readings("gold_plant_line_hourly") == readings("gold_device_hourly") > 0
