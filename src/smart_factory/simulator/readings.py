"""One file's sensor readings, drawn as numpy columns and rendered to JSON text in bulk.

No per-reading Python beyond one ``%`` format: a million readings render in about two
seconds on one core, where a ``json.dumps`` per reading would take six on its own.
Every device reports at a jittered regular pace within the window, so
``(device_id, timestamp)`` is unique within a file; the file lists readings in arrival order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from smart_factory.simulator.devices import Device, DeviceRegistry
from smart_factory.simulator.manifest import ReadingCounts
from smart_factory.simulator.randomness import FileStreams
from smart_factory.simulator.scenarios import Scenario

# Normal readings are clipped to these ranges: 80 Hz is crossed only by anomalies, 40 °C
# (the overheating alert's line) only by overheating devices.
NORMAL_TEMPERATURE_CELSIUS = (20.0, 38.0)
NORMAL_VIBRATION_HZ = (20.0, 80.0)
# An anomaly is a hiccup: a burst of vibration with some heat, which stays under 40 °C
# (baselines are at most 32 °C), so one bad reading never looks like an overheating machine.
ANOMALY_TEMPERATURE_RISE_CELSIUS = (2.0, 6.0)
ANOMALY_VIBRATION_FACTOR = (3.0, 5.0)
OVERHEATING_TEMPERATURE_CELSIUS = (42.0, 48.0)
HUMIDITY_PERCENT = (20.0, 80.0)
_HOUR_MS = 3_600_000

_RECORD = '{"device_id":%s,"timestamp":"%sZ","temperature_celsius":%.2f,"vibration_hz":%.2f,%s}'
_RECORD_WITH_HUMIDITY = _RECORD[:-1] + ',"humidity_percent":%.1f}'


@dataclass(frozen=True)
class DeviceColumns:
    """The registry as arrays, with each device's JSON fragments rendered once."""

    temperature_baseline: np.ndarray
    temperature_noise: np.ndarray
    vibration_baseline: np.ndarray
    vibration_noise: np.ndarray
    id_json: np.ndarray
    location_json: np.ndarray

    @classmethod
    def from_registry(cls, registry: DeviceRegistry) -> DeviceColumns:
        def fragment(device: Device) -> str:
            location = {"plant": device.plant, "floor": device.floor, "line": device.line}
            return json.dumps(location, ensure_ascii=False, separators=(",", ":"))[1:-1]

        return cls(
            temperature_baseline=registry.column("temperature_baseline_celsius"),
            temperature_noise=registry.column("temperature_noise_celsius"),
            vibration_baseline=registry.column("vibration_baseline_hz"),
            vibration_noise=registry.column("vibration_noise_hz"),
            id_json=np.array([json.dumps(device_id) for device_id in registry.device_ids], dtype=object),
            location_json=np.array([fragment(device) for device in registry], dtype=object),
        )

    def __len__(self) -> int:
        return len(self.id_json)


@dataclass(frozen=True)
class ReadingBatch:
    """One file's distinct readings as columns, in arrival order, with what each one is."""

    device_index: np.ndarray
    timestamp_ms: np.ndarray
    temperature_celsius: np.ndarray
    vibration_hz: np.ndarray
    humidity_percent: np.ndarray | None
    has_device_id: np.ndarray
    is_anomalous: np.ndarray
    is_overheating: np.ndarray
    is_late: np.ndarray

    def __len__(self) -> int:
        return len(self.device_index)

    def select(self, rows: np.ndarray) -> ReadingBatch:
        """The readings at ``rows`` (indices or a boolean mask), columns kept aligned."""
        return ReadingBatch(
            **{name: None if column is None else column[rows] for name, column in vars(self).items()}
        )

    def counts(self) -> ReadingCounts:
        special = self.is_anomalous | self.is_overheating | self.is_late | ~self.has_device_id
        return ReadingCounts(
            readings=len(self),
            normal_readings=int((~special).sum()),
            anomalous_readings=int(self.is_anomalous.sum()),
            overheating_readings=int(self.is_overheating.sum()),
            late_readings=int(self.is_late.sum()),
            readings_without_device_id=int((~self.has_device_id).sum()),
            readings_with_humidity=0 if self.humidity_percent is None else len(self),
        )

    def render(self, devices: DeviceColumns) -> list[str]:
        """One compact JSON object per reading; a missing device id is ``"device_id":null``."""
        ids = np.where(self.has_device_id, devices.id_json[self.device_index], "null").tolist()
        timestamps = np.datetime_as_string(self.timestamp_ms.astype("datetime64[ms]"), unit="ms")
        columns = [
            ids,
            timestamps.tolist(),
            self.temperature_celsius.tolist(),
            self.vibration_hz.tolist(),
            devices.location_json[self.device_index].tolist(),
        ]
        template = _RECORD
        if self.humidity_percent is not None:
            columns.append(self.humidity_percent.tolist())
            template = _RECORD_WITH_HUMIDITY
        return [template % values for values in zip(*columns, strict=True)]


def generate_readings(
    devices: DeviceColumns,
    window_start_ms: int,
    interval_ms: int,
    count: int,
    scenario: Scenario,
    overheating: np.ndarray,
    streams: FileStreams,
) -> ReadingBatch:
    """``count`` readings spread over ``[window_start_ms, window_start_ms + interval_ms)``.

    Categories are exclusive: overheating devices keep their ids, anomalies and missing ids
    are drawn among the others, and late readings among the remaining normal ones.
    """
    device_index, offset_ms = _schedule(len(devices), count, interval_ms, streams.schedule)
    is_overheating = overheating[device_index]
    has_device_id = ~(
        (streams.missing_ids.random(count) < scenario.missing_device_id_share) & ~is_overheating
    )
    is_anomalous = (
        (streams.anomalies.random(count) < scenario.anomaly_share) & has_device_id & ~is_overheating
    )
    is_normal = has_device_id & ~is_anomalous & ~is_overheating
    is_late = (streams.late.random(count) < scenario.late_share) & is_normal

    temperature_baseline = devices.temperature_baseline[device_index]
    vibration_baseline = devices.vibration_baseline[device_index]
    temperature = np.clip(
        temperature_baseline
        + devices.temperature_noise[device_index] * streams.values.standard_normal(count),
        *NORMAL_TEMPERATURE_CELSIUS,
    )
    vibration = np.clip(
        vibration_baseline + devices.vibration_noise[device_index] * streams.values.standard_normal(count),
        *NORMAL_VIBRATION_HZ,
    )
    hot = temperature_baseline + streams.anomalies.uniform(*ANOMALY_TEMPERATURE_RISE_CELSIUS, count)
    shaking = vibration_baseline * streams.anomalies.uniform(*ANOMALY_VIBRATION_FACTOR, count)
    temperature = np.where(is_anomalous, hot, temperature)
    vibration = np.where(is_anomalous, shaking, vibration)
    overheated = streams.values.uniform(*OVERHEATING_TEMPERATURE_CELSIUS, count)
    temperature = np.where(is_overheating, overheated, temperature)

    earliest, latest = (round(hours * _HOUR_MS) for hours in scenario.late_hours)
    delay_ms = streams.late.integers(earliest, latest, count, endpoint=True)
    timestamp_ms = window_start_ms + offset_ms - np.where(is_late, delay_ms, 0)

    humidity = streams.humidity.uniform(*HUMIDITY_PERCENT, count) if scenario.schema_change else None
    return ReadingBatch(
        device_index=device_index,
        timestamp_ms=timestamp_ms,
        temperature_celsius=temperature,
        vibration_hz=vibration,
        humidity_percent=humidity,
        has_device_id=has_device_id,
        is_anomalous=is_anomalous,
        is_overheating=is_overheating,
        is_late=is_late,
    )


def readings_per_device(num_devices: int, count: int) -> int:
    """The most readings one device sends in a file (devices share ``count`` evenly)."""
    return -(-count // num_devices)


def _schedule(
    num_devices: int, count: int, interval_ms: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    # Each device sends floor(count / devices) readings, a random few one more. Its k-th of n
    # readings falls in the k-th n-th of the window (integer slots, so no two coincide),
    # at a random millisecond within it: regular like a real sensor, never in lock-step.
    per_device = np.full(num_devices, count // num_devices)
    per_device[rng.permutation(num_devices)[: count % num_devices]] += 1
    device_index = np.repeat(np.arange(num_devices), per_device)
    first_row = np.repeat(np.cumsum(per_device) - per_device, per_device)
    rank = np.arange(count) - first_row
    sent = per_device[device_index]
    slot_start = rank * interval_ms // sent
    slot_end = (rank + 1) * interval_ms // sent
    offset_ms = slot_start + (rng.random(count) * (slot_end - slot_start)).astype(np.int64)
    arrival = np.argsort(offset_ms, kind="stable")
    return device_index[arrival], offset_ms[arrival]
