"""Unity Catalog volume paths (``/Volumes/<catalog>/<schema>/<volume>/…``) on a laptop.

Databricks code reads and writes volumes by path. Here those paths are translated, on the
driver, to folders under the storage root wherever PySpark's readers and writers take a
path, so ``spark.read.json("/Volumes/main/smart_factory/landing/…")`` runs unchanged.
Translating on the driver keeps Hadoop's file system untouched (a ViewFS mount table
would also work, but measured ~30% slower on many small files) and works on a cluster
whose workers share the storage root.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from pyspark.sql.readwriter import DataFrameReader, DataFrameWriter
from pyspark.sql.streaming.readwriter import DataStreamReader, DataStreamWriter

from smart_factory.lakehouse.paths import StoragePaths, is_volume_path

_PATH_METHODS: dict[type, tuple[str, ...]] = {
    DataFrameReader: ("load", "json", "csv", "parquet", "text", "orc"),
    DataStreamReader: ("load", "json", "csv", "parquet", "text", "orc"),
    DataFrameWriter: ("save", "json", "csv", "parquet", "text", "orc"),
    DataStreamWriter: ("start",),
}
_PATH_OPTIONS = frozenset({"path", "checkpointlocation"})
_PATCHED_MARK = "__smart_factory_volume_paths__"
_active_storage: StoragePaths | None = None


def resolve_path(path: Any) -> Any:
    """``path`` with any volume path mapped under the active storage root (lists too)."""
    if _active_storage is None:
        return path
    if isinstance(path, str):
        return _active_storage.resolve(path) if is_volume_path(path) else path
    if isinstance(path, list | tuple):
        return type(path)(resolve_path(item) for item in path)
    return path


def install_volume_paths(storage: StoragePaths) -> None:
    """Make every PySpark reader and writer in this process understand volume paths."""
    global _active_storage
    _active_storage = storage
    for cls, method_names in _PATH_METHODS.items():
        for name in method_names:
            _wrap(cls, name, _translate_path_arguments)
        _wrap(cls, "option", _translate_path_option)
        _wrap(cls, "options", _translate_path_options)


def _wrap(cls: type, name: str, translate: Callable[..., Any]) -> None:
    original = getattr(cls, name)
    if getattr(original, _PATCHED_MARK, False):
        return

    @functools.wraps(original)
    def with_volume_paths(self: Any, *args: Any, **kwargs: Any) -> Any:
        args, kwargs = translate(args, kwargs)
        return original(self, *args, **kwargs)

    setattr(with_volume_paths, _PATCHED_MARK, True)
    setattr(cls, name, with_volume_paths)


def _translate_path_arguments(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    # The path is the first positional argument (parquet takes several), or `path=`/`paths=`.
    args = tuple(
        resolve_path(arg) if index == 0 or (isinstance(arg, str) and is_volume_path(arg)) else arg
        for index, arg in enumerate(args)
    )
    for key in ("path", "paths"):
        if key in kwargs:
            kwargs[key] = resolve_path(kwargs[key])
    return args, kwargs


def _translate_path_option(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    if len(args) == 2 and str(args[0]).lower() in _PATH_OPTIONS:
        args = (args[0], resolve_path(args[1]))
    return args, kwargs


def _translate_path_options(args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    return args, {
        key: resolve_path(value) if key.lower() in _PATH_OPTIONS else value for key, value in kwargs.items()
    }
