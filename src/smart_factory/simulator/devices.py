"""The device registry: which sensors exist, where they are, and how each one normally behaves.

Each device has its own temperature and vibration baseline and noise, drawn within its
machine type's profile, so "normal" differs per machine and anomalies stand out against
the device's own history rather than a global constant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from functools import cached_property
from pathlib import Path

import numpy as np
from faker import Faker

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator.landing import land_file
from smart_factory.simulator.validation import check_seed, check_whole_number

REGISTRY_FILE_NAME = "devices.json"
DEFAULT_NUM_DEVICES = 2000
MAX_NUM_DEVICES = 1_000_000
MAX_NUM_PLANTS = 50
FLOORS_PER_PLANT = 3
LINES_PER_FLOOR = 4
# Real-looking European town names for the plants ("Plant Kielce", "Plant Greiz", ...).
PLANT_LOCALES = ("de_DE", "pl_PL", "es_ES")
INSTALL_DATES = (date(2015, 1, 1), date(2025, 12, 31))


@dataclass(frozen=True)
class MachineProfile:
    """The range a machine type's baselines are drawn from.

    Vibration baselines start at 28 Hz so an anomaly (x3..x5) always exceeds the 80 Hz
    ceiling of normal readings; temperature baselines stay far enough below 38 °C that
    normal noise never reaches the 40 °C alert threshold.
    """

    machine_type: str
    model_prefix: str
    temperature_baseline_celsius: tuple[float, float]
    vibration_baseline_hz: tuple[float, float]


MACHINE_PROFILES = (
    MachineProfile("CNC mill", "CNC", (27.0, 32.0), (45.0, 60.0)),
    MachineProfile("injection moulder", "INJ", (28.0, 32.0), (28.0, 38.0)),
    MachineProfile("hydraulic press", "PRS", (25.0, 30.0), (35.0, 50.0)),
    MachineProfile("conveyor", "CNV", (22.0, 26.0), (28.0, 35.0)),
    MachineProfile("air compressor", "CMP", (27.0, 32.0), (40.0, 55.0)),
    MachineProfile("robotic welder", "RBW", (26.0, 31.0), (30.0, 42.0)),
)
TEMPERATURE_NOISE_CELSIUS = (0.3, 1.2)
VIBRATION_NOISE_HZ = (1.0, 4.0)


@dataclass(frozen=True)
class Device:
    """One sensor-equipped machine, as a row of the ``devices.json`` table."""

    device_id: str
    plant: str
    floor: int
    line: str
    machine_type: str
    model: str
    install_date: str
    temperature_baseline_celsius: float
    temperature_noise_celsius: float
    vibration_baseline_hz: float
    vibration_noise_hz: float


@dataclass(frozen=True)
class DeviceRegistry:
    """All devices of the factory, in device-id order.

    >>> registry = DeviceRegistry.generate(num_devices=3, seed=7)
    >>> [device.device_id for device in registry]
    ['DEV-00001', 'DEV-00002', 'DEV-00003']
    """

    devices: tuple[Device, ...]

    @classmethod
    def generate(
        cls, num_devices: int = DEFAULT_NUM_DEVICES, seed: int = 42, num_plants: int = 5
    ) -> DeviceRegistry:
        """A reproducible registry: the same ``seed`` gives the same devices."""
        check_whole_number("num_devices", num_devices, 1, MAX_NUM_DEVICES)
        check_whole_number("num_plants", num_plants, 1, MAX_NUM_PLANTS)
        check_seed(seed)
        rng = np.random.default_rng(seed)
        plants = _plant_names(num_plants, seed)
        profile_index = rng.integers(0, len(MACHINE_PROFILES), num_devices)
        plant_index = rng.integers(0, num_plants, num_devices)
        floors = rng.integers(1, FLOORS_PER_PLANT + 1, num_devices)
        lines = rng.integers(1, LINES_PER_FLOOR + 1, num_devices)
        temperature_position, vibration_position = rng.random((2, num_devices))
        temperature_noise = rng.uniform(*TEMPERATURE_NOISE_CELSIUS, num_devices)
        vibration_noise = rng.uniform(*VIBRATION_NOISE_HZ, num_devices)

        faker = Faker()
        faker.seed_instance(seed)
        id_width = max(5, len(str(num_devices)))
        devices = []
        for number in range(num_devices):
            profile = MACHINE_PROFILES[profile_index[number]]
            devices.append(
                Device(
                    device_id=f"DEV-{number + 1:0{id_width}d}",
                    plant=plants[plant_index[number]],
                    floor=int(floors[number]),
                    line=f"Line {floors[number]}{lines[number]}",
                    machine_type=profile.machine_type,
                    model=f"{profile.model_prefix}-{faker.bothify('###?').upper()}",
                    install_date=faker.date_between(*INSTALL_DATES).isoformat(),
                    temperature_baseline_celsius=_within(
                        profile.temperature_baseline_celsius, temperature_position[number]
                    ),
                    temperature_noise_celsius=round(float(temperature_noise[number]), 2),
                    vibration_baseline_hz=_within(profile.vibration_baseline_hz, vibration_position[number]),
                    vibration_noise_hz=round(float(vibration_noise[number]), 2),
                )
            )
        return cls(tuple(devices))

    @classmethod
    def load(cls, path: Path) -> DeviceRegistry:
        """Read a registry saved by :meth:`save` (``path`` is the file or its folder)."""
        path = Path(path)
        if path.is_dir():
            path = path / REGISTRY_FILE_NAME
        lines = path.read_text(encoding="utf-8").splitlines()
        return cls(tuple(Device(**json.loads(line)) for line in lines if line))

    def save(self, folder: Path) -> Path:
        """Land the registry as JSON Lines ``folder/devices.json``, atomically."""
        lines = [json.dumps(asdict(device), ensure_ascii=False) for device in self.devices]
        return land_file(Path(folder), REGISTRY_FILE_NAME, ("\n".join(lines) + "\n").encode())

    def __len__(self) -> int:
        return len(self.devices)

    def __iter__(self) -> Iterator[Device]:
        return iter(self.devices)

    @cached_property
    def device_ids(self) -> tuple[str, ...]:
        return tuple(device.device_id for device in self.devices)

    def column(self, name: str) -> np.ndarray:
        """One numeric field of every device, for vectorised reading generation.

        >>> DeviceRegistry.generate(num_devices=2, seed=1).column("floor").shape
        (2,)
        """
        if name not in _NUMERIC_FIELDS:
            raise ValueError(f"{name!r} is not a numeric device field; use one of {_NUMERIC_FIELDS}")
        return np.array([getattr(device, name) for device in self.devices], dtype=float)

    def indices_of(self, device_ids: Sequence[str], parameter: str = "device_ids") -> np.ndarray:
        """Positions of ``device_ids`` in the registry; unknown ids are a configuration error.

        >>> DeviceRegistry.generate(num_devices=3, seed=1).indices_of(["DEV-00003"])
        array([2])
        """
        position = {device_id: index for index, device_id in enumerate(self.device_ids)}
        unknown = [device_id for device_id in device_ids if device_id not in position]
        if unknown:
            raise SimulatorConfigError(
                f"{parameter} names unknown device ids {unknown[:5]}; the registry has "
                f"{self.device_ids[0]} .. {self.device_ids[-1]}"
            )
        return np.array([position[device_id] for device_id in device_ids], dtype=np.int64)


_NUMERIC_FIELDS = tuple(field.name for field in fields(Device) if field.type in ("int", "float"))


def _within(bounds: tuple[float, float], position: float) -> float:
    low, high = bounds
    return round(low + (high - low) * float(position), 2)


def _plant_names(num_plants: int, seed: int) -> list[str]:
    names: list[str] = []
    for number in range(num_plants):
        faker = Faker(PLANT_LOCALES[number % len(PLANT_LOCALES)])
        faker.seed_instance(seed + number)
        name = f"Plant {faker.city()}"
        while name in names:
            name = f"Plant {faker.city()}"
        names.append(name)
    return names
