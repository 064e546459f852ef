"""Auto Loader (``cloudFiles``) for open-source Spark: incremental, exactly-once file ingestion
with schema inference, schema evolution and rescued data.

>>> install_cloud_files()                                   # doctest: +SKIP
>>> (spark.readStream.format("cloudFiles")                  # doctest: +SKIP
...     .option("cloudFiles.format", "json")
...     .option("cloudFiles.schemaLocation", "/Volumes/main/smart_factory/landing/_schemas")
...     .load("/Volumes/main/smart_factory/landing/sensor_readings"))
"""

from smart_factory.runtime.cloud_files.options import CloudFilesOptions
from smart_factory.runtime.cloud_files.reader import install_cloud_files
from smart_factory.runtime.cloud_files.schema_store import SchemaStore
from smart_factory.runtime.cloud_files.source import (
    CloudFilesSource,
    managed_schema_location,
    schema_change_from,
)

__all__ = [
    "CloudFilesOptions",
    "CloudFilesSource",
    "SchemaStore",
    "install_cloud_files",
    "managed_schema_location",
    "schema_change_from",
]
