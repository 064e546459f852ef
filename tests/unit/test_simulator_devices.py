"""The device registry: size, identity, fields, determinism, and its landed file."""

from __future__ import annotations

import json
import re
import time
from dataclasses import fields
from datetime import date

import pytest

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator import Device, DeviceRegistry
from smart_factory.simulator.devices import MACHINE_PROFILES


@pytest.fixture(scope="module")
def registry() -> DeviceRegistry:
    return DeviceRegistry.generate(seed=42)


def test_default_registry_has_2000_uniquely_numbered_devices(registry):
    ids = [device.device_id for device in registry]
    assert len(registry) == 2000
    assert ids == [f"DEV-{number:05d}" for number in range(1, 2001)]
    assert registry.device_ids == tuple(ids)


def test_devices_sit_in_a_handful_of_plants_floors_and_lines(registry):
    plants = {device.plant for device in registry}
    assert len(plants) == 5
    assert all(re.fullmatch(r"Plant \S.*", plant) for plant in plants)
    assert {device.floor for device in registry} == {1, 2, 3}
    assert all(re.fullmatch(rf"Line {device.floor}[1-4]", device.line) for device in registry)


def test_each_device_has_a_type_model_install_date_and_its_own_baselines(registry):
    profiles = {profile.machine_type: profile for profile in MACHINE_PROFILES}
    assert {device.machine_type for device in registry} == set(profiles)
    for device in registry:
        profile = profiles[device.machine_type]
        assert re.fullmatch(rf"{profile.model_prefix}-\d{{3}}[A-Z]", device.model)
        assert date(2015, 1, 1) <= date.fromisoformat(device.install_date) <= date(2025, 12, 31)
        low, high = profile.temperature_baseline_celsius
        assert low <= device.temperature_baseline_celsius <= high
        low, high = profile.vibration_baseline_hz
        assert low <= device.vibration_baseline_hz <= high
        assert 0.3 <= device.temperature_noise_celsius <= 1.2
        assert 1.0 <= device.vibration_noise_hz <= 4.0
    assert len({device.temperature_baseline_celsius for device in registry}) > 100


def test_same_seed_same_registry_other_seed_other_registry(registry):
    again = DeviceRegistry.generate(seed=42)
    other = DeviceRegistry.generate(seed=43)
    assert again == registry
    assert other.device_ids == registry.device_ids, "ids are stable, whatever the seed"
    assert [d.temperature_baseline_celsius for d in other] != [
        d.temperature_baseline_celsius for d in registry
    ]
    assert {d.plant for d in other} != {d.plant for d in registry}


def test_generating_2000_devices_takes_under_a_second():
    began = time.perf_counter()
    DeviceRegistry.generate(num_devices=2000, seed=1)
    assert time.perf_counter() - began < 1.0


def test_saved_registry_is_a_json_lines_table_that_loads_back(registry, tmp_path):
    path = registry.save(tmp_path / "device_registry")

    assert path == tmp_path / "device_registry" / "devices.json"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2000
    assert all(list(row) == [field.name for field in fields(Device)] for row in rows)
    assert rows[0]["device_id"] == "DEV-00001" and isinstance(rows[0]["floor"], int)
    assert DeviceRegistry.load(path) == registry
    assert DeviceRegistry.load(path.parent) == registry
    assert list((tmp_path / "device_registry").iterdir()) == [path]
    assert list((tmp_path / "_simulator" / "staging").iterdir()) == [], "no temporary files left"


def test_saving_the_same_registry_again_leaves_the_file_untouched(registry, tmp_path):
    path = registry.save(tmp_path / "device_registry")
    before = path.stat()
    registry.save(tmp_path / "device_registry")
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    DeviceRegistry.generate(num_devices=3, seed=42).save(tmp_path / "device_registry")
    assert len(path.read_text().splitlines()) == 3


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"num_devices": 0}, "num_devices"),
        ({"num_devices": 2.5}, "num_devices"),
        ({"num_devices": True}, "num_devices"),
        ({"seed": -1}, "seed"),
        ({"seed": "42"}, "seed"),
        ({"num_plants": 0}, "num_plants"),
    ],
)
def test_bad_registry_parameters_name_the_parameter(arguments, parameter):
    with pytest.raises(SimulatorConfigError, match=rf"^{parameter} must be .* got "):
        DeviceRegistry.generate(**arguments)


def test_unknown_device_ids_are_reported():
    registry = DeviceRegistry.generate(num_devices=5, seed=1)
    assert registry.indices_of(["DEV-00005", "DEV-00001"]).tolist() == [4, 0]
    with pytest.raises(SimulatorConfigError, match=r"device_ids names unknown .*DEV-00006"):
        registry.indices_of(["DEV-00006"])
