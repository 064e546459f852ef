"""What a run injects into the data: the everyday faults and the workshop's scenarios.

Every field is independent, so scenarios combine freely::

    Scenario(schema_change=True, overheating_devices=5, late_share=0.02, malformed=True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smart_factory.errors import SimulatorConfigError
from smart_factory.simulator.devices import DeviceRegistry
from smart_factory.simulator.validation import check_share, check_whole_number

# A separate stream, so the chosen devices do not depend on how many files a run writes.
_OVERHEATING_STREAM = 0x0FE4


@dataclass(frozen=True)
class Scenario:
    """The faults and scenarios of one run (every file it lands).

    ``anomaly_share``
        Readings that run hot and shake: +10..+20 °C over the device's baseline and
        x3..x5 its vibration. Drawn among readings that have a device id.
    ``missing_device_id_share``
        Readings whose ``device_id`` is JSON ``null`` (the key is always present).
    ``schema_change``
        Adds ``humidity_percent`` (20..80) to every reading of the run.
    ``overheating_devices``
        A count (the same devices for the same seed) or explicit device ids; all their
        readings are 42..48 °C.
    ``late_share`` / ``late_hours``
        Readings stamped ``late_hours`` in the past, as if a gateway had buffered them.
    ``duplicate_share``
        Readings a flaky gateway sends twice: an exact copy later in the same file or in the
        run's next file.
    ``malformed`` / ``malformed_share``
        Garbles ``malformed_share`` of each file's lines (at least one of each kind):
        truncated lines and ``"temperature_celsius": "hot"``; a garbled line's reading is
        lost. The run also lands an empty file and a file that is not JSON (and, for JSON
        arrays, an array cut off half-way).

    >>> Scenario(late_share=0.02).late_hours
    (3.0, 6.0)
    """

    anomaly_share: float = 0.005
    missing_device_id_share: float = 0.01
    schema_change: bool = False
    overheating_devices: int | tuple[str, ...] = 0
    late_share: float = 0.0
    late_hours: tuple[float, float] = (3.0, 6.0)
    duplicate_share: float = 0.0
    malformed: bool = False
    malformed_share: float = 0.001

    def __post_init__(self) -> None:
        for name in (
            "anomaly_share",
            "missing_device_id_share",
            "late_share",
            "duplicate_share",
            "malformed_share",
        ):
            object.__setattr__(self, name, check_share(name, getattr(self, name)))
        self._check_overheating_devices()
        self._check_late_hours()

    def _check_overheating_devices(self) -> None:
        devices = self.overheating_devices
        if isinstance(devices, str):
            devices = (devices,)
        if isinstance(devices, Sequence):
            object.__setattr__(self, "overheating_devices", tuple(devices))
        else:
            check_whole_number("overheating_devices", devices, 0, 1_000_000)

    def _check_late_hours(self) -> None:
        hours = self.late_hours
        if (
            not isinstance(hours, Sequence)
            or len(hours) != 2
            or not all(isinstance(value, int | float) and math.isfinite(value) for value in hours)
            or not 0 < hours[0] <= hours[1]
        ):
            raise SimulatorConfigError(
                f"late_hours must be (earliest, latest) hours with 0 < earliest <= latest, got {hours!r}"
            )
        object.__setattr__(self, "late_hours", (float(hours[0]), float(hours[1])))

    def overheating_mask(self, registry: DeviceRegistry, seed: int) -> np.ndarray:
        """One flag per registry device: does it overheat during this run?

        >>> registry = DeviceRegistry.generate(num_devices=10, seed=1)
        >>> int(Scenario(overheating_devices=3).overheating_mask(registry, seed=1).sum())
        3
        """
        mask = np.zeros(len(registry), dtype=bool)
        devices = self.overheating_devices
        if isinstance(devices, tuple):
            mask[registry.indices_of(devices, parameter="overheating_devices")] = True
            return mask
        if devices > len(registry):
            raise SimulatorConfigError(
                f"overheating_devices asks for {devices} devices but the registry has only {len(registry)}"
            )
        chosen = np.random.default_rng([seed, _OVERHEATING_STREAM]).permutation(len(registry))
        mask[chosen[:devices]] = True
        return mask
