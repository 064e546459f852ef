"""How much heap the Spark driver JVM gets: a share of the machine's memory, or what you set.

In local mode the driver also runs every task, so its heap bounds the largest file and
record Spark can hold. A fixed 1 GB meant one 50 MB single-line file killed the JVM on a
machine with 24 GB. The default is now a quarter of physical memory (the JVM's own default
share), at least 1 GB and at most 4 GB: more only fills up before G1 collects, and several
drivers (notebook hosts, tests, the CLI) may share one laptop. ``$SMART_FACTORY_DRIVER_MEMORY``
(``6g``, ``3072m``) sets it; ``spark.driver.memory`` in a site conf file or ``conf`` still wins.
"""

from __future__ import annotations

import os

from smart_factory.errors import InvalidSparkSetting

DRIVER_MEMORY_ENV = "SMART_FACTORY_DRIVER_MEMORY"
_MIB = 1024 * 1024
_MIN_HEAP_MIB = 1024
_MAX_DEFAULT_HEAP_MIB = 4096
_UNITS_MIB = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


def physical_memory_bytes() -> int | None:
    """The machine's physical memory, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None


def default_driver_memory(physical_bytes: int | None = None) -> str:
    """A quarter of ``physical_bytes`` (this machine's by default), between 1 GB and 4 GB, as ``"<n>m"``.

    >>> default_driver_memory(24 * 1024**3), default_driver_memory(8 * 1024**3), default_driver_memory(2 * 1024**3)
    ('4096m', '2048m', '1024m')
    """
    physical = physical_bytes if physical_bytes is not None else physical_memory_bytes()
    quarter_mib = (physical or 0) // 4 // _MIB
    return f"{min(max(quarter_mib, _MIN_HEAP_MIB), _MAX_DEFAULT_HEAP_MIB)}m"


def driver_memory() -> str:
    """The heap for a new driver JVM: ``$SMART_FACTORY_DRIVER_MEMORY`` if set (checked), else the default."""
    chosen = os.environ.get(DRIVER_MEMORY_ENV, "").strip()
    if not chosen:
        return default_driver_memory()
    mib = memory_mib(chosen)
    if mib is None or mib < 512:
        raise InvalidSparkSetting(
            f"{DRIVER_MEMORY_ENV}={chosen!r} is not a driver heap size: give at least 512m, e.g. 4g or 3072m "
            "(or unset it for a quarter of this machine's memory)."
        )
    return chosen.lower()


def memory_mib(size: str) -> int | None:
    """A ``spark.driver.memory`` size (``4g``, ``3072m``; a plain number is MiB, as Spark reads it) in MiB.

    None when it is not one.

    >>> memory_mib("4g"), memory_mib("3072M"), memory_mib("2048"), memory_mib("lots")
    (4096, 3072, 2048, None)
    """
    text = size.strip().lower().removesuffix("b")
    number, unit = (text[:-1], text[-1]) if text[-1:].isalpha() else (text, "")
    if not number.isdigit():
        return None
    if not unit:
        return int(number)
    return int(int(number) * _UNITS_MIB[unit]) if unit in _UNITS_MIB else None
