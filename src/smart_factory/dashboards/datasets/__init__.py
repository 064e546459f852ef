"""What each panel shows, as small frames: one loader per panel, ``loader(reader) -> DataFrame``.

Loaders do their work in DuckDB SQL over the Delta tables; Python only reshapes the few
rows that come back. Times are naive UTC.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from smart_factory.dashboards.reader import LakehouseReader


@dataclass(frozen=True)
class SqlDataset:
    """A loader that is one DuckDB query over some tables (named in the SQL by their bare names).

    >>> newest = SqlDataset("SELECT max(event_time) AS at FROM silver_readings", "silver_readings")
    >>> newest(reader)  # doctest: +SKIP
    """

    sql: str
    tables: tuple[str, ...]

    def __init__(self, sql: str, *tables: str) -> None:
        object.__setattr__(self, "sql", sql)
        object.__setattr__(self, "tables", tables)

    def __call__(self, reader: LakehouseReader) -> pd.DataFrame:
        return reader.query(self.sql, *self.tables)
