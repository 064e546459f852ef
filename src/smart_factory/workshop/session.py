"""One short set-up cell for every notebook: Spark, the storage root, the pipeline and the simulator.

    from smart_factory import workshop
    factory = workshop.setup(globals())     # reads the parameters cell's names
    factory.count("silver_readings")

The session is the process's Spark session (:func:`smart_factory.lakehouse.get_spark`): a
notebook that runs the set-up cell twice, or a helper that needs Spark, reuses it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from smart_factory.errors import SmartFactoryError
from smart_factory.lakehouse import SCHEMA, StoragePaths, get_spark, register_tables
from smart_factory.lakehouse.paths import STORAGE_ROOT_ENV, checkout_root
from smart_factory.runtime.executor import FlowRun
from smart_factory.runtime.pipeline import Pipeline, UpdateResult
from smart_factory.simulator import DeviceRegistry, LandingManifest, Scenario, SensorSimulator
from smart_factory.workshop.parameters import WorkshopParameters
from smart_factory.workshop.pipeline_cells import CellStore, settings_with_cells
from smart_factory.workshop.reconcile import expected_rows

PIPELINE_SETTINGS = (checkout_root() or Path.cwd().parent) / "pipelines" / "pipeline.yml"
PROGRESS_FILE = Path("workshop") / "progress.json"
PIPELINE_CELLS = Path("workshop") / "pipeline"
# What shapes the factory's data: fixed by part 1 for every later part on the same storage root.
FACTORY_PARAMETERS = ("num_devices", "num_files", "readings_per_file", "seed", "start", "minutes_per_file")
DASHBOARDS_FILE = "smart_factory_dashboards.html"


class WorkshopError(SmartFactoryError):
    """A workshop step cannot go on (a failed update, a part that is missing); the message says what to do."""


@dataclass
class Workshop:
    """The notebooks' handle on the factory: its parameters, Spark, storage and what has happened so far."""

    parameters: WorkshopParameters
    spark: SparkSession
    storage: StoragePaths
    quiet: bool = False  # True while an earlier part is re-created on the way: no per-flow lines
    _registry: DeviceRegistry | None = field(default=None, repr=False)

    @cached_property
    def shipped_pipeline(self) -> Pipeline:
        """``pipelines/pipeline.yml`` with its own source file, as ``smart-factory pipeline run`` runs it."""
        return Pipeline.load(PIPELINE_SETTINGS, self.spark)

    @property
    def pipeline_cells(self) -> CellStore:
        """The ``%%pipeline`` cells saved on this storage root."""
        return CellStore(self.storage.root / PIPELINE_CELLS)

    @property
    def pipeline(self) -> Pipeline:
        """The workshop's pipeline: the shipped settings, with the notebooks' ``%%pipeline`` cells as its source.

        Built afresh each time, so an update runs the cells as they are now.
        """
        settings = settings_with_cells(self.shipped_pipeline.settings, self.pipeline_cells)
        return Pipeline(settings, self.spark)

    # --- the factory's data -------------------------------------------------------------

    def reset(self) -> None:
        """Forget every landed file, table, checkpoint, alert state and the workshop's progress."""
        for folder in (self.storage.volumes, self.storage.lakehouse, self.storage.pipelines,
                       self.storage.root / "alerts", self.storage.root / PROGRESS_FILE.parent):  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)
        self.dashboards_file.unlink(missing_ok=True)
        self._registry = None
        register_tables(self.spark, self.storage)  # drops the names of tables that are gone

    @property
    def dashboards_file(self) -> Path:
        """Where part 6 exports the dashboards."""
        return self.storage.root / DASHBOARDS_FILE

    @property
    def registry(self) -> DeviceRegistry:
        """The device registry in the landing zone; generated and landed if there is none yet."""
        if self._registry is None:
            folder = self.storage.device_registry_landing
            if (folder / "devices.json").is_file():
                self._registry = DeviceRegistry.load(folder)
            else:
                self._registry = DeviceRegistry.generate(self.parameters.num_devices, seed=self.parameters.seed)
                self._registry.save(folder)
        return self._registry

    def land(self, part: int, what: str, scenario: Scenario, num_files: int | None = None) -> LandingManifest:
        """Land ``num_files`` readings files (default: the ``num_files`` parameter) and note them."""
        params = self.parameters
        landing = self.storage.readings_landing
        first_landing = not any(landing.glob("readings-*"))
        simulator = SensorSimulator(
            self.registry,
            seed=params.seed,
            # The first files start at the chosen simulated time; later ones continue its clock.
            start=params.start if first_landing else None,
            file_interval=params.file_interval,
        )
        manifest = simulator.land_batches(
            landing, num_files=num_files or params.num_files, readings_per_file=params.readings_per_file,
            scenario=scenario,
        )  # fmt: skip
        self.progress.note_landing(part, what, manifest)
        return manifest

    # --- the pipeline -------------------------------------------------------------------

    def run_update(self, part: int, full_refresh: bool | list[str] = False) -> UpdateResult:
        """One triggered update, then a line per flow in the pipeline's order. A failed update raises.

        The lines come after the update, in plan order: flows run side by side and finish in
        an order that varies from run to run, and nbval compares this output exactly.
        """
        update = self.pipeline.run(full_refresh=full_refresh)
        if not self.quiet:
            for run in update.flows:
                print_finished_flow(run)
            print(f"Update {update.state}.")
        if update.state != "COMPLETED":
            raise WorkshopError(
                f"The pipeline update failed: {update.error}. The event log has the details: "
                "factory.pipeline.events().where(\"level = 'ERROR'\")"
            )
        self.progress.note_update(part, update)
        register_tables(self.spark, self.storage)
        return update

    # --- tables ---------------------------------------------------------------------------

    def table(self, name: str) -> DataFrame:
        """``smart_factory.<name>`` (or a qualified name) as a DataFrame."""
        return self.spark.table(name if "." in name else f"{SCHEMA}.{name}")

    def count(self, name: str) -> int:
        return self.table(name).count()

    def has_table(self, name: str) -> bool:
        return (self.storage.table(name) / "_delta_log").is_dir()

    @property
    def progress(self) -> WorkshopProgress:
        return WorkshopProgress(self.storage.root / PROGRESS_FILE)


def print_finished_flow(run: FlowRun) -> None:
    """One line for a flow that finished (no timings, so reruns compare)."""
    if run.state in ("COMPLETED", "FAILED", "SKIPPED"):
        rows = f"{run.metrics.output_rows:>8,} rows written" if run.metrics else ""
        print(f"  {run.state.lower():<9} {run.name:<24}{rows}", flush=True)


@dataclass(frozen=True)
class WorkshopProgress:
    """What the workshop has done in this storage root: the parts finished, files landed, updates run.

    A small JSON file beside the data, so a notebook opened on its own knows what is missing.
    """

    path: Path

    def load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"parts_done": [], "landings": [], "updates": []}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def _save(self, state: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
        temporary.replace(self.path)

    @property
    def parts_done(self) -> list[int]:
        return self.load()["parts_done"]

    @property
    def landings(self) -> list[dict[str, Any]]:
        return self.load()["landings"]

    @property
    def updates(self) -> list[dict[str, Any]]:
        return self.load()["updates"]

    @property
    def factory_parameters(self) -> dict[str, Any]:
        """The parameters part 1 made this factory with (empty before part 1 ran)."""
        return self.load().get("factory_parameters", {})

    def note_factory_parameters(self, parameters: WorkshopParameters) -> None:
        state = self.load()
        state["factory_parameters"] = {name: getattr(parameters, name) for name in FACTORY_PARAMETERS}
        self._save(state)

    def mark_done(self, part: int) -> None:
        state = self.load()
        state["parts_done"] = sorted({*state["parts_done"], part})
        self._save(state)

    def note_landing(self, part: int, what: str, manifest: LandingManifest) -> None:
        state = self.load()
        summary = manifest.to_dict()  # JSON-ready
        state["landings"].append({
            "part": part, "what": what, "readings": summary["totals"]["readings"],
            "expected_rows": expected_rows(manifest), "files": [file["name"] for file in summary["files"]],
        })  # fmt: skip
        self._save(state)

    def note_update(self, part: int, update: UpdateResult) -> None:
        state = self.load()
        state["updates"].append({"part": part, "update_id": update.update_id, "state": update.state})
        self._save(state)


# A workshop kernel runs many small queries for a few minutes. The JVM's quick first JIT
# tier alone gets it through them sooner than the full JIT, which spends that time
# compiling code it hardly reuses: notebook 2 run on its own (Spark start, planning, the
# first update of 9,000 readings) went from 41 s to 31 s. Long, heavy jobs (the 1,000,000-
# reading benchmarks) want the full JIT, so this is the workshop's setting, not the default.
# Without the full JIT the JVM reserves only 48 MB for compiled code, which one pipeline
# update fills: it then throws compiled code away and compiles it again (a replay update
# took 16-18 s instead of 12-15 s), and once it failed a task ("Out of space in CodeCache").
WORKSHOP_SPARK_CONF = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"}


def setup(namespace: Mapping[str, Any] | WorkshopParameters | None = None, **overrides: Any) -> Workshop:
    """Start (or reuse) Spark on the storage root and return the workshop handle.

    ``namespace`` is usually ``globals()``: the parameters cell's names (``num_devices``,
    ``seed``…) are picked from it, and ``spark`` is defined in it, as in a Databricks notebook. Prints one line, without
    paths or times, so the cell's output is the same on every run.

    >>> factory = setup({"num_devices": 50})   # doctest: +SKIP
    Spark 4.2.0 with Delta Lake 4.4.0 is ready; storage root from SMART_FACTORY_STORAGE_ROOT.
    """
    if isinstance(namespace, WorkshopParameters):
        parameters = namespace
    else:
        parameters = WorkshopParameters.from_namespace({**(namespace or {}), **overrides})
    _quiet_notebook_output()
    storage = StoragePaths.from_env(parameters.storage_root)
    spark = get_spark(master=parameters.spark_master, storage_root=storage.root, conf=WORKSHOP_SPARK_CONF, shared=True)
    print(
        f"Spark {spark.version} with Delta Lake {metadata.version('delta-spark')} is ready; "
        f"storage root {_describe_storage_root(parameters)}."
    )
    factory = Workshop(parameters, spark, storage)
    if isinstance(namespace, dict):
        namespace["spark"] = spark  # predefined, as in a Databricks notebook
    from smart_factory.workshop.magics import register_magics  # display imports the session module

    register_magics(factory)
    return factory


def _describe_storage_root(parameters: WorkshopParameters) -> str:
    # Where the data is, in words that do not change from machine to machine.
    if parameters.storage_root:
        return "from the storage_root parameter"
    if os.environ.get(STORAGE_ROOT_ENV):
        return f"from {STORAGE_ROOT_ENV}"
    return "data/ of this checkout"


def _quiet_notebook_output() -> None:
    # Library warnings (a deprecation deep inside a dependency) are not part of the story;
    # errors still show. Spark's JVM output already goes to the storage root's logs/.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="pyspark")
    logging.getLogger("py4j").setLevel(logging.ERROR)
