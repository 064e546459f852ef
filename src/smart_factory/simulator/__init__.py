"""The sensor simulator: a seeded device registry and readings landed as JSON files.

>>> from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator
>>> registry = DeviceRegistry.generate(num_devices=2000, seed=42)
>>> simulator = SensorSimulator(registry, seed=42)  # continues the landing zone's clock
>>> scenario = Scenario(schema_change=True, overheating_devices=5, malformed=True)
>>> # manifest = simulator.land_batches(paths.readings_landing, scenario=scenario)
"""

from smart_factory.simulator.clock import DEFAULT_FILE_INTERVAL, DEFAULT_START, ClockState
from smart_factory.simulator.devices import Device, DeviceRegistry
from smart_factory.simulator.landing import FILE_FORMATS, FileFormat, land_file
from smart_factory.simulator.manifest import LandedFile, LandingManifest, ReadingCounts
from smart_factory.simulator.scenarios import Scenario
from smart_factory.simulator.sensor_simulator import SensorSimulator

__all__ = [
    "DEFAULT_FILE_INTERVAL",
    "DEFAULT_START",
    "FILE_FORMATS",
    "ClockState",
    "Device",
    "DeviceRegistry",
    "FileFormat",
    "LandedFile",
    "LandingManifest",
    "ReadingCounts",
    "Scenario",
    "SensorSimulator",
    "land_file",
]
