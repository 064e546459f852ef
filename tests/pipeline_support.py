"""Build small pipelines from inline DLT code for runtime tests."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

from pyspark.sql import SparkSession

from smart_factory.runtime.pipeline import Pipeline
from smart_factory.runtime.settings import PipelineSettings


def make_pipeline(
    spark: SparkSession,
    folder: Path,
    code: str,
    configuration: dict[str, str] | None = None,
    target: str | None = None,
) -> Pipeline:
    """A pipeline from ``code`` (DLT Python) in its own target schema and storage folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.py").write_text(textwrap.dedent(code))
    target = target or f"test_{uuid.uuid4().hex[:8]}"
    settings = PipelineSettings.from_mapping(
        {
            "name": f"pipeline_{target}",
            "target": target,
            "libraries": ["pipeline.py"],
            "configuration": configuration or {},
            "storage": str(folder / "storage"),
        },
        base=folder,
    )
    return Pipeline(settings, spark)


REPO = Path(__file__).resolve().parents[1]


def smart_factory_settings(folder: Path, landing: Path, registry: Path) -> dict:
    """Settings of the real pipelines/dlt_pipeline.py in its own target schema, reading ``landing``."""
    import yaml

    raw = yaml.safe_load((REPO / "pipelines" / "pipeline.yml").read_text())
    target = f"factory_{uuid.uuid4().hex[:8]}"
    raw.update(name=f"Smart_Factory_{target}", target=target, storage=str(folder / "storage"))
    raw["libraries"] = [{"file": {"path": str(REPO / "pipelines" / "dlt_pipeline.py")}}]
    raw["configuration"].update(
        {"smart_factory.landing_path": str(landing), "smart_factory.device_registry_path": str(registry)}
    )
    return raw


def smart_factory_pipeline(spark: SparkSession, folder: Path, landing: Path, registry: Path) -> Pipeline:
    """The real pipelines/dlt_pipeline.py, in its own target schema, reading ``landing``."""
    raw = smart_factory_settings(folder, landing, registry)
    return Pipeline(PipelineSettings.from_mapping(raw, base=REPO / "pipelines"), spark)


def write_smart_factory_settings(folder: Path, landing: Path, registry: Path) -> Path:
    """The same settings as a file, for an update run in a child process."""
    import yaml

    settings_file = folder / "pipeline.yml"
    folder.mkdir(parents=True, exist_ok=True)
    settings_file.write_text(yaml.safe_dump(smart_factory_settings(folder, landing, registry)))
    return settings_file


def assert_gold_equals_recomputation(spark: SparkSession, target: str) -> None:
    """gold_device_hourly, however it was refreshed, equals the same aggregates computed afresh."""
    recomputed = spark.sql(f"""
        SELECT window.start AS hour_start, window.end AS hour_end, device_id,
               round(avg(temperature_celsius), 2) AS avg_temperature_celsius,
               max(temperature_celsius) AS max_temperature_celsius,
               round(avg(vibration_hz), 2) AS avg_vibration_hz, count(*) AS readings
        FROM {target}.silver_readings GROUP BY window(event_time, '1 hour'), device_id""")
    gold = spark.table(f"{target}.gold_device_hourly")
    assert gold.count() == recomputed.count()
    assert gold.exceptAll(recomputed).count() == 0
    assert recomputed.exceptAll(gold).count() == 0
