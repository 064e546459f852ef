"""Small Delta tables for dashboard tests, written with delta-rs: no Spark needed."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from deltalake import write_deltalake

from smart_factory.dashboards.reader import LakehouseReader
from smart_factory.lakehouse.paths import SCHEMA, StoragePaths


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def write_table(root: Path, table: str, rows: list[dict], schema: str = SCHEMA) -> None:
    """Add ``rows`` to ``<root>/lakehouse/<schema>/<table>`` (new columns are merged in)."""
    write_deltalake(str(StoragePaths(root).table(table, schema)), pd.DataFrame(rows), mode="append",
                    schema_mode="merge")  # fmt: skip


def reader_on(root: Path) -> LakehouseReader:
    return LakehouseReader(StoragePaths(root))


@contextmanager
def dashboard_server(root: Path, *options: str) -> Iterator[tuple[str, list[str]]]:
    """``smart-factory dashboard serve`` in a child process on a free port of 127.0.0.1.

    Yields its base URL and a list that holds the server's log (stdout and stderr) once it stopped.
    """
    server = subprocess.Popen(
        [sys.executable, "-m", "smart_factory.cli", "dashboard", "serve", "--port", "0", "--storage-root", str(root),
         *options],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    log: list[str] = []
    try:
        banner = server.stdout.readline()  # printed once the port is bound
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", banner)
        assert match, f"the server did not start: {banner}{server.stdout.read() if server.poll() is not None else ''}"
        yield f"http://127.0.0.1:{match.group(1)}", log
    finally:
        server.terminate()
        log.extend(server.communicate(timeout=10)[0].splitlines())
