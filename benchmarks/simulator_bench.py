"""How fast the sensor simulator lands readings (target: a million in under ten seconds)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks import Measurement, benchmark
from smart_factory.simulator import DeviceRegistry, SensorSimulator

FILES = 10


@benchmark
def simulator_readings_per_second(quick: bool) -> list[Measurement]:
    """Land 1,000,000 readings (100,000 when quick) as 10 JSON Lines files in a temp folder."""
    readings = 100_000 if quick else 1_000_000
    began = time.perf_counter()
    registry = DeviceRegistry.generate(num_devices=2000, seed=42)
    registry_seconds = time.perf_counter() - began
    simulator = SensorSimulator(registry, seed=42)
    with tempfile.TemporaryDirectory(prefix="simulator-bench-") as folder:
        began = time.perf_counter()
        simulator.land_batches(
            Path(folder) / "sensor_readings", num_files=FILES, readings_per_file=readings // FILES
        )
        seconds = time.perf_counter() - began
    return [
        # The foundation's target: a million readings in under ten seconds.
        Measurement("simulator_readings_per_second", round(readings / seconds), "readings/s", goal="value >= 100000"),
        Measurement("simulator_device_registry_seconds", round(registry_seconds, 3), "s"),
    ]
