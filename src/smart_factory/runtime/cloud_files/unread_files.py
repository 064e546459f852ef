"""Landed files a ``cloudFiles`` stream takes but does not read, and how each is reported.

- **Too large.** Each file is read whole into the driver's memory (in local mode the driver
  runs the tasks too), so one file that does not fit killed the JVM on every run: a 50 MB
  single-line file with a 1 GB heap. Files larger than ``MAX_FILE_SIZE_CONF`` (default: a
  32nd of the driver's heap, so 32 MB for 1 GB, 128 MB for 4 GB) are taken but not read, as
  Databricks' ``badRecordsPath`` takes a file it cannot read: named in the ledger and the
  event log, and the rest of the landing zone is ingested. With Spark's own file source
  (no helper jar) the file cannot be left out of its micro-batch: the stream stops with
  :class:`FileTooLargeError`, which names the file and what to do, instead of the JVM dying.
- **Changed after it was read.** Auto Loader reads each file once
  (``cloudFiles.allowOverwrites`` false): records appended later are not read. The listing
  finds such a file by its modification time and the run names it, once per change.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

from pyspark.sql import SparkSession

from smart_factory.errors import CloudFilesError
from smart_factory.lakehouse.helper_classes import jvm_helper
from smart_factory.runtime.cloud_files.options import parse_byte_size
from smart_factory.runtime.ledger import normalise_file_path
from smart_factory.runtime.spark_errors import exception_chain_text

# Session setting: the largest file a cloudFiles stream reads (bytes, or 64m, 1g...).
MAX_FILE_SIZE_CONF = "smart_factory.cloudFiles.maxFileSize"
# Spark's own limit on a binaryFile row's content (an int): how Spark's file source is held to it.
BINARY_FILE_MAX_LENGTH_CONF = "spark.sql.sources.binaryFile.maxLength"
_HEAP_SHARE = 32  # a file's bytes are held several times over on their way to the table
_LISTING_CLASS = "smartfactory.cloudfiles.ListingFileSource"
# Spark's message when a binaryFile row would be longer than binaryFile.maxLength.
_SPARK_TOO_LONG = re.compile(r"The length of (?P<path>\S+) is (?P<size>\d+), which exceeds the max length allowed")


class FileTooLargeError(CloudFilesError):
    """A landed file is larger than the driver may read (with Spark's own file source)."""


def max_file_bytes(spark: SparkSession) -> int:
    """The largest file a cloudFiles stream reads: ``MAX_FILE_SIZE_CONF``, else a 32nd of the driver's heap."""
    chosen = spark.conf.get(MAX_FILE_SIZE_CONF, None)
    if chosen:
        size = parse_byte_size(chosen)
        if size is None:
            raise CloudFilesError(f"{MAX_FILE_SIZE_CONF} must be a size such as 64m or 1g, got {chosen!r}.")
        return size
    heap = spark.sparkContext._jvm.java.lang.Runtime.getRuntime().maxMemory()  # type: ignore[union-attr]
    return int(heap) // _HEAP_SHARE


def too_large_message(path: str, size: int, limit: int) -> str:
    return (
        f"{path} was not read: it is {_megabytes(size)}, larger than the {_megabytes(limit)} a landed file may "
        f"have with this driver's memory ({MAX_FILE_SIZE_CONF}; by default a 32nd of the driver's heap, which "
        "SMART_FACTORY_DRIVER_MEMORY sets). Split it into smaller files, or raise the limit and land it again "
        "under a new name."
    )


def file_too_large_from(spark: SparkSession, error: BaseException) -> FileTooLargeError | None:
    """Spark's file source refusing a file over the limit, as :class:`FileTooLargeError`; else None."""
    found = _SPARK_TOO_LONG.search(exception_chain_text(error))
    if found is None:
        return None
    message = too_large_message(found["path"], int(found["size"]), max_file_bytes(spark))
    return FileTooLargeError(
        message.replace("was not read", "stops the stream")
        + " Without the helper jar (a JDK), Spark's file source cannot leave it out: move it out of the landing "
        "folder to ingest the rest."
    )


def oversized(spark: SparkSession, paths: list[str]) -> dict[str, int]:
    """``{path: size}`` for those of ``paths`` (Spark's names) larger than :func:`max_file_bytes`."""
    if not paths:
        return {}
    limit = max_file_bytes(spark)
    sizes = {path: _local_size(path) for path in paths}
    return {path: size for path, size in sizes.items() if size is not None and size > limit}


@dataclass(frozen=True)
class ChangedFile:
    """A file read before, found with another modification time (appended to or overwritten)."""

    path: str
    size: int
    modified: datetime
    read_modified: datetime

    def message(self) -> str:
        return (
            f"{self.path} changed after it was ingested (modified {self.modified:%Y-%m-%d %H:%M:%S} UTC, now "
            f"{self.size:,} bytes; read as of {self.read_modified:%Y-%m-%d %H:%M:%S} UTC): what was added is not "
            "ingested, since Auto Loader reads each file once (cloudFiles.allowOverwrites is false). Land new "
            "records in new files, or set cloudFiles.allowOverwrites to true to read such a file again whole "
            "(its earlier records are then ingested twice)."
        )


def changed_files(spark: SparkSession, checkpoint: str | Path) -> list[ChangedFile]:
    """The files the stream's latest listing found changed and did not read again (listing source only)."""
    listing = jvm_helper(spark, _LISTING_CLASS)
    if listing is None:
        return []
    log_folder = os.path.abspath(os.path.join(checkpoint, "sources", "0"))
    found = []
    for line in str(listing.changedFiles(log_folder)).splitlines():  # type: ignore[attr-defined]
        path, size, modified, read_modified = line.split("\t")
        moments = _from_millis(modified), _from_millis(read_modified)
        found.append(ChangedFile(normalise_file_path(path), int(size), *moments))
    return found


def _from_millis(text: str) -> datetime:
    return datetime.fromtimestamp(int(text) / 1000, UTC)


def _local_size(path: str) -> int | None:
    local = unquote(path).removeprefix("file:")  # Spark's names are URL-encoded
    try:
        return os.stat("/" + local.lstrip("/")).st_size
    except OSError:
        return None


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"
