"""Seconds per stage of the test run (unit, integration, notebooks), printed at the end.

CI's log then says where its minutes went without reading the per-test durations. The
hooks are imported into tests/conftest.py, which registers them.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

_SECONDS: defaultdict[str, float] = defaultdict(float)
_TESTS: defaultdict[str, set[str]] = defaultdict(set)


def stage_of(nodeid: str) -> str:
    """``tests/unit/test_x.py::test_y`` → ``tests/unit``; ``notebooks/01_x.ipynb::Cell 0`` → ``notebooks``."""
    folders = nodeid.split("::", 1)[0].split("/")[:-1]
    return "/".join(folders[:2]) or "."


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    stage = stage_of(report.nodeid)
    _SECONDS[stage] += report.duration
    _TESTS[stage].add(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _SECONDS:
        return
    terminalreporter.section("seconds per stage")
    for stage, seconds in sorted(_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{stage:<20} {seconds:7.1f} s  ({len(_TESTS[stage])} tests)")
