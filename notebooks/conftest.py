"""nbval runs the workshop notebooks here, in order, on a throwaway storage root (never data/).

nbval cannot pass parameters, so environment variables move the notebooks' data and turn
the worked solutions on: they are set while each notebook's kernel starts (the kernel keeps
them) and restored after, so the rest of the suite keeps its own root. The sanitize file is found wherever pytest runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smart_factory.lakehouse.paths import STORAGE_ROOT_ENV, StoragePaths
from smart_factory.lakehouse.shared_driver import HostFiles, stop_host
from smart_factory.workshop.parameters import SOLUTIONS_ENV

NOTEBOOKS_STORAGE_ROOT = Path(tempfile.mkdtemp(prefix="smart-factory-nbval-"))
SANITIZE_FILE = Path(__file__).with_name("nbval_sanitize.cfg")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The notebooks' kernels shared a driver host on this root: it goes with the root.
    stop_host(HostFiles.of(StoragePaths(NOTEBOOKS_STORAGE_ROOT)))
    shutil.rmtree(NOTEBOOKS_STORAGE_ROOT, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if getattr(config.option, "nbval", False) and not config.option.nbval_sanitize_with:
        config.option.nbval_sanitize_with = str(SANITIZE_FILE)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    # nbval runs the worked solutions, as the committed outputs do.
    moved = {STORAGE_ROOT_ENV: str(NOTEBOOKS_STORAGE_ROOT), SOLUTIONS_ENV: "1"}
    saved = {name: os.environ.get(name) for name in moved}
    os.environ.update(moved)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
