"""Helpers for tests that need a second process, as a second notebook or terminal would be."""

from __future__ import annotations

import os
import subprocess
import sys


def run_python(
    code: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter (a second process, as a second notebook would be)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, timeout=timeout, check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run the installed ``smart-factory`` command in a child process."""
    return run_python(
        f"import sys; from smart_factory.cli import main; sys.exit(main({list(args)!r}))",
        env=env,
        timeout=timeout,
    )
