"""The helper jar's JVM classes, as a session sees them: a class, or None when the jar is not loaded."""

from __future__ import annotations

from py4j.java_gateway import JavaClass
from pyspark.sql import SparkSession

_FOUND: dict[tuple[int, str], object | None] = {}  # (Py4J gateway, class name) -> class or None


def jvm_helper(spark: SparkSession, class_name: str) -> object | None:
    """The helper class ``class_name`` (``smartfactory.…``), or None without the helper jar."""
    key = (id(spark.sparkContext._gateway), class_name)
    if key not in _FOUND:
        found = spark.sparkContext._jvm
        for part in class_name.split("."):
            found = getattr(found, part)
        _FOUND[key] = found if isinstance(found, JavaClass) else None
    return _FOUND[key]
