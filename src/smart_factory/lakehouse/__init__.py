"""The lakehouse: a Spark + Delta session, its storage layout, and the tables in it."""

from smart_factory.lakehouse.catalog import register_tables, save_table
from smart_factory.lakehouse.paths import (
    DEVICE_REGISTRY_LANDING,
    LANDING_VOLUME,
    READINGS_LANDING,
    SCHEMA,
    StoragePaths,
)
from smart_factory.lakehouse.session import get_spark, stop_spark, storage_of
from smart_factory.lakehouse.volumes import resolve_path

__all__ = [
    "DEVICE_REGISTRY_LANDING",
    "LANDING_VOLUME",
    "READINGS_LANDING",
    "SCHEMA",
    "StoragePaths",
    "get_spark",
    "register_tables",
    "resolve_path",
    "save_table",
    "stop_spark",
    "storage_of",
]
