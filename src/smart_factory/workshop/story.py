"""The workshop's story as steps: what each part lands and runs, shared by its notebook and by later parts.

A notebook opened on its own calls :func:`require_parts_before` first: any earlier part
that has not run in this storage root is re-created, quietly, with one sentence saying so.

    factory = workshop.setup(globals())
    workshop.require_parts_before(3, factory)   # parts 1 and 2, if they are missing
    more = workshop.land_more_readings(factory)
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame

from smart_factory.dashboards.export import export_html
from smart_factory.dashboards.render import shared_reader
from smart_factory.dashboards.spec import DASHBOARDS
from smart_factory.lakehouse import READINGS_LANDING
from smart_factory.lakehouse.paths import checkout_root
from smart_factory.runtime.cloud_files import install_cloud_files
from smart_factory.runtime.ingestion import ingest_available
from smart_factory.runtime.pipeline import UpdateResult
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario
from smart_factory.simulator.landing import land_file
from smart_factory.workshop.alerting import evaluate_overheating_alert, quiet_inbox
from smart_factory.workshop.display import TextBlock
from smart_factory.workshop.parameters import WorkshopParameterError
from smart_factory.workshop.pipeline_cells import seed_from_notebooks
from smart_factory.workshop.session import Workshop

# The everyday faults of the first landings: re-sent readings and a few garbled lines and files.
EVERYDAY_FAULTS = Scenario(duplicate_share=0.01, malformed=True)
# Part 4: the new firmware adds humidity_percent; a gateway flushes readings it had buffered.
SCHEMA_CHANGE = Scenario(schema_change=True)
SCHEMA_CHANGE_FILES = 2
LATE_READINGS = Scenario(late_share=0.25, late_hours=(1.5, 2.0))
LATE_READINGS_FILES = 1
# Part 5: five machines run at 42-48 °C for one file's stretch of time.
OVERHEATING_BURST = Scenario(overheating_devices=5)
OVERHEATING_BURST_FILES = 1


@dataclass(frozen=True)
class Part:
    number: int
    notebook: str
    title: str
    recreate: Callable[[Workshop], object]  # the part's steps, run quietly when a later notebook needs them


# The registry is kept by hand beside the simulator's export: a machine on order is listed
# (on the first device's line) before its sensor has an id. Part 2's exercise drops such rows.
HAND_KEPT_REGISTRY_FILE = "devices-on-order.json"


def machine_on_order(registry: DeviceRegistry) -> dict[str, object]:
    first = registry.devices[0]
    return {"device_id": None, "plant": first.plant, "floor": first.floor, "line": first.line,
            "machine_type": first.machine_type, "model": "on order", "install_date": None}  # fmt: skip


def start_factory(factory: Workshop) -> tuple[DeviceRegistry, LandingManifest]:
    """Part 1: an empty lakehouse, the device registry (with one hand-kept row), and the first readings files."""
    factory.reset()
    factory.progress.note_factory_parameters(factory.parameters)
    registry = factory.registry
    land_file(factory.storage.device_registry_landing, HAND_KEPT_REGISTRY_FILE,
              (json.dumps(machine_on_order(registry)) + "\n").encode())  # fmt: skip
    first = factory.land(1, "first readings", EVERYDAY_FAULTS)
    factory.progress.mark_done(1)
    return registry, first




# The streaming tables that part 4's exercise recomputes from bronze once silver keeps humidity_percent.
HUMIDITY_REFRESH = ("readings_validated", "silver_readings", "quarantine_readings")


def run_update(factory: Workshop, part: int, full_refresh: bool | Sequence[str] = False) -> UpdateResult:
    """A triggered update of the workshop's pipeline for ``part``: a line per flow, then the part is done.

    ``full_refresh`` (every table, or the names given) recomputes those tables from their sources.
    A failed update raises :class:`WorkshopError`.
    """
    update = factory.run_update(part, full_refresh if isinstance(full_refresh, bool) else list(full_refresh))
    factory.progress.mark_done(part)
    return update


def land_more_readings(factory: Workshop) -> LandingManifest:
    """Part 3, first half: the next files land; the pipeline is not running."""
    return factory.land(3, "more readings", EVERYDAY_FAULTS)




def land_schema_change(factory: Workshop) -> LandingManifest:
    """Part 4: files from the new firmware, with ``humidity_percent``."""
    return factory.land(4, "new firmware (humidity_percent)", SCHEMA_CHANGE, num_files=SCHEMA_CHANGE_FILES)


def land_late_readings(factory: Workshop) -> LandingManifest:
    """Part 4: a gateway back online sends readings it buffered for 1.5 to 2 hours."""
    return factory.land(4, "late readings", LATE_READINGS, num_files=LATE_READINGS_FILES)




# Auto Loader's rescue mode, typed: the schema never changes; whatever does not fit is rescued.
RESCUE_MODE_OPTIONS = {
    "cloudFiles.format": "json",
    "cloudFiles.schemaEvolutionMode": "rescue",
    "cloudFiles.schemaHints": "temperature_celsius DOUBLE, vibration_hz DOUBLE",
    # Infer from the oldest file only: the schema the stream had before the new firmware.
    "cloudFiles.schemaInference.sampleSize.numFiles": "1",
}


def read_in_rescue_mode(factory: Workshop, options: Mapping[str, str] = RESCUE_MODE_OPTIONS) -> DataFrame:
    """Read the whole landing zone once more with Auto Loader ``options`` (default: ``rescue`` mode, typed).

    A side table beside the pipeline's own (under ``pipelines/rescue_mode_demo``), started
    afresh each time so the answer does not depend on earlier runs.
    """
    folder = factory.storage.pipelines / "rescue_mode_demo"
    shutil.rmtree(folder, ignore_errors=True)
    install_cloud_files()

    def readings() -> DataFrame:
        reader = factory.spark.readStream.format("cloudFiles")
        for key, value in {**options, "cloudFiles.schemaLocation": str(folder / "schema")}.items():
            reader = reader.option(key, value)
        return reader.load(READINGS_LANDING)

    ingest_available(factory.spark, readings, str(folder / "table"), str(folder / "checkpoint"))
    return factory.spark.read.format("delta").load(str(folder / "table"))


def land_overheating_burst(factory: Workshop) -> LandingManifest:
    """Part 5: readings from five machines running hot land in the next file."""
    return factory.land(5, "overheating burst", OVERHEATING_BURST, num_files=OVERHEATING_BURST_FILES)




def export_dashboards(factory: Workshop) -> TextBlock:
    """Part 6: both dashboards in one HTML file under the storage root, which opens offline."""
    written = export_html(list(DASHBOARDS.values()), shared_reader(str(factory.storage.root)), factory.dashboards_file)
    factory.progress.mark_done(6)
    panels = sum(len(dashboard.panels) for dashboard in DASHBOARDS.values())
    return TextBlock(
        f"Wrote {len(DASHBOARDS)} dashboards ({panels} panels) to {written.name} in the storage root: "
        "one file that opens in any browser, offline."
    )


# Each part's steps when a later notebook recreates it, with its notebook's %%pipeline cells
# saved where that notebook runs them.
def _part_2(factory: Workshop) -> None:
    _save_pipeline_cells(factory, 2)
    run_update(factory, 2)


def _part_3(factory: Workshop) -> None:
    land_more_readings(factory)
    _save_pipeline_cells(factory, 3)
    run_update(factory, 3)


def _part_4(factory: Workshop) -> None:
    land_schema_change(factory)
    land_late_readings(factory)
    run_update(factory, 4)
    _save_pipeline_cells(factory, 4)  # silver keeps humidity_percent once bronze has it
    run_update(factory, 4, full_refresh=HUMIDITY_REFRESH)


def _part_5(factory: Workshop) -> None:
    inbox = quiet_inbox(factory)  # a notebook that re-creates part 5 on its way shows no messages
    evaluate_overheating_alert(factory, inbox)
    land_overheating_burst(factory)
    run_update(factory, 5)
    evaluate_overheating_alert(factory, inbox)


def _save_pipeline_cells(factory: Workshop, *parts: int) -> None:
    """Save the ``%%pipeline`` cells of ``parts``' notebooks, worked solutions included.

    The committed notebooks are the pipeline's source: a part recreated on the way runs the
    code its notebook shows, as it stood at that part. Outside a checkout (no notebooks), the
    shipped pipeline file runs instead.
    """
    root = checkout_root()
    if root is None:
        return
    notebooks = [root / "notebooks" / part.notebook for part in PARTS if part.number in parts]
    seed_from_notebooks(factory.pipeline_cells, [notebook for notebook in notebooks if notebook.is_file()])


PARTS = (
    Part(1, "01_generate_factory_data.ipynb", "Generate the factory's data", start_factory),
    Part(2, "02_bronze_silver_gold.ipynb", "Bronze, silver and gold", _part_2),
    Part(3, "03_checkpoint_replay.ipynb", "Checkpoint replay", _part_3),
    Part(4, "04_schema_change_and_late_data.ipynb", "Schema change and late data", _part_4),
    Part(5, "05_alerts.ipynb", "Alerts", _part_5),
    Part(6, "06_dashboards.ipynb", "Dashboards", export_dashboards),
)


def _check_same_factory(factory: Workshop, part: int, done: set[int]) -> None:
    """Refuse parameters that would be silently ignored: the factory of this storage root is already made."""
    made_with = factory.progress.factory_parameters
    if not done or not made_with:
        return
    for name, value in made_with.items():
        given = getattr(factory.parameters, name)
        if given != value:
            raise WorkshopParameterError(
                f"parameter {name} is {given!r}, but this storage root's factory was made with {value!r} by part 1, "
                f"and part {part} continues it. Run 01_generate_factory_data with the new value to start a new "
                "factory, or give this notebook another storage_root."
            )


def require_parts_before(part: int, factory: Workshop, *, fresh: bool = False) -> None:
    """Re-create any earlier part missing from this storage root.

    Prints one sentence per part it runs, never a traceback. With ``fresh``, a part that
    already ran here (the notebook is run again) starts from a new factory, for a story
    that depends on what came before it (part 5's alert starts OK only once).
    """
    done = set(factory.progress.parts_done)
    if fresh and part in done:
        print(f"Part {part} has already run on this storage root, so the factory starts afresh for it.")
        factory.reset()
        done = set()
    _check_same_factory(factory, part, done)
    if factory.pipeline_cells.is_empty():  # parts that ran before their cells were saved, if any
        _save_pipeline_cells(factory, *sorted(number for number in done if number < part))
    for earlier in PARTS:
        if earlier.number >= part or earlier.number in done:
            continue
        print(f"Part {earlier.number} ({earlier.title}) has not run on this storage root yet, so it runs now, "
              f"quietly; {earlier.notebook} shows it step by step.")  # fmt: skip
        factory.quiet = True
        try:
            earlier.recreate(factory)
        finally:
            factory.quiet = False
