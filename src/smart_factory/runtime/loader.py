"""Load pipeline files the way Databricks does: ``dlt`` importable, ``spark`` predefined.

A pipeline file written for Databricks says ``import dlt`` (or, in the newer spelling,
``from pyspark import pipelines as dp``) and uses a global ``spark``; it imports nothing
from this project. While the files load, both module names point at
:mod:`smart_factory.runtime.api` — even though open-source PySpark has a
``pyspark.pipelines`` of its own — and are restored afterwards.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import pyspark
from pyspark.sql import SparkSession

from smart_factory.errors import PipelineDefinitionError, SmartFactoryError
from smart_factory.runtime import api
from smart_factory.runtime.registry import PipelineRegistry, collecting_definitions

_MODULE_NAMES = ("dlt", "pyspark.pipelines")


def load_pipeline_files(files: list[Path], spark: SparkSession) -> PipelineRegistry:
    """Run each file once to collect its definitions (no data is read or written)."""
    with collecting_definitions() as registry, dlt_importable():
        for file in files:
            _run_file(file, spark)
    return registry


@contextmanager
def dlt_importable() -> Iterator[None]:
    saved_modules = {name: sys.modules.get(name) for name in _MODULE_NAMES}
    saved_attribute = getattr(pyspark, "pipelines", None)
    for name in _MODULE_NAMES:
        sys.modules[name] = api
    pyspark.pipelines = api  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        if saved_attribute is None:
            delattr(pyspark, "pipelines")
        else:
            pyspark.pipelines = saved_attribute  # type: ignore[attr-defined]


def _run_file(file: Path, spark: SparkSession) -> None:
    try:
        source = file.read_text(encoding="utf-8")
    except OSError as error:
        raise PipelineDefinitionError(f"Cannot read the pipeline file {file}: {error.strerror}") from None
    try:
        code = compile(source, str(file), "exec")
    except SyntaxError as error:
        raise PipelineDefinitionError(f"{file.name}:{error.lineno}: syntax error: {error.msg}") from None
    module = ModuleType(f"pipeline_{file.stem}")
    module.__file__ = str(file)
    module.__dict__["spark"] = spark
    try:
        exec(code, module.__dict__)
    except SmartFactoryError:
        raise
    except Exception as error:
        raise PipelineDefinitionError(
            f"{file.name}:{_line_in(file, error)}: {type(error).__name__}: {error}"
        ) from error


def _line_in(file: Path, error: BaseException) -> int | str:
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(file)]
    return frames[-1].lineno if frames else "?"

