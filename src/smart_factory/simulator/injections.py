"""Faults in the delivered text: re-sent duplicates, broken lines and broken files.

These work on rendered JSON text, because that is where real gateways break things.
"""

from __future__ import annotations

import re

import numpy as np

from smart_factory.simulator.landing import FileFormat, encode_records

_TEMPERATURE_VALUE = re.compile(r'"temperature_celsius":[^,}]+')
# Keeps a truncated line recognisable as a reading rather than a stray brace.
_SHORTEST_TRUNCATION = 10


def insert_lines(records: list[str], extras: list[str], before: np.ndarray) -> list[str]:
    """``records`` with each ``extras[i]`` inserted just before ``records[before[i]]``.

    ``before[i] == len(records)`` appends; extras aimed at the same spot keep their order.

    >>> insert_lines(["a", "b"], ["x", "y"], np.array([2, 0]))
    ['y', 'a', 'b', 'x']
    """
    if not extras:
        return records
    keys = np.concatenate([2 * np.arange(len(records)) + 1, 2 * np.asarray(before)])
    lines = np.empty(len(records) + len(extras), dtype=object)
    lines[: len(records)] = records
    lines[len(records) :] = extras
    return lines[np.argsort(keys, kind="stable")].tolist()


def choose_duplicates(
    eligible: np.ndarray, share: float, rng: np.random.Generator, can_defer: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which rows a flaky gateway sends twice, and where each copy goes.

    Returns ``(rows copied within this file, where each such copy is inserted, rows whose
    copy is deferred to the run's next file)``. A same-file copy always comes after its original;
    half the copies are deferred when ``can_defer``.
    """
    rows = np.flatnonzero(eligible & (rng.random(len(eligible)) < share))
    deferred = rng.random(len(rows)) < 0.5 if can_defer else np.zeros(len(rows), dtype=bool)
    same_file = rows[~deferred]
    before = rng.integers(same_file + 1, len(eligible), endpoint=True) if len(same_file) else same_file
    return same_file, before, rows[deferred]


def corrupt_lines(
    lines: list[str], share: float, file_format: FileFormat, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Break ``share`` of ``lines`` in place (at least one per kind); return the rows per kind.

    A broken line replaces its reading, as when a sensor's message is garbled on the way:
    ``wrong_type`` sets the temperature to the string ``"hot"`` (valid JSON, wrong type);
    ``truncated`` cuts the line short (a strict prefix of a JSON object never parses). JSON
    arrays get no truncated lines, since one would break the whole file; the run's
    ``truncated_array`` file covers that case.
    """
    kinds = ("wrong_type", "truncated") if file_format == "jsonl" else ("wrong_type",)
    per_kind = max(1, round(share * len(lines)))
    rows = rng.choice(len(lines), min(len(lines), per_kind * len(kinds)), replace=False)
    broken = {kind: np.sort(rows[position :: len(kinds)]) for position, kind in enumerate(kinds)}
    for row in broken["wrong_type"].tolist():
        lines[row] = _TEMPERATURE_VALUE.sub('"temperature_celsius":"hot"', lines[row], count=1)
    for row in broken.get("truncated", np.empty(0, dtype=np.int64)).tolist():
        kept = _SHORTEST_TRUNCATION + int(rng.random() * (len(lines[row]) - _SHORTEST_TRUNCATION))
        lines[row] = lines[row][:kept]
    return broken


def malformed_files(
    records: list[str], file_format: FileFormat, window_start: str
) -> list[tuple[str, bytes]]:
    """The run's broken files as ``(kind, bytes)``; none of them holds a single reading.

    ``empty`` has no bytes; ``not_json`` is one line of gateway chatter; for the
    ``json_array`` format, ``truncated_array`` is an array cut off half-way.
    """
    files = [
        ("empty", b""),
        ("not_json", f"gateway GW-07 rebooted at {window_start}: sensor buffer lost\n".encode()),
    ]
    if file_format == "json_array":
        # Cut as text, not bytes, so the file stays valid UTF-8 and fails only as JSON.
        whole = encode_records(records[:20], file_format).decode()
        files.append(("truncated_array", whole[: len(whole) // 2].encode()))
    return files
