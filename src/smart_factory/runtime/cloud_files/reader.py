"""``spark.readStream.format("cloudFiles")`` in open-source PySpark.

PySpark's stream reader hands format and options straight to the JVM, which knows no
``cloudFiles`` source. Installed once per process, this keeps a Python-side copy of what
each reader was told, and when ``load`` is called on a ``cloudFiles`` reader it builds the
stream from :class:`CloudFilesSource` instead; every other format goes through untouched.
"""

from __future__ import annotations

import functools
from typing import Any

from pyspark.sql.streaming.readwriter import DataStreamReader
from pyspark.sql.types import StructType

from smart_factory.lakehouse.volumes import resolve_path
from smart_factory.runtime.cloud_files.options import CloudFilesOptions
from smart_factory.runtime.cloud_files.source import CloudFilesSource

_SPEC = "_cloud_files_spec"
_INSTALLED = "__cloud_files_installed__"


def install_cloud_files() -> None:
    """Teach every ``DataStreamReader`` in this process the ``cloudFiles`` format."""
    if getattr(DataStreamReader.load, _INSTALLED, False):
        return
    original = {name: getattr(DataStreamReader, name) for name in ("format", "option", "options", "schema", "load")}

    def spec(reader: DataStreamReader) -> dict[str, Any]:
        if not hasattr(reader, _SPEC):
            setattr(reader, _SPEC, {"format": None, "options": {}, "schema": None})
        return getattr(reader, _SPEC)

    @functools.wraps(original["format"])
    def format(self: DataStreamReader, source: str) -> DataStreamReader:
        spec(self)["format"] = source
        if source.lower() == "cloudfiles":
            return self  # the JVM never sees this format
        return original["format"](self, source)

    @functools.wraps(original["option"])
    def option(self: DataStreamReader, key: str, value: Any) -> DataStreamReader:
        spec(self)["options"][key] = value
        return original["option"](self, key, value)

    @functools.wraps(original["options"])
    def options(self: DataStreamReader, **options: Any) -> DataStreamReader:
        spec(self)["options"].update(options)
        return original["options"](self, **options)

    @functools.wraps(original["schema"])
    def schema(self: DataStreamReader, schema: StructType | str) -> DataStreamReader:
        spec(self)["schema"] = schema
        return original["schema"](self, schema)

    @functools.wraps(original["load"])
    def load(self: DataStreamReader, path: str | None = None, format: str | None = None,
             schema: StructType | str | None = None, **options: Any) -> Any:  # fmt: skip
        recorded = spec(self)
        chosen_format = format or recorded["format"]
        if not (chosen_format and chosen_format.lower() == "cloudfiles"):
            return original["load"](self, path, format, schema, **options)
        all_options = {**recorded["options"], **options}
        target = path or all_options.get("path")
        if not target:
            raise ValueError("cloudFiles needs a path: .load('/Volumes/…/landing')")
        user_schema = schema or recorded["schema"]
        if isinstance(user_schema, str):
            user_schema = StructType.fromDDL(user_schema)
        return CloudFilesSource(
            spark=self._spark,
            path=resolve_path(target),
            options=CloudFilesOptions.parse({k: str(v) for k, v in all_options.items()}),
            user_schema=user_schema,
        ).stream()

    for name, wrapper in (("format", format), ("option", option), ("options", options),
                          ("schema", schema), ("load", load)):  # fmt: skip
        setattr(DataStreamReader, name, wrapper)
    setattr(DataStreamReader.load, _INSTALLED, True)
