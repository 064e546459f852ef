"""Schema inference from a sample of files, as Auto Loader does on a stream's first start.

Databricks: "Auto Loader samples the first 50 GB or 1000 files that it discovers, whichever
limit is crossed first" and, for JSON, infers every column as a string unless
``cloudFiles.inferColumnTypes`` is true; ``cloudFiles.schemaHints`` then override types
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/schema.html).
"""

from __future__ import annotations

import glob
import json
import re
from fnmatch import fnmatch
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, StringType, StructField, StructType

from smart_factory.errors import CloudFilesError, CloudFilesOptionError
from smart_factory.runtime.cloud_files.jvm_parsing import jvm_key_counts, uses_jvm_parsing
from smart_factory.runtime.cloud_files.options import parse_byte_size
from smart_factory.runtime.cloud_files.parsing import (
    BINARY_FILE_SCHEMA,
    KEYS_COLUMN,
    LINE_COLUMN,
    explode_lines,
    is_utf8,
    split_into_records,
)

DEFAULT_SAMPLE_FILES = 1000
DEFAULT_SAMPLE_BYTES = 50 * 1024**3
_SAMPLE_SIZE_CONF = "spark.databricks.cloudFiles.schemaInference.sampleSize.{}"
_CORRUPT_RECORD = "_cloud_files_unreadable"
# Both ways of inferring leave timestamps as strings, as Auto Loader's JSON inference does.
_JSON_INFERENCE_OPTIONS = {"inferTimestamp": "false"}
# Characters Spark's (Hadoop's) path patterns give a meaning; a backslash makes them literal.
_GLOB_CHARACTERS = re.compile(r"([\[\]{}*?\\])")


def sample_size_conf(spark: SparkSession, limit: str) -> int:
    """The ``numFiles`` or ``numBytes`` sample limit, from the Spark conf Databricks documents."""
    key = _SAMPLE_SIZE_CONF.format(limit)
    value = spark.conf.get(key, None)
    if value is None:
        return DEFAULT_SAMPLE_FILES if limit == "numFiles" else DEFAULT_SAMPLE_BYTES
    if limit == "numBytes":
        size = parse_byte_size(value)
        if size is None:
            raise CloudFilesOptionError(f"{key} must be a size such as 10gb or 512m, got {value!r}.")
        return size
    if not value.strip().isdigit() or int(value) < 1:
        raise CloudFilesOptionError(f"{key} must be a whole number of at least 1, got {value!r}.")
    return int(value)


def sample_files(
    path: str, max_files: int, max_bytes: int, glob_filter: str | None = None, recursive: bool = True,
    max_file_bytes: int | None = None,
) -> list[str]:
    """The oldest files under ``path`` (a folder or a glob) up to either limit.

    ``glob_filter`` and ``recursive`` choose files as Spark's ``pathGlobFilter`` and
    ``recursiveFileLookup`` options do, so the sample comes from the files the stream reads;
    a file larger than ``max_file_bytes`` is not read by the stream, so not sampled either.
    """
    candidates = [
        file for file in _list_files(path, recursive)
        if (glob_filter is None or fnmatch(file.name, glob_filter))
        and (max_file_bytes is None or file.stat().st_size <= max_file_bytes)
    ]  # fmt: skip
    candidates.sort(key=lambda file: (file.stat().st_mtime_ns, str(file)))
    chosen, total = [], 0
    for file in candidates:
        if len(chosen) >= max_files or (chosen and total >= max_bytes):
            break
        chosen.append(str(file))
        total += file.stat().st_size
    return chosen


def _list_files(path: str, recursive: bool) -> list[Path]:
    local = path.removeprefix("file:")
    if glob.has_magic(local):
        matches = [Path(p) for p in glob.glob(local)]
        return [file for match in matches for file in ([match] if match.is_file() else _files_under(match, recursive))]
    root = Path(local)
    if root.is_file():
        return [root]
    return _files_under(root, recursive)


def _files_under(folder: Path, recursive: bool) -> list[Path]:
    # As Spark's file source lists them: hidden and underscore-prefixed files and folders
    # (a checkpoint or _schemas kept inside) are skipped.
    if not folder.is_dir():
        return []
    found = []
    for entry in folder.iterdir():
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_dir() and recursive:
            found.extend(_files_under(entry, recursive))
        elif entry.is_file():
            found.append(entry)
    return found


def glob_escaped(path: str) -> str:
    """A file's path as a Spark reader pattern that matches just that file ("[1].json" is a name)."""
    return _GLOB_CHARACTERS.sub(r"\\\1", path)


def records_of(spark: SparkSession, files: list[str], encoding: str, multiline: bool = False) -> DataFrame:
    """The records in ``files``: each one's text and its top-level keys (null when it is not a JSON object).

    A key an object repeats is listed each time. The keys are neither de-duplicated nor
    filtered here: for strings Spark runs ``array_distinct`` interpreted, and a filter on
    the keys would be pushed below their projection and parse every record twice.
    """
    binary = spark.read.format("binaryFile").schema(BINARY_FILE_SCHEMA).load([glob_escaped(file) for file in files])
    lines = explode_lines(split_into_records(binary, encoding, multiline))
    return lines.withColumn(KEYS_COLUMN, F.json_object_keys(F.col(LINE_COLUMN)))


def infer_schema(
    spark: SparkSession,
    files: list[str],
    *,
    infer_column_types: bool,
    encoding: str,
    multiline: bool = False,
    only_columns: set[str] | None = None,
) -> StructType:
    """The schema of the records in ``files``: field names sorted, types strings or inferred.

    ``only_columns`` limits the result to those names (used when new columns arrive).
    """
    plain_json_lines = not multiline and is_utf8(encoding)
    fields = None
    if plain_json_lines and not infer_column_types and uses_jvm_parsing(spark):
        fields = _fields_by_jvm_key_counts(spark, files)
    if fields is None and plain_json_lines:
        fields = _fields_by_spark(spark, files, infer_column_types)
    if fields is None:
        fields = _fields_by_key_counts(spark, files, infer_column_types, encoding, multiline)
    fields = sorted(fields, key=lambda field: field.name)
    if only_columns is not None:
        fields = [field for field in fields if field.name in only_columns]
    return StructType(fields)


def _fields_by_spark(spark: SparkSession, files: list[str], infer_column_types: bool) -> list[StructField] | None:
    """The fields Spark's own JSON inference finds: one pass over the bytes, for plain JSON Lines.

    None when it cannot stand for the record-by-record count: a record Spark could not read
    (a pretty-printed array, a line that is not JSON, bytes that are not UTF-8), or a key
    spelt in two ways, where the spelling most records use wins. Spark merges spellings
    unless case-sensitive, so it runs in a session of its own that is.
    """
    session = spark.newSession()
    session.conf.set("spark.sql.caseSensitive", "true")
    reader = session.read.options(**_JSON_INFERENCE_OPTIONS, columnNameOfCorruptRecord=_CORRUPT_RECORD)
    try:
        schema = reader.json([glob_escaped(file) for file in files]).schema
    except Exception:  # a file gone or unreadable: the record-by-record path says which
        return None
    names = schema.names
    if _CORRUPT_RECORD in names or len({name.lower() for name in names}) < len(names):
        return None
    return [StructField(field.name, field.dataType if infer_column_types else StringType()) for field in schema.fields]


def _fields_by_jvm_key_counts(spark: SparkSession, files: list[str]) -> list[StructField] | None:
    """Text columns named by every top-level key, from one JVM pass per file that skips the values.

    None unless every file is plain JSON Lines of JSON objects; otherwise the same as
    :func:`_fields_by_key_counts` (which counts the same keys record by record).
    """
    # Smaller tasks, so a few large files spread evenly over the cores (Spark would pack them
    # two to a task, leaving a core idle at the end); many small files are still packed. In a
    # session of its own, so no other query sees the setting.
    session = spark.newSession()
    tasks = min(len(files), 2 * spark.sparkContext.defaultParallelism)
    session.conf.set("spark.sql.files.minPartitionNum", str(max(tasks, 1)))
    binary = session.read.format("binaryFile").schema(BINARY_FILE_SCHEMA).load([glob_escaped(file) for file in files])
    key_counts: dict[str, int] = {}
    for row in binary.select(jvm_key_counts(F.col("content")).alias("keys")).collect():
        if row["keys"] is None:
            return None
        for name, count in row["keys"].items():
            key_counts[name] = key_counts.get(name, 0) + count
    return _most_common_spelling([StructField(name, StringType()) for name in key_counts], key_counts)


def _fields_by_key_counts(
    spark: SparkSession, files: list[str], infer_column_types: bool, encoding: str, multiline: bool
) -> list[StructField]:
    records = records_of(spark, files, encoding, multiline)
    # Names only, from the keys (values are not decoded): enough unless types are inferred.
    # Records are counted per set of keys first, so the few distinct sets reach the driver.
    key_counts: dict[str, int] = {}
    for row in records.groupBy(KEYS_COLUMN).count().collect():
        for name in dict.fromkeys(row[KEYS_COLUMN] or ()):  # each key once per record
            key_counts[name] = key_counts.get(name, 0) + row["count"]
    if infer_column_types:
        inferred = _infer_types(spark, records.where(F.col(KEYS_COLUMN).isNotNull()))
        fields = [field for field in inferred.fields if field.name in key_counts]
    else:
        fields = [StructField(name, StringType()) for name in key_counts]
    return _most_common_spelling(fields, key_counts)


def _infer_types(spark: SparkSession, records: DataFrame) -> StructType:
    # Spark's own JSON inference over the record texts, run in the JVM (no Python per row).
    texts = records.select(LINE_COLUMN)._jdf
    as_strings = getattr(texts, "as")(spark._jvm.org.apache.spark.sql.Encoders.STRING())
    inferred = spark._jsparkSession.read().options(_JSON_INFERENCE_OPTIONS).json(as_strings).schema()
    return StructType.fromJson(json.loads(inferred.json()))


def _most_common_spelling(fields: list[StructField], key_counts: dict[str, int]) -> list[StructField]:
    # Spark resolves columns case-insensitively, so `device_id` and `Device_ID` cannot both
    # be columns: the spelling most records use wins, the other is rescued as a case mismatch.
    chosen: dict[str, StructField] = {}
    for field in sorted(fields, key=lambda f: (-key_counts.get(f.name, 0), f.name)):
        chosen.setdefault(field.name.lower(), field)
    return list(chosen.values())


def apply_schema_hints(spark: SparkSession, schema: StructType, hints: str | None) -> StructType:
    """``schema`` with the hinted columns' types replaced, and hinted columns it lacks added.

    >>> apply_schema_hints(spark, schema, "temperature_celsius DOUBLE")  # doctest: +SKIP
    """
    if not hints:
        return schema
    hinted = parse_ddl(spark, hints, setting="cloudFiles.schemaHints")
    by_name = {field.name.lower(): field for field in hinted.fields}
    # A hint matches its column whatever the case, but the column keeps the data's spelling:
    # the records are looked up by that name.
    fields = [
        StructField(field.name, hint.dataType, hint.nullable, hint.metadata)
        if (hint := by_name.pop(field.name.lower(), None))
        else field
        for field in schema.fields
    ]
    return StructType(fields + list(by_name.values()))


def parse_ddl(spark: SparkSession, ddl: str, setting: str) -> StructType:
    try:
        parsed: DataType = spark._jvm.org.apache.spark.sql.types.StructType.fromDDL(ddl)  # type: ignore[union-attr]
        return StructType.fromJson(json.loads(parsed.json()))
    except Exception as error:  # Py4J wraps Spark's ParseException
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise CloudFilesOptionError(f"{setting} {ddl!r} is not a valid column list: {first_line}") from None


def require_files(files: list[str], path: str) -> None:
    if not files:
        raise CloudFilesError(
            f"No files in {path} to infer a schema from. Land data first, or give the schema "
            "with .schema(...) (cloudFiles.schemaHints alone is not enough for an empty folder)."
        )
