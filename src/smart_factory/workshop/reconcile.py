"""What landed files should add to each table, from the simulator's exact counts.

Bronze keeps every record (re-sent copies and garbled lines too; a file that is not JSON,
or a JSON array cut off half-way, becomes one row); silver holds each valid reading once;
quarantine every record that broke a rule.

>>> from smart_factory.simulator import DeviceRegistry, Scenario, SensorSimulator
>>> import tempfile
>>> manifest = SensorSimulator(DeviceRegistry.generate(20, seed=1), seed=1).land_batches(
...     tempfile.mkdtemp(), num_files=1, readings_per_file=100, scenario=Scenario(malformed=True))
>>> rows = expected_rows(manifest)
>>> rows["bronze_readings"] == rows["silver_readings"] + rows["quarantine_readings"]
True
"""

from __future__ import annotations

from collections import Counter

from smart_factory.simulator import LandingManifest

BROKEN_FILE_KINDS = ("not_json", "truncated_array")


def expected_rows(*manifests: LandingManifest) -> dict[str, int]:
    """``{table: rows}`` these landings add to bronze, silver and quarantine (no re-sent copy counted twice)."""
    totals = sum((manifest.totals for manifest in manifests[1:]), manifests[0].totals)
    broken_files = sum(manifest.malformed_files.get(kind, 0) for manifest in manifests for kind in BROKEN_FILE_KINDS)
    garbled_lines = totals.truncated_lines + totals.wrong_type_lines
    return {
        "bronze_readings": totals.records + garbled_lines + broken_files,
        "silver_readings": totals.readings - totals.readings_without_device_id,
        "quarantine_readings": totals.readings_without_device_id + garbled_lines + broken_files,
    }


def add_rows(*expected: dict[str, int]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for rows in expected:
        total.update(rows)
    return dict(total)
