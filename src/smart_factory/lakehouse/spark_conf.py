"""Spark settings on top of the project's defaults: a site's conf file, then the caller's ``conf``.

A cluster needs settings a laptop does not (executor memory and cores, the driver's address,
object-store credentials). They go in a file in Spark's own ``spark-defaults.conf`` format,
named by ``$SMART_FACTORY_SPARK_CONF``, so notebooks, the CLI and tests pick them up unchanged.
List-valued settings add to the project's value instead of replacing it: a site's extra
``spark.jars`` or ``spark.jars.packages`` (hadoop-aws, say) must not drop the Delta jars.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from smart_factory.errors import InvalidSparkSetting

SPARK_CONF_ENV = "SMART_FACTORY_SPARK_CONF"
# Setting -> separator: an override's items are added after the ones already set.
APPENDED_SETTINGS: dict[str, str] = {
    "spark.jars": ",",
    "spark.jars.packages": ",",
    "spark.driver.extraJavaOptions": " ",
    "spark.executor.extraJavaOptions": " ",
    "spark.driver.extraClassPath": os.pathsep,
    "spark.executor.extraClassPath": os.pathsep,
}
_LINE = re.compile(r"(?P<key>[^\s=:]+)\s*(?:[=:]\s*|\s+)(?P<value>.*)")


def read_conf_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """Settings from a ``spark-defaults.conf``-style file: ``key value`` or ``key=value`` lines.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
    ...     _ = f.write("# cluster sizing\\nspark.executor.memory  4g\\nspark.executor.cores=2\\n")
    >>> read_conf_file(f.name)
    {'spark.executor.memory': '4g', 'spark.executor.cores': '2'}
    """
    conf_file = Path(path).expanduser()
    try:
        lines = conf_file.read_text().splitlines()
    except OSError as error:
        raise InvalidSparkSetting(
            f"{SPARK_CONF_ENV} names {conf_file}, which cannot be read ({error.strerror or error}). "
            "Point it at a spark-defaults.conf-style file, or unset it."
        ) from None
    settings: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith(("#", "!")):
            continue
        match = _LINE.fullmatch(text)
        if not match or not match["key"].startswith("spark."):
            raise InvalidSparkSetting(
                f"{conf_file}:{number}: {text!r} is not a Spark setting; each line reads "
                "`spark.some.key value` (or `spark.some.key=value`)."
            )
        settings[match["key"]] = match["value"].strip()
    return settings


def site_conf() -> dict[str, str]:
    """The settings in the file ``$SMART_FACTORY_SPARK_CONF`` names, or none."""
    path = os.environ.get(SPARK_CONF_ENV, "").strip()
    return read_conf_file(path) if path else {}


def merge_conf(base: Mapping[str, str], *overrides: Mapping[str, str]) -> dict[str, str]:
    """``base`` with each of ``overrides`` applied in turn; list-valued settings are joined.

    >>> merge_conf({"spark.jars": "delta.jar", "spark.sql.shuffle.partitions": "4"},
    ...            {"spark.jars": "extra.jar", "spark.sql.shuffle.partitions": "64"})
    {'spark.jars': 'delta.jar,extra.jar', 'spark.sql.shuffle.partitions': '64'}
    """
    merged = dict(base)
    for layer in overrides:
        for key, value in layer.items():
            separator = APPENDED_SETTINGS.get(key)
            if separator and merged.get(key):
                merged[key] = separator.join(part for part in (merged[key], value) if part)
            else:
                merged[key] = value
    return merged
