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


def smart_factory_pipeline(spark: SparkSession, folder: Path, landing: Path, registry: Path) -> Pipeline:
    """The real pipelines/dlt_pipeline.py, in its own target schema, reading ``landing``."""
    import yaml

    raw = yaml.safe_load((REPO / "pipelines" / "pipeline.yml").read_text())
    target = f"factory_{uuid.uuid4().hex[:8]}"
    raw.update(name=f"Smart_Factory_{target}", target=target, storage=str(folder / "storage"))
    raw["configuration"].update(
        {"smart_factory.landing_path": str(landing), "smart_factory.device_registry_path": str(registry)}
    )
    return Pipeline(PipelineSettings.from_mapping(raw, base=REPO / "pipelines"), spark)
