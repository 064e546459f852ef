"""Shared fixtures: one Spark session per test run, on a throwaway storage root.

The storage-root variable is set before anything imports the project, so no test (and no
child process a test starts) can touch the user's own data/ folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_TEST_STORAGE_ROOT = Path(tempfile.mkdtemp(prefix="smart-factory-tests-"))
os.environ["SMART_FACTORY_STORAGE_ROOT"] = str(_TEST_STORAGE_ROOT)
# Notebook kernels the tests start share a driver host per storage root (lakehouse.shared_driver);
# a host whose notebooks are done leaves after 30 s instead of the interactive default.
os.environ.setdefault("SMART_FACTORY_SHARED_DRIVER_IDLE", "30")

from stage_timings import pytest_runtest_logreport, pytest_terminal_summary  # noqa: E402, F401 (registers the hooks)

from smart_factory.lakehouse import StoragePaths, get_spark  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    chaos = parser.getgroup("chaos", "the crash-anywhere test (tests/integration/test_pipeline_chaos.py)")
    chaos.addoption("--chaos-rounds", type=int, default=3, metavar="N",
                    help="updates killed by the chaos test (default 3: the everyday run)")  # fmt: skip
    chaos.addoption("--chaos-seed", type=int, default=None, metavar="SEED",
                    help="replay the chaos test's draw printed by a failed run (default: a new seed)")  # fmt: skip


# The chaos test's time grows with its rounds: each kills a child update (a JVM start and an
# update, a minute or two on a busy 2-core machine), so its timeout grows with them.
_CHAOS_SECONDS, _CHAOS_SECONDS_PER_ROUND = 600, 180


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rounds = config.getoption("--chaos-rounds", default=3)
    for item in items:
        if "chaos" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(_CHAOS_SECONDS + rounds * _CHAOS_SECONDS_PER_ROUND))


@pytest.fixture(scope="session")
def storage() -> StoragePaths:
    return StoragePaths(_TEST_STORAGE_ROOT)


@pytest.fixture(scope="session")
def spark(storage: StoragePaths) -> Iterator:
    session = get_spark(master="local[2]", storage_root=storage.root)
    yield session
    session.stop()


@pytest.fixture
def chromium() -> tuple[str, str]:
    """Debian's chromium and its driver; skipped without them, except on CI (.ci/run installs them)."""
    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (browser and driver):
        missing = "no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):  # a CI run without them must not pass quietly
            pytest.fail(missing)
        pytest.skip(missing)
    return browser, driver
