"""Tools for testing the runtime the hard way: crashes at named points, in child processes.

- :mod:`~smart_factory.testing.fault_points`: the registry of named fault points, the
  environment variables that arm them, and the hooks runtime code calls (standard library
  only, since the runtime imports it).
- :mod:`~smart_factory.testing.faults`: run any command in a child process armed with a
  :class:`Fault`, check it died by SIGKILL where asked, or stop it there and kill it later.
- :mod:`~smart_factory.testing.ingestion_child`: one landing-to-bronze ingestion, runnable
  as that child (``python -m smart_factory.testing.ingestion_child``) and in-process.
- :mod:`~smart_factory.testing.pipeline_child`: one pipeline update, the same way
  (``python -m smart_factory.testing.pipeline_child``).

This package imports neither Spark nor the runtime, so the runtime can import its hooks.
"""

from smart_factory.testing.fault_points import FAULT_POINTS, FaultInjectionError, FaultPoint
from smart_factory.testing.faults import (
    ChildResult,
    Fault,
    FaultNotTriggered,
    RunningChild,
    crash_child,
    expect_crash,
    run_child,
    start_child,
)

__all__ = [
    "FAULT_POINTS",
    "ChildResult",
    "Fault",
    "FaultInjectionError",
    "FaultNotTriggered",
    "FaultPoint",
    "RunningChild",
    "crash_child",
    "expect_crash",
    "run_child",
    "start_child",
]
