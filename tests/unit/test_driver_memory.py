"""The driver's heap follows the machine unless set (``lakehouse/driver_memory.py``)."""

from __future__ import annotations

import pytest

from smart_factory.errors import InvalidSparkSetting
from smart_factory.lakehouse.driver_memory import DRIVER_MEMORY_ENV, default_driver_memory, driver_memory
from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.lakehouse.session import _session_conf

GIB = 1024**3


@pytest.mark.parametrize(
    ("physical", "heap"), [(2 * GIB, "1024m"), (8 * GIB, "2048m"), (12 * GIB, "3072m"), (64 * GIB, "4096m")]
)
def test_the_default_heap_is_a_quarter_of_physical_memory_between_1_and_4_gb(physical: int, heap: str) -> None:
    assert default_driver_memory(physical) == heap


def test_the_heap_can_be_set_and_a_site_conf_still_wins(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv(DRIVER_MEMORY_ENV, "6G")
    assert driver_memory() == "6g"
    conf = _session_conf(StoragePaths(tmp_path), [], {})
    assert conf["spark.driver.memory"] == "6g"
    assert _session_conf(StoragePaths(tmp_path), [], {"spark.driver.memory": "2g"})["spark.driver.memory"] == "2g"


@pytest.mark.parametrize("value", ["lots", "100m", "4x"])
def test_a_heap_that_is_not_one_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(DRIVER_MEMORY_ENV, value)
    with pytest.raises(InvalidSparkSetting, match=f"{DRIVER_MEMORY_ENV}='{value}' is not a driver heap size"):
        driver_memory()
