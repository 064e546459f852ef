"""Small Delta tables for dashboard tests, written with delta-rs: no Spark needed."""

from __future__ import annotations

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
