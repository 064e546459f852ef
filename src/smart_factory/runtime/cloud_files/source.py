"""The ``cloudFiles`` stream source: Auto Loader semantics on Spark's own file streaming.

Files are discovered and checkpointed by Spark's file stream source, so each file is read
exactly once per checkpoint and a re-run reads only new files. Spark skips files older than
``maxFileAge`` relative to the newest it has seen; Auto Loader does not, so the limit is
lifted (a late file with an old timestamp is still new). See Databricks' Auto Loader docs:
https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/index.html
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import unquote

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.streaming import DataStreamReader
from pyspark.sql.types import StringType, StructField, StructType

from smart_factory.errors import CloudFilesError, CloudFilesOptionError, NewColumnsRejected, SchemaChangedError
from smart_factory.lakehouse.volumes import resolve_path
from smart_factory.runtime.cloud_files.inference import (
    apply_schema_hints,
    infer_schema,
    require_files,
    sample_files,
    sample_size_conf,
)
from smart_factory.runtime.cloud_files.jvm_parsing import LISTING_SOURCE, uses_jvm_listing
from smart_factory.runtime.cloud_files.options import (
    DEFAULT_MAX_FILES_PER_TRIGGER,
    RESCUED_DATA_COLUMN,
    CloudFilesOptions,
)
from smart_factory.runtime.cloud_files.parsing import (
    BINARY_FILE_SCHEMA,
    FILE_MODIFIED_COLUMN,
    FILE_SIZE_COLUMN,
    NEW_COLUMNS_ERROR,
    RECORD_COUNT_COLUMN,
    explode_lines,
    project_to_schema,
    split_into_records,
)
from smart_factory.runtime.cloud_files.schema_store import SchemaStore
from smart_factory.runtime.cloud_files.unread_files import BINARY_FILE_MAX_LENGTH_CONF, max_file_bytes
from smart_factory.runtime.spark_errors import exception_chain_text

# Set by a pipeline runtime so pipeline code may leave out cloudFiles.schemaLocation.
managed_schema_location: ContextVar[str | None] = ContextVar("managed_schema_location", default=None)
# Spark's file source forgets files older than this relative to the newest; Auto Loader never.
_NO_MAX_FILE_AGE = "36500d"
# Which options built the stream that keeps its schema at a location, to evolve it on failure.
_options_by_schema_location: dict[str, CloudFilesOptions] = {}
_NEW_COLUMNS_TAG = f"[{NEW_COLUMNS_ERROR}] "


@dataclass(frozen=True)
class CloudFilesSource:
    """One ``spark.readStream.format("cloudFiles")…load(path)`` call."""

    spark: SparkSession
    path: str
    options: CloudFilesOptions
    user_schema: StructType | None = None

    @property
    def schema_location(self) -> str | None:
        location = self.options.schema_location or managed_schema_location.get()
        return resolve_path(location) if location else None

    @property
    def evolution_mode(self) -> str:
        return self.options.effective_evolution_mode(schema_given=self.user_schema is not None)

    @property
    def rescued_data_column(self) -> str | None:
        if self.options.rescued_data_column:
            return self.options.rescued_data_column
        # Auto Loader adds the column itself when it infers the schema.
        return RESCUED_DATA_COLUMN if self.user_schema is None else None

    def current_schema(self) -> StructType:
        """The schema in force: the user's, else the latest saved, else inferred now and saved."""
        if self.user_schema is not None and self.options.evolution_mode == "addNewColumns":
            raise CloudFilesError(
                f"cloudFiles.schemaEvolutionMode addNewColumns needs an inferred schema, but {self.path} is "
                "read with .schema(...): drop the schema (and use schemaHints), or choose rescue or none."
            )
        if self.user_schema is not None:
            return apply_schema_hints(self.spark, self.user_schema, self.options.schema_hints)
        store = self._store()
        latest = store.latest()
        if latest is not None:
            return latest[1]
        file_source_options = dict(self.options.passed_through)
        files = sample_files(
            self.path,
            max_files=self.options.sample_files or sample_size_conf(self.spark, "numFiles"),
            max_bytes=self.options.sample_bytes or sample_size_conf(self.spark, "numBytes"),
            glob_filter=file_source_options.get("pathglobfilter"),
            recursive=file_source_options.get("recursivefilelookup", "true").lower() == "true",
            max_file_bytes=max_file_bytes(self.spark),
        )
        require_files(files, self.path)
        inferred = infer_schema(
            self.spark,
            files,
            infer_column_types=self.options.infer_column_types,
            encoding=self.options.encoding,
            multiline=self.options.multiline,
        )
        schema = apply_schema_hints(self.spark, inferred, self.options.schema_hints)
        store.save(schema)
        return schema

    def stream(self) -> DataFrame:
        schema = self.current_schema()
        reader = self._file_reader()
        if self.options.max_bytes_per_trigger is not None:
            reader = reader.option("maxBytesPerTrigger", str(self.options.max_bytes_per_trigger))
        else:
            max_files = self.options.max_files_per_trigger or DEFAULT_MAX_FILES_PER_TRIGGER
            reader = reader.option("maxFilesPerTrigger", str(max_files))
        for key, value in self.options.passed_through:
            reader = reader.option(key, value)
        files = split_into_records(reader.load(self.path), self.options.encoding, self.options.multiline)
        files = files.observe(
            ledger_metric_name(self.path),
            F.collect_list(
                F.struct(
                    F.col("path"), F.col(RECORD_COUNT_COLUMN).alias("records"),
                    F.col(FILE_SIZE_COLUMN).alias("size"), F.col(FILE_MODIFIED_COLUMN).alias("modified"),
                )
            ).alias("files"),
        )
        mode = self.evolution_mode
        if self.schema_location:
            _options_by_schema_location[self.schema_location] = self.options
        fields = schema.fields
        if self.rescued_data_column and self.rescued_data_column not in schema.names:
            fields = [*fields, StructField(self.rescued_data_column, StringType())]
        return project_to_schema(
            explode_lines(files),
            StructType(fields),
            rescued_data_column=self.rescued_data_column,
            # "none" ignores new fields unless a rescued-data column was asked for explicitly.
            rescue_unknown_fields=mode == "rescue" or (mode == "none" and bool(self.options.rescued_data_column)),
            fail_on_new_columns_for=self.schema_location or ""
            if mode in ("addNewColumns", "failOnNewColumns")
            else None,
        )

    def _file_reader(self) -> DataStreamReader:
        """Each new file as a ``binaryFile`` row, by the helper jar's source when there is one.

        Auto Loader finds files in nested folders (landing/2026/01/05/…); Spark's file source
        only does when asked. Either way names starting with _ or . are skipped. A file larger
        than the driver may hold is not read (see :mod:`.unread_files`): the helper jar's source
        leaves it out, Spark's stops on it with Spark's own length check instead of running out
        of memory.
        """
        recursive = dict(self.options.passed_through).get("recursivefilelookup", "true").lower() == "true"
        reader = self.spark.readStream.schema(BINARY_FILE_SCHEMA).option("recursiveFileLookup", "true")
        limit = max_file_bytes(self.spark)
        if recursive and uses_jvm_listing(self.spark):
            return (
                reader.format(LISTING_SOURCE).option("maxFileBytes", str(limit))
                .option("allowOverwrites", str(self.options.allow_overwrites).lower())
            )  # fmt: skip
        if self.options.allow_overwrites:
            raise CloudFilesOptionError(
                f"cloudFiles.allowOverwrites=true on {self.path} needs the helper jar's file source (a JDK with "
                "javac, SMART_FACTORY_HELPER_JAR not off, recursiveFileLookup not false): Spark's own file source "
                "never reads a file twice. Drop the option, or land changed data in new files."
            )
        self.spark.conf.set(BINARY_FILE_MAX_LENGTH_CONF, str(min(limit, 2**31 - 1)))
        # A file moved away after it was taken (how one too large is got rid of here) is not
        # read rather than failing its micro-batch for good.
        return (
            reader.format("binaryFile").option("maxFileAge", _NO_MAX_FILE_AGE).option("ignoreMissingFiles", "true")
        )

    def _store(self) -> SchemaStore:
        location = self.schema_location
        if not location:
            raise CloudFilesError(
                f"Auto Loader on {self.path} needs cloudFiles.schemaLocation to infer and keep the "
                "schema (a pipeline runtime provides one); or give the schema with .schema(...)."
            )
        return SchemaStore(location)


_LEDGER_METRIC_PREFIX = "cloud_files_ledger:"


def ledger_metric_name(path: str) -> str:
    return f"{_LEDGER_METRIC_PREFIX}{path}"


def is_ledger_metric(name: str) -> bool:
    """Whether an observed metric is a cloudFiles source's per-file record counts."""
    return name.startswith(_LEDGER_METRIC_PREFIX)


def schema_change_from(spark: SparkSession, error: BaseException) -> CloudFilesError | None:
    """Turn a stream failure caused by new columns into the error Auto Loader raises.

    In ``addNewColumns`` mode the merged schema (new columns at the end, typed as inference
    would type them) is saved first, so restarting the stream succeeds: the retryable
    :class:`SchemaChangedError`. In ``failOnNewColumns`` mode: :class:`NewColumnsRejected`.
    Returns None when ``error`` has another cause.
    """
    details = _new_columns_details(exception_chain_text(error))
    if details is None:
        return None
    location, columns, file_path = details["schemaLocation"], tuple(details["columns"]), details["file"]
    options = _options_by_schema_location.get(location)
    mode = options.effective_evolution_mode(schema_given=False) if options else "failOnNewColumns"
    if options is None or mode == "failOnNewColumns" or not location:
        return NewColumnsRejected(
            f"New columns {', '.join(columns)} in {file_path}, and cloudFiles.schemaEvolutionMode is "
            f"{mode}: the stream stops. Add them to the schema (or schemaHints), or use addNewColumns "
            "or rescue."
        )
    store = SchemaStore(location)
    latest = store.latest()
    current = latest[1] if latest else StructType()
    added = infer_schema(
        spark, [readable_path(file_path)], infer_column_types=options.infer_column_types,
        encoding=options.encoding, multiline=options.multiline, only_columns=set(columns),
    )  # fmt: skip
    merged = StructType(current.fields + [field for field in added.fields if field.name not in current.names])
    merged = apply_schema_hints(spark, merged, options.schema_hints)
    version = store.save(merged)
    return SchemaChangedError(
        f"Schema changed: new columns {', '.join(columns)} found in {file_path}. The merged schema is saved "
        f"as version {version} in {location}; restart the stream to ingest them (a pipeline update does "
        "this itself).",
        new_columns=columns,
        schema_version=version,
    )


def readable_path(file_path: str) -> str:
    """A file as Spark names it (``file:/a/line%202.json``) as a path Spark can open (``file:/a/line 2.json``)."""
    return unquote(file_path)


def _new_columns_details(text: str) -> dict | None:
    start = text.find(_NEW_COLUMNS_TAG)
    if start < 0:
        return None
    try:
        details, _end = json.JSONDecoder().raw_decode(text, start + len(_NEW_COLUMNS_TAG))
    except json.JSONDecodeError:
        return None
    return details
