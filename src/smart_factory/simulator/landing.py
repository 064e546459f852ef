"""Landing files atomically, so a streaming reader never sees half a file.

A file is written under a temporary name in a staging folder beside the landing folder
(same filesystem, outside anything a reader lists), flushed to disk, then renamed into
place with :func:`os.replace`, which is atomic on POSIX and Windows::

    landing/
        sensor_readings/readings-20260105T080000000Z-000001-3fa2c1d0.json
        device_registry/devices.json
        _simulator/staging/          temporary files while they are written
        _simulator/sensor_readings.clock.json
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Literal, get_args

from smart_factory.errors import SimulatorConfigError

FileFormat = Literal["jsonl", "json_array"]
FILE_FORMATS: tuple[str, ...] = get_args(FileFormat)


def staging_dir(folder: Path) -> Path:
    """Where files bound for ``folder`` are written before they are renamed into it."""
    return folder.parent / "_simulator" / "staging"


def land_file(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to ``folder/name`` atomically and return the path.

    When the file already holds exactly these bytes it is left alone, so regenerating a
    batch never looks like a new delivery to a reader that watches modification times.

    >>> import tempfile; folder = Path(tempfile.mkdtemp()) / "landing"
    >>> land_file(folder, "a.json", b"{}").read_bytes()
    b'{}'
    """
    target = folder / name
    if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
        return target
    staging = staging_dir(folder)
    staging.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=staging, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(folder)
    return target


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened this way on Windows.
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def encode_records(records: list[str], file_format: FileFormat) -> bytes:
    """One file's bytes: a line per record (``jsonl``) or one JSON array (``json_array``).

    >>> encode_records(['{"a":1}', '{"a":2}'], "json_array")
    b'[\\n{"a":1},\\n{"a":2}\\n]\\n'
    """
    if file_format == "jsonl":
        return ("\n".join(records) + "\n").encode() if records else b""
    return ("[\n" + ",\n".join(records) + "\n]\n").encode()


def check_file_format(file_format: str) -> FileFormat:
    if file_format not in FILE_FORMATS:
        raise SimulatorConfigError(
            f"file_format must be one of {', '.join(FILE_FORMATS)}, got {file_format!r}"
        )
    return file_format  # type: ignore[return-value]


def readings_file_name(compact_start: str, sequence: int, data: bytes) -> str:
    """A unique, time-ordered name; the content hash makes a regenerated file land on itself.

    >>> readings_file_name("20260105T080000000Z", 1, b"")
    'readings-20260105T080000000Z-000001-e3b0c442.json'
    """
    digest = hashlib.sha256(data).hexdigest()[:8]
    return f"readings-{compact_start}-{sequence:06d}-{digest}.json"
