"""Read the lakehouse's Delta tables without Spark: delta-rs reads them, DuckDB queries them.

A dashboard refresh has to answer in well under two seconds. One Spark SQL query costs
about that on its own (planning, scheduling a job), and a dashboard runs a dozen; delta-rs
(the ``deltalake`` package) reads the very tables delta-spark writes — snapshot isolation,
deletion vectors and the VARIANT type included — into Arrow, and DuckDB runs the panels' SQL
over them in milliseconds. docs/dashboards.md has the measurements.

Each table is read once per Delta version and kept, so a refresh with no new commit only
looks up the tables' versions (a few milliseconds per table).

    reader = LakehouseReader(StoragePaths.from_env())
    reader.query("SELECT count(*) AS n FROM silver_readings", "silver_readings")
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, VariantType
from deltalake.exceptions import TableNotFoundError

from smart_factory.errors import PanelDataUnavailable
from smart_factory.lakehouse.paths import SCHEMA, StoragePaths

# What a missing table means, when "the pipeline has not run" is not the answer.
_HOW_TABLES_APPEAR = {"alert_history": "it appears once the alerts have been evaluated (smart_factory.alerts)"}


class _ParquetVariant(pa.ExtensionType):
    """Arrow's canonical extension type for a Parquet VARIANT (a metadata + value binary pair).

    delta-rs hands a VARIANT column over as its physical struct; tagging it with this
    extension lets DuckDB decode it natively, so ``details.flow_progress.metrics`` paths work
    in SQL and no Python code walks the rows.
    """

    def __init__(self, storage_type: pa.DataType) -> None:
        super().__init__(storage_type, "arrow.parquet.variant")

    def __arrow_ext_serialize__(self) -> bytes:
        return b""

    @classmethod
    def __arrow_ext_deserialize__(cls, storage_type: pa.DataType, serialized: bytes) -> _ParquetVariant:
        return cls(storage_type)


@dataclass(frozen=True)
class _Snapshot:
    state: str
    data: pa.Table


class LakehouseReader:
    """Read-only, cached access to the tables of one schema (``smart_factory`` by default).

    Safe to share between threads (the web server answers requests in several).
    """

    def __init__(self, storage: StoragePaths, schema: str = SCHEMA) -> None:
        self.storage = storage
        self.schema = schema
        self._snapshots: dict[str, _Snapshot] = {}
        self._schema_histories: dict[str, _SchemaHistory] = {}
        self._lock = threading.Lock()
        self._database = duckdb.connect()

    def folder(self, table: str) -> Path:
        return self.storage.table(table, schema=self.schema)

    def exists(self, table: str) -> bool:
        return self._open(table) is not None

    def state(self, table: str) -> str | None:
        """What the table is now: its Delta id and version (None when it does not exist yet).

        The id matters: a full refresh deletes a table and writes it anew from version 0.
        """
        opened = self._open(table)
        return None if opened is None else _state_of(opened)

    def fingerprint(self, tables: tuple[str, ...]) -> dict[str, str | None]:
        """The state of each of ``tables``: it changes exactly when one of them gets a new commit."""
        return {table: self.state(table) for table in tables}

    def table(self, table: str) -> pa.Table:
        """The table's latest snapshot as Arrow; raises :class:`PanelDataUnavailable` when missing."""
        opened = self._open(table)
        if opened is None:
            how = _HOW_TABLES_APPEAR.get(table, "run the pipeline (smart-factory pipeline run) to create it")
            raise PanelDataUnavailable(f"The table {self.schema}.{table} does not exist yet: {how}.")
        state = _state_of(opened)
        with self._lock:
            cached = self._snapshots.get(table)
            if cached is not None and cached.state == state:
                return cached.data
        data = _with_variants_tagged(opened, opened.to_pyarrow_table())
        with self._lock:
            self._snapshots[table] = _Snapshot(state, data)
        return data

    def query(self, sql: str, *tables: str) -> pd.DataFrame:
        """Run DuckDB ``sql`` over ``tables`` (referenced by their bare names); all times in UTC."""
        # A cursor is a cheap connection of its own to the shared in-memory database, so
        # concurrent requests never see each other's registered tables.
        cursor = self._database.cursor()
        try:
            cursor.execute("SET TimeZone = 'UTC'")
            for table in tables:
                cursor.register(table, self.table(table))
            return cursor.execute(sql).df()
        finally:
            cursor.close()

    def schema_history(self, table: str) -> pd.DataFrame:
        """One row per schema the table has had: ``version``, ``committed_at`` (UTC), ``columns``.

        Read from the commits kept in the Delta log (30 days by default): a commit that
        changes the table's schema carries a ``metaData`` action with the whole new schema.
        Commits already read are not read again.
        """
        opened = self._open(table)
        if opened is None:
            self.table(table)  # raises the "does not exist yet" explanation
        table_id = opened.metadata().id
        with self._lock:
            history = self._schema_histories.get(table)
            if history is None or history.table_id != table_id:  # new, or deleted and written anew
                history = self._schema_histories[table] = _SchemaHistory(table_id)
            history.read_new_commits(self.folder(table) / "_delta_log")
            return history.frame()

    def _open(self, table: str) -> DeltaTable | None:
        folder = self.folder(table)
        if not (folder / "_delta_log").is_dir():
            return None
        try:
            return DeltaTable(str(folder))
        except TableNotFoundError:  # the folder is there, its first commit is not (yet)
            return None


def _state_of(opened: DeltaTable) -> str:
    return f"{opened.metadata().id}@{opened.version()}"


def _with_variants_tagged(opened: DeltaTable, data: pa.Table) -> pa.Table:
    for field in opened.schema().fields:
        if isinstance(field.type, VariantType):
            index = data.schema.get_field_index(field.name)
            column = data.column(index).combine_chunks()
            tagged = pa.ExtensionArray.from_storage(_ParquetVariant(column.type), column)
            data = data.set_column(index, field.name, tagged)
    return data


class _SchemaHistory:
    """The schema versions found so far in one table's Delta log, and how far it was read."""

    def __init__(self, table_id: str) -> None:
        self.table_id = table_id
        self.rows: list[dict] = []
        self.last_commit = -1

    def read_new_commits(self, log_folder: Path) -> None:
        commits = sorted((int(path.stem), path) for path in log_folder.glob("*.json") if path.stem.isdigit())
        for version, path in commits:
            if version <= self.last_commit:
                continue
            committed_at, columns = None, None
            for line in path.read_text(encoding="utf-8").splitlines():
                action = json.loads(line)
                if "commitInfo" in action:
                    committed_at = action["commitInfo"].get("timestamp")
                elif "metaData" in action:
                    columns = [field["name"] for field in json.loads(action["metaData"]["schemaString"])["fields"]]
            if columns is not None and (not self.rows or columns != self.rows[-1]["columns"]):
                self.rows.append({"version": version, "committed_at": committed_at, "columns": columns})
            self.last_commit = version

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=["version", "committed_at", "columns"])
        frame["committed_at"] = pd.to_datetime(frame["committed_at"], unit="ms", utc=True).dt.tz_localize(None)
        return frame
