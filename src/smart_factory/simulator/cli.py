"""``smart-factory generate``: land the device registry and a run of readings files.

    smart-factory generate --files 10 --readings-per-file 5000
    smart-factory generate --files 2 --schema-change
    smart-factory generate --files 3 --overheating 5
    smart-factory generate --files 1 --overheating DEV-00042,DEV-00043

Each call continues the simulated clock of the landing zone it writes to.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.simulator.clock import format_timestamp
from smart_factory.simulator.devices import DEFAULT_NUM_DEVICES, DeviceRegistry
from smart_factory.simulator.landing import FILE_FORMATS
from smart_factory.simulator.manifest import LandingManifest
from smart_factory.simulator.scenarios import Scenario
from smart_factory.simulator.sensor_simulator import SensorSimulator

PROGRESS_BAR_MIN_READINGS = 100_000


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``generate`` sub-command to the top-level ``smart-factory`` parser."""
    parser = commands.add_parser(
        "generate",
        help="land simulated sensor readings (and the device registry) as JSON files",
        description=__doc__.split("\n", 1)[1].replace("``", ""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--storage-root",
        metavar="DIR",
        help="the lakehouse folder (default: $SMART_FACTORY_STORAGE_ROOT, else the checkout's data/)",
    )
    parser.add_argument("--devices", type=int, default=DEFAULT_NUM_DEVICES, help="registry size (2000)")
    parser.add_argument("--files", type=int, default=10, help="readings files to land (10)")
    parser.add_argument(
        "--readings-per-file", type=int, default=5000, metavar="N", help="readings in each file (5000)"
    )
    parser.add_argument("--seed", type=int, default=42, help="same seed, same start: same bytes (42)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument(
        "--start",
        metavar="ISO",
        help="first window's start, e.g. 2026-01-05T08:00:00Z (default: continue the clock)",
    )
    when.add_argument("--now", action="store_true", help="end the run at the wall-clock time")
    parser.add_argument(
        "--format",
        choices=FILE_FORMATS,
        default="jsonl",
        dest="file_format",
        help="a JSON object per line, or a JSON array per file (jsonl)",
    )
    parser.add_argument("--schema-change", action="store_true", help="add humidity_percent to every reading")
    parser.add_argument(
        "--overheating",
        metavar="N|IDS",
        default="0",
        help="overheat N devices (chosen by the seed) or the comma-separated device ids",
    )
    parser.add_argument(
        "--late-share", type=float, default=0.0, metavar="X", help="share of readings stamped 3-6 h late (0)"
    )
    parser.add_argument(
        "--duplicate-share", type=float, default=0.0, metavar="X", help="share of readings sent twice (0)"
    )
    parser.add_argument("--malformed", action="store_true", help="add broken lines and broken files")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    parser.set_defaults(handler=generate)


def generate(args: argparse.Namespace) -> int:
    """Land the registry and the readings; print where they went unless ``--quiet``."""
    paths = StoragePaths.from_env(args.storage_root)
    scenario = Scenario(
        schema_change=args.schema_change,
        overheating_devices=_overheating(args.overheating),
        late_share=args.late_share,
        duplicate_share=args.duplicate_share,
        malformed=args.malformed,
    )
    registry = DeviceRegistry.generate(num_devices=args.devices, seed=args.seed)
    simulator = SensorSimulator(
        registry, seed=args.seed, start=args.start, now=args.now, file_format=args.file_format
    )
    registry_file = registry.save(paths.device_registry_landing)
    manifest = simulator.land_batches(
        paths.readings_landing,
        num_files=args.files,
        readings_per_file=args.readings_per_file,
        scenario=scenario,
        progress=_wants_progress_bar(args),
    )
    if not args.quiet:
        print(summary(manifest, len(registry), registry_file))
    return 0


def _wants_progress_bar(args: argparse.Namespace) -> bool:
    # A bar that flashes by for a one-second run is noise; in a log file it is garbage.
    large = args.files * args.readings_per_file >= PROGRESS_BAR_MIN_READINGS
    return large and not args.quiet and sys.stderr.isatty()


def _overheating(value: str) -> int | tuple[str, ...]:
    value = value.strip()
    if value.isdigit():
        return int(value)
    return tuple(device_id.strip() for device_id in value.split(",") if device_id.strip())


def summary(manifest: LandingManifest, num_devices: int, registry_file: Path) -> str:
    """A few lines saying what landed where, for people rather than tests."""
    totals = manifest.totals
    lines = [
        f"Landed {_plural(len(manifest.reading_files), 'readings file')} "
        f"({totals.readings:,} readings, {manifest.file_format}) in {manifest.landing_dir}",
        f"  simulated time {format_timestamp(manifest.start)} .. "
        f"{format_timestamp(manifest.next_start)} (the next run continues from there)",
        f"  {totals.anomalous_readings:,} anomalous, {totals.readings_without_device_id:,} "
        f"without device_id, {totals.late_readings:,} late, "
        f"{totals.duplicate_records:,} duplicate records",
    ]
    if manifest.overheating_device_ids:
        lines.append(f"  overheating: {', '.join(manifest.overheating_device_ids)}")
    if manifest.malformed_files or any(totals.malformed_lines.values()):
        broken_lines = ", ".join(f"{n:,} {kind}" for kind, n in totals.malformed_lines.items())
        broken_files = ", ".join(f"{n} {kind}" for kind, n in manifest.malformed_files.items())
        lines.append(f"  malformed lines: {broken_lines}; malformed files: {broken_files}")
    lines.append(f"Device registry: {num_devices:,} devices in {registry_file}")
    return "\n".join(lines)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")
