"""What a Delta table's log says right now, read through Delta's own API (no Spark job)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from smart_factory.runtime.files import write_text_atomically

# In a stream's checkpoint: the Delta tables it began reading from the log, and from which version.
STARTING_VERSIONS_FILE = "_delta_starting_versions.json"


def latest_snapshot(spark: SparkSession, table_path: str) -> Any | None:
    """The table's current Delta snapshot (a JVM object), or None when there is no table yet."""
    if not (Path(table_path) / "_delta_log").is_dir():
        return None
    jvm = spark._jvm
    return updated_snapshot(jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, table_path))  # type: ignore[union-attr]


def updated_snapshot(delta_log: Any) -> Any:
    """The newest snapshot of a ``DeltaLog`` (a JVM object), after looking for new commits."""
    defaults = [getattr(delta_log, f"update$default${index}")() for index in (1, 2, 3)]
    return delta_log.update(*defaults)


def committed_txn_version(spark: SparkSession, table_path: str, app_id: str) -> int | None:
    """The highest batch id ``app_id`` has committed to the table, or None.

    A micro-batch replayed after a crash (its Delta commit done, Spark's checkpoint commit
    not) must be recognised *before* its write is planned: Delta would skip the write anyway,
    but then no job runs and the batch's expectation metrics would never arrive.

    Asking the Delta snapshot costs a Spark job over the table's whole log (about 0.6 s, for
    every batch of every update); the writer's last ``txn`` action is nearly always in one of
    the newest commit files, which are read directly. Only when none of the commits since
    the last checkpoint holds one is the snapshot asked.
    """
    log = Path(table_path) / "_delta_log"
    if not log.is_dir():
        return None
    known, found = _txn_in_recent_commits(log, app_id)
    return found if known else snapshot_txn_version(spark, table_path, app_id)


def snapshot_txn_version(spark: SparkSession, table_path: str, app_id: str) -> int | None:
    """:func:`committed_txn_version` as Delta's snapshot of the whole log answers it."""
    snapshot = latest_snapshot(spark, table_path)
    if snapshot is None:
        return None
    version = snapshot.transactions().get(app_id)
    return int(version.get()) if version.isDefined() else None


def _txn_in_recent_commits(log: Path, app_id: str) -> tuple[bool, int | None]:
    """Whether the JSON commits back to the last checkpoint settle it, and ``app_id``'s version.

    They do when one holds a ``txn`` of ``app_id``, or when every commit since version 0
    is there and none does; otherwise an older checkpoint may hold it. Each commit file is
    written whole (Delta's atomic put), so a listed file is complete; txn versions only
    grow, so the newest one found is the answer.
    """
    versions = _commit_versions(log)[::-1]
    checkpoint = _last_checkpoint_version(log)
    for version in versions:
        if version < checkpoint:
            break
        for line in _commit_file(log, version).read_text(encoding="utf-8").splitlines():
            if '"txn"' not in line:
                continue
            txn = json.loads(line).get("txn")
            if txn and txn.get("appId") == app_id:
                return True, int(txn["version"])
    # Delta removes the oldest commits first, so when commit 0 is there, all of them are.
    whole_history_read = checkpoint < 0 and (not versions or versions[-1] == 0)
    return whole_history_read, None


def table_size(table_path: str) -> int | None:
    """The bytes of the table's current data files, from the checksum of its newest commit.

    None when that checksum is missing (Delta writes one per commit, but need not), so the
    caller must not count on it.
    """
    log = Path(table_path) / "_delta_log"
    versions = _commit_versions(log) if log.is_dir() else []
    if not versions:
        return None
    try:
        checksum = json.loads((log / f"{versions[-1]:020d}.crc").read_text(encoding="utf-8"))
        return int(checksum["tableSizeBytes"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def commits_since_checkpoint(table_path: str) -> int:
    """How many commits the table's log holds after its last checkpoint (all of them, without one)."""
    log = Path(table_path) / "_delta_log"
    versions = _commit_versions(log) if log.is_dir() else []
    return len([version for version in versions if version > _last_checkpoint_version(log)])


def _commit_versions(log: Path) -> list[int]:
    """The versions of the JSON commit files in the log, oldest first."""
    return sorted(int(entry.stem) for entry in log.glob("*.json") if entry.stem.isdigit())


def _commit_file(log: Path, version: int) -> Path:
    return log / f"{version:020d}.json"


def _last_checkpoint_version(log: Path) -> int:
    try:
        return int(json.loads((log / "_last_checkpoint").read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        # No checkpoint yet, or a pointer being rewritten: scan every JSON commit (and let
        # the snapshot answer if that is not the whole history).
        return -1


def log_start_version(table_path: str, checkpoint: str | Path) -> int | None:
    """``startingVersion`` for a stream over the table that reads the log from version 0.

    A stream starting from a table's current snapshot lists that snapshot's files with
    Spark jobs (about 1 s each time, more on a cold JVM), and Spark repeats that on the next
    restart, when it re-plans the stream's last batch. Reading the log from version 0 gives
    the same rows from a few small commit files, so a new stream does that when
    :func:`append_only_history` holds. The choice is kept in the stream's checkpoint, so
    later runs re-plan its first batch the way it was run. None: Delta's default, the
    snapshot.
    """
    first_commit = _commit_file(Path(table_path) / "_delta_log", 0)
    table_id = _table_id(first_commit) if first_commit.is_file() else None
    if table_id is None:
        return None
    marker = Path(checkpoint) / STARTING_VERSIONS_FILE
    chosen: dict[str, int] = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    if any((Path(checkpoint) / "offsets").glob("[0-9]*")):
        return chosen.get(table_id)  # the stream has begun: as it began
    if not append_only_history(table_path):
        return None
    chosen[table_id] = 0
    write_text_atomically(marker, json.dumps(chosen))
    return 0


def _table_id(first_commit: Path) -> str | None:
    for line in first_commit.read_text(encoding="utf-8").splitlines():
        if '"metaData"' in line:
            return json.loads(line)["metaData"]["id"]
    return None


def append_only_history(table_path: str, max_commits: int = 1000) -> bool:
    """Whether every commit since version 0 is still in the log and only ever added rows.

    Then a new stream that reads the log from version 0 (``startingVersion``) sees exactly
    what one starting from the current snapshot would, without the snapshot's Spark jobs:
    data files only added (a ``remove`` that changes data, from a DELETE, UPDATE or
    overwrite, does not qualify; compaction's do), and columns only added, never dropped,
    retyped or repartitioned. Tables with more than ``max_commits`` commits are not read
    (the snapshot is cheaper than that many files).
    """
    log = Path(table_path) / "_delta_log"
    versions = _commit_versions(log)
    if not versions or versions != list(range(len(versions))) or len(versions) > max_commits:
        return False
    return _only_rows_added(log, versions)


def only_rows_added(table_path: str, first_version: int, last_version: int) -> bool | None:
    """Whether commits ``first_version``..``last_version`` only added rows, as :func:`append_only_history` judges.

    Read from the commit files, without the Spark job a change-data-feed query would run.
    None when one of them is no longer in the log (cleaned up): ask the change feed then.
    """
    log = Path(table_path) / "_delta_log"
    versions = list(range(first_version, last_version + 1))
    if not all(_commit_file(log, version).is_file() for version in versions):
        return None
    return _only_rows_added(log, versions)


def _only_rows_added(log: Path, versions: list[int]) -> bool:
    fields: dict[str, str] | None = None
    partitioning: list[str] | None = None
    for version in versions:
        for line in _commit_file(log, version).read_text(encoding="utf-8").splitlines():
            if '"remove"' not in line and '"metaData"' not in line and '"cdc"' not in line:
                continue  # an add, a txn, commit info: nothing that could disqualify the history
            action = json.loads(line)
            remove = action.get("remove")
            if (remove is not None and remove.get("dataChange", True)) or "cdc" in action:
                return False
            metadata = action.get("metaData")
            if metadata is None:
                continue
            new_fields = _fields_of(metadata.get("schemaString", "{}"))
            if fields is not None and (
                metadata.get("partitionColumns") != partitioning
                or any(new_fields.get(name) != kind for name, kind in fields.items())
            ):
                return False
            fields, partitioning = new_fields, metadata.get("partitionColumns")
    return True


def _fields_of(schema_json: str) -> dict[str, str]:
    return {field["name"]: json.dumps(field["type"], sort_keys=True) for field in json.loads(schema_json)["fields"]}


def table_properties(spark: SparkSession, table_path: str) -> dict[str, str]:
    """The table's properties (``TBLPROPERTIES``) as its log holds them."""
    snapshot = latest_snapshot(spark, table_path)
    if snapshot is None:
        return {}
    configuration = snapshot.metadata().configuration()
    return {key: configuration.apply(key) for key in _scala_keys(configuration)}


def _scala_keys(scala_map: Any) -> list[str]:
    keys, iterator = [], scala_map.keysIterator()
    while iterator.hasNext():
        keys.append(iterator.next())
    return keys
