"""What a Delta table's transaction log says happened, read straight from its JSON commits.

Crash tests look here rather than through Spark: which commits exist, which idempotent-write
transaction (``txnAppId``/``txnVersion``) each one carries, and which data files in the
folder no commit ever added (what a write killed half-way leaves behind). Delta keeps the
JSON commits for 30 days by default, so a test's log is always complete.

>>> [commit.transactions for commit in commits(table)]   # doctest: +SKIP
[(('3f0c…', 0),), (('3f0c…', 1),)]
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote


@dataclass(frozen=True)
class Commit:
    version: int
    operation: str | None
    transactions: tuple[tuple[str, int], ...]  # (txnAppId, txnVersion) pairs
    added_files: tuple[str, ...]
    removed_files: tuple[str, ...]


def commits(table: str | os.PathLike[str]) -> list[Commit]:
    """Every commit of the table at ``table``, oldest first (empty before the first commit)."""
    log = Path(table) / "_delta_log"
    if not log.is_dir():
        return []
    found = []
    for entry in log.iterdir():
        stem = entry.name.removesuffix(".json")
        if entry.name.endswith(".json") and stem.isdigit():
            found.append(_read_commit(int(stem), entry))
    return sorted(found, key=lambda commit: commit.version)


def _read_commit(version: int, path: Path) -> Commit:
    operation, transactions, added, removed = None, [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            operation = action["commitInfo"].get("operation")
        elif "txn" in action:
            transactions.append((action["txn"]["appId"], int(action["txn"]["version"])))
        elif "add" in action:
            added.append(unquote(action["add"]["path"]))
        elif "remove" in action:
            removed.append(unquote(action["remove"]["path"]))
    return Commit(version, operation, tuple(transactions), tuple(added), tuple(removed))


def repeated_transactions(table: str | os.PathLike[str]) -> dict[tuple[str, int], list[int]]:
    """``{(app id, txn version): [table versions]}`` for every transaction committed more than once."""
    seen: dict[tuple[str, int], list[int]] = defaultdict(list)
    for commit in commits(table):
        for transaction in commit.transactions:
            seen[transaction].append(commit.version)
    return {transaction: versions for transaction, versions in seen.items() if len(versions) > 1}


def live_data_files(table: str | os.PathLike[str]) -> set[str]:
    """Data files (relative paths) in the table's latest version."""
    live: set[str] = set()
    for commit in commits(table):
        live.difference_update(commit.removed_files)
        live.update(commit.added_files)
    return live


def uncommitted_data_files(table: str | os.PathLike[str]) -> set[str]:
    """Parquet files in the table folder that no commit ever added: debris of an interrupted write."""
    ever_added = {path for commit in commits(table) for path in commit.added_files}
    return data_files_on_disk(table) - ever_added


def data_files_on_disk(table: str | os.PathLike[str]) -> set[str]:
    """Every Parquet data file (relative path) in the table folder, committed or not."""
    root = Path(table)
    found: set[str] = set()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name != "_delta_log"]
        found.update(
            os.path.relpath(os.path.join(folder, name), root)
            for name in files
            if name.endswith(".parquet") and not name.startswith(".")
        )
    return found


def latest_version(table: str | os.PathLike[str]) -> int:
    """The newest committed version, or -1 before the first commit (a directory listing only)."""
    try:
        names = os.listdir(Path(table) / "_delta_log")
    except FileNotFoundError:
        return -1
    return max((int(name[:-5]) for name in names if name.endswith(".json") and name[:-5].isdigit()), default=-1)
