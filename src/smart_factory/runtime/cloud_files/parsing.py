"""From raw file bytes to typed records with rescued data, all as Spark expressions.

Every file is read whole (Spark's ``binaryFile`` source, so ``_metadata`` works, any
encoding can be decoded and each file's records can be counted), split into records —
JSON Lines, or one JSON array per file — and each record parsed once, typed, straight into
the schema. Only a record that does not fit (a field the schema lacks or spells in another
case, a value of the wrong type, text that is not a JSON object) takes the slower path: it
is parsed again as a ``MAP<STRING, STRING>``, columns are taken from that map with safe
casts, and whatever does not fit goes to the rescued-data column with the file's path; a
record that is not JSON at all is kept there whole. Nothing is dropped silently.

Where the session has the project's JVM helpers (:mod:`.jvm_parsing`), they split plain
JSON Lines files and parse the records that fit; otherwise Spark's ``split``, ``from_json``
and ``json_object_keys`` do, with the same results.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, StringType, StructField, StructType

from smart_factory.runtime.cloud_files.jvm_parsing import (
    JVM_KINDS,
    jvm_interpreted,
    jvm_is_plain_json_lines,
    jvm_parsed,
    jvm_record_count,
    jvm_records,
    uses_jvm_parsing,
)

BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
LINE_COLUMN = "_cloud_files_line"
KEYS_COLUMN = "_cloud_files_keys"
TYPED_COLUMN = "_cloud_files_typed"
FITS_COLUMN = "_cloud_files_fits"
SLOW_COLUMN = "_cloud_files_slow"
_TAG_COLUMN = "_cloud_files_schema_location"
RECORD_COUNT_COLUMN = "_cloud_files_records"
# Each file's size and modification time, for the ingestion ledger (a file may change later).
FILE_SIZE_COLUMN = "_cloud_files_file_size"
FILE_MODIFIED_COLUMN = "_cloud_files_file_modified"
NEW_COLUMNS_ERROR = "CLOUD_FILES_NEW_COLUMNS"
_CORRUPT_FIELD = "_cloud_files_corrupt_record"
_TEXT_COLUMN = "_cloud_files_text"
_CONTENT_COLUMN = "_cloud_files_plain_content"  # a plain JSON Lines file's bytes, read by the JVM helpers
_PLAIN_COLUMN = "_cloud_files_plain"
_IRREGULAR_COLUMN = "_cloud_files_irregular_records"
_WHITESPACE = " \t\r\n"

# Types Spark's JSON parser reads exactly as a safe cast of the value's text would; other
# types (timestamps, decimals, …) are parsed as text and cast, so both paths agree.
_PARSED_AS_TYPED = tuple(JVM_KINDS)


def split_into_records(files: DataFrame, encoding: str, multiline: bool = False) -> DataFrame:
    """One row per file: its path, its bytes (plain JSON Lines read by the JVM helpers) or its
    text (any other file), and ``RECORD_COUNT_COLUMN``, its number of records.

    :func:`explode_lines` then gives one row per record. A file whose text starts with ``[``
    is one JSON array of records; with ``multiLine`` a file is one JSON document (an object,
    or an array of them); otherwise JSON Lines.
    """
    # A plain JSON Lines file in UTF-8 (nearly every file) is read from its bytes by the JVM
    # helpers when the session has them; every other file by the Spark expressions below.
    spark = files.sparkSession
    reads_plain_files = not multiline and is_utf8(encoding) and uses_jvm_parsing(spark)
    steps = _file_steps(encoding, multiline, reads_plain_files, id(spark.sparkContext._gateway))
    for step in steps:
        files = files.select(*step)
    return files


@functools.lru_cache(maxsize=16)
def _file_steps(encoding: str, multiline: bool, reads_plain_files: bool, _gateway: int) -> list[list[Column]]:
    """The columns of :func:`split_into_records`'s steps, built once (they take many calls into the JVM)."""
    plain = jvm_is_plain_json_lines(F.col("content")) if reads_plain_files else F.lit(False)
    is_plain = F.col(_PLAIN_COLUMN)
    decoded = _decode(F.col("content"), encoding)
    # The text is its own column: the higher-order functions in _irregular_records are
    # evaluated without common-subexpression elimination, so an inline expression would
    # decode the file once per use.
    without_bom = F.when(decoded.startswith("\ufeff"), F.substring(decoded, 2, 2**31 - 1)).otherwise(decoded)
    # Each file is named as _metadata.file_path and Spark's checkpoint name it (URL-encoded:
    # "line%202.json"), not as binaryFile's decoded `path`, so rescued data, the per-file
    # metrics, _metadata and the checkpoint agree on every file, odd characters and all.
    file_path = F.col("_metadata.file_path").alias("path")
    file_facts = [
        F.col("_metadata.file_size").alias(FILE_SIZE_COLUMN),
        F.col("_metadata.file_modification_time").alias(FILE_MODIFIED_COLUMN),
    ]
    irregular = _irregular_records(F.col(_TEXT_COLUMN), multiline)
    if reads_plain_files:
        # Its lambdas have no generated code: behind a call, only the files that need them
        # (not plain JSON Lines) leave it, and the other steps stay in generated code.
        irregular = F.when(F.col(_TEXT_COLUMN).isNotNull(), jvm_interpreted(irregular, _TEXT_COLUMN))
    irregular = irregular.alias(_IRREGULAR_COLUMN)
    content = F.col(_CONTENT_COLUMN)
    from_text = F.size(F.coalesce(F.col(_IRREGULAR_COLUMN), _plain_records(F.col(_TEXT_COLUMN))))
    count = from_text
    if reads_plain_files:
        count = F.when(content.isNotNull(), jvm_record_count(content)).otherwise(from_text)
    return [
        [F.col("_metadata"), F.col("content"), plain.alias(_PLAIN_COLUMN)],
        [
            F.col("_metadata"),
            F.when(is_plain, F.col("content")).alias(_CONTENT_COLUMN),
            F.when(~is_plain, without_bom).alias(_TEXT_COLUMN),
        ],
        [file_path, content, F.col(_TEXT_COLUMN), irregular, *file_facts],
        [F.col("path"), content, F.col(_TEXT_COLUMN), F.col(_IRREGULAR_COLUMN), count.alias(RECORD_COUNT_COLUMN),
         F.col(FILE_SIZE_COLUMN), F.col(FILE_MODIFIED_COLUMN)],
    ]  # fmt: skip


def explode_lines(files: DataFrame) -> DataFrame:
    """One row per record, from :func:`split_into_records`'s files: its file and its JSON text."""
    # (Without the JVM helpers the content column is null for every file.)
    spark = files.sparkSession
    record_of_each_line, has_record = _explode_columns(uses_jvm_parsing(spark), id(spark.sparkContext._gateway))
    return files.select(F.col("path"), record_of_each_line).where(has_record)


@functools.lru_cache(maxsize=4)
def _explode_columns(with_helpers: bool, _gateway: int) -> tuple[Column, Column]:
    content = F.col(_CONTENT_COLUMN)
    from_text = F.coalesce(F.col(_IRREGULAR_COLUMN), _plain_records(F.col(_TEXT_COLUMN)))
    records = F.when(content.isNotNull(), jvm_records(content)).otherwise(from_text) if with_helpers else from_text
    # The lines of a plain JSON Lines file are split where they are exploded (and counted
    # separately): an array of a hundred thousand lines copied into a row and read back cost
    # more than splitting twice.
    # explode_outer, then drop the null a file without records gives: for a plain explode
    # Spark infers a "has elements" filter and pushes it below the split, splitting twice.
    return F.explode_outer(records).alias(LINE_COLUMN), F.col(LINE_COLUMN).isNotNull()


def _plain_records(text: Column) -> Column:
    # No lambda, so Spark generates code for it.
    return F.array_remove(F.split(text, "\n"), "")


def _irregular_records(text: Column, multiline: bool) -> Column:
    """The records of a file that is not plain JSON Lines; null for a plain JSON Lines file."""
    # Whole-file string functions that work on Spark's bytes (no regular expressions, which
    # copy the whole file into a Java string first).
    starts_with_whitespace = functools.reduce(
        lambda found, space: found | text.startswith(space), _WHITESPACE[1:], text.startswith(_WHITESPACE[0])
    )
    # (ltrim copies the whole text, so only a file that starts with whitespace is trimmed.)
    is_array = F.when(starts_with_whitespace, F.ltrim(text, F.lit(_WHITESPACE)).startswith("[")).otherwise(
        text.startswith("[")
    )
    # A broken array is kept as a single unparseable record, so it is seen, not lost.
    array_elements = _without_blanks(F.coalesce(F.from_json(text, ArrayType(StringType())), F.array(text)))
    if multiline:
        return F.when(is_array, array_elements).otherwise(_without_blanks(F.array(text)))
    # Blank lines (and a file of whitespace only) hold no record. Spark interprets lambdas
    # element by element (no code generation), which doubled the cost of a large file: so
    # only a file that may hold a line of whitespace or Windows line endings (any line
    # starting with whitespace) has its lines trimmed.
    # (``contains`` scans bytes; ``instr`` walks characters and was ten times slower.)
    may_need_trimming = text.contains("\r") | text.contains("\n ") | text.contains("\n\t") | starts_with_whitespace
    trimmed = _without_blanks(F.transform(F.split(text, "\n"), lambda line: F.rtrim(line, F.lit("\r"))))
    return F.when(is_array, array_elements).when(may_need_trimming, trimmed)


def is_utf8(encoding: str) -> bool:
    return encoding.replace("-", "").upper() == "UTF8"


def _decode(content: Column, encoding: str) -> Column:
    """The file's text; bytes that are not valid in ``encoding`` become U+FFFD."""
    if is_utf8(encoding):
        # Spark strings are UTF-8 already: validating the bytes in place is a single scan,
        # where decode copies the whole file through a Java string and back.
        return F.make_valid_utf8(content.cast("string"))
    return F.decode(content, encoding)


def _without_blanks(records: Column) -> Column:
    return F.filter(records, lambda record: F.length(F.trim(record, F.lit(_WHITESPACE))) > 0)


def _map_of(line: Column) -> Column:
    return F.from_json(line, MapType(StringType(), StringType()))


def _last_value_per_key(parsed: Column) -> Column:
    # from_json keeps every copy of a key an object repeats, and a lookup finds the first;
    # Spark's JSON reader, Python's json and the rescued data take the last. Keep the last
    # copy: the check costs little, the rebuild runs only for the rare record that repeats.
    keys = F.map_keys(parsed)
    last_copies = F.filter(
        F.map_entries(parsed),
        lambda entry, index: ~F.array_contains(F.slice(keys, index + 2, F.size(keys)), entry["key"]),
    )
    return F.when(F.size(F.array_distinct(keys)) < F.size(keys), F.map_from_entries(last_copies)).otherwise(parsed)


def cast_text(raw: Column, data_type: DataType) -> Column:
    """A field's JSON text as ``data_type``: null when it does not fit."""
    if isinstance(data_type, StringType):
        return raw
    if isinstance(data_type, StructType | ArrayType | MapType):
        return F.from_json(raw, data_type)
    return raw.try_cast(data_type)


def _known_keys(keys: Column, fields: list[StructField]) -> Column:
    """How many of the schema's fields are among ``keys``: all of them (``size(keys)``) when the record fits.

    A repeated key makes the sizes differ too, and null keys (not an object) compare null.
    One ``array_contains`` per field, not ``array_except``: for strings Spark runs the
    latter interpreted, building a hash set and a settings object for every record.
    """
    return functools.reduce(
        lambda total, field: total + F.array_contains(keys, field.name).cast("int"), fields, F.lit(0)
    )


def _parsed_as_typed(data_type: DataType) -> bool:
    return isinstance(data_type, _PARSED_AS_TYPED)


def _let(value: Column, body: Callable[[Column], Column]) -> Column:
    """``body(value)`` with ``value`` computed once, however often ``body`` reads it.

    Spark SQL has no ``let``, but a lambda's argument is bound once: this is ``body`` applied
    to the one element of ``array(value)``.
    """
    return F.transform(F.array(value), body)[0]


@dataclass(frozen=True)
class _Projection:
    """The columns of each step of :func:`project_to_schema`, built once per schema and mode."""

    typed: list[Column]  # the fast path's parse
    fits: Column
    slow: Column  # for a record that does not fit: its values, rescued data and new columns
    columns: list[Column]  # each stops the query on a record with new columns, when asked to


def project_to_schema(
    records: DataFrame,
    schema: StructType,
    rescued_data_column: str | None,
    rescue_unknown_fields: bool,
    fail_on_new_columns_for: str | None,
) -> DataFrame:
    """The records (``path``, ``LINE_COLUMN``) as ``schema`` (plus the rescued-data column, when there is one).

    ``fail_on_new_columns_for``: when set, a record with a field the schema lacks stops the
    query with an error that names the fields and the file (tagged with this text, the
    schema location), so the source can evolve the schema and be restarted.
    """
    # Building these columns takes hundreds of calls into the JVM; columns are unresolved
    # expressions, so a run that builds the same stream again reuses them.
    spark = records.sparkSession
    gateway = id(spark.sparkContext._gateway)
    checks_new_columns = fail_on_new_columns_for is not None
    projection = _projection(
        schema.json(), rescued_data_column, rescue_unknown_fields, checks_new_columns,
        uses_jvm_parsing(spark), gateway,
    )  # fmt: skip
    if checks_new_columns:
        # A constant column, so streams of one schema share the columns whatever their tag.
        records = records.withColumn(_TAG_COLUMN, F.lit(fail_on_new_columns_for))
    # Three steps: the fast parse; the slow path, in one column of its own (computed only for
    # records that do not fit); the schema's columns, from one or the other.
    with_fits = records.select(*projection.typed).withColumn(FITS_COLUMN, projection.fits)
    both_paths = with_fits.withColumn(SLOW_COLUMN, projection.slow)
    return both_paths.select(*projection.columns)


@functools.lru_cache(maxsize=64)
def _projection(
    schema_json: str,
    rescued_data_column: str | None,
    rescue_unknown_fields: bool,
    checks_new_columns: bool,
    jvm_parsing: bool,
    _gateway: int,
) -> _Projection:
    schema = StructType.fromJson(json.loads(schema_json))
    fields = [field for field in schema.fields if field.name != rescued_data_column]
    exact_names = F.array(*[F.lit(field.name) for field in fields]) if fields else F.array().cast("array<string>")
    lower_names = F.array(*[F.lit(field.name.lower()) for field in fields]) if fields else exact_names
    line = F.col(LINE_COLUMN)

    # The fast path: one typed parse, and whether the record fits.
    typed_schema = StructType([
        StructField(field.name, field.dataType if _parsed_as_typed(field.dataType) else StringType())
        for field in fields
    ])  # fmt: skip
    if jvm_parsing:
        typed = [F.col("path"), line, jvm_parsed(line, typed_schema).alias(TYPED_COLUMN)]
        fits_test = F.col(TYPED_COLUMN).isNotNull()
        keys = F.json_object_keys(line)  # only read for records that do not fit
    else:
        with_corrupt = StructType([*typed_schema.fields, StructField(_CORRUPT_FIELD, StringType())])
        options = {"columnNameOfCorruptRecord": _CORRUPT_FIELD}
        typed = [
            F.col("path"),
            line,
            F.from_json(line, with_corrupt, options).alias(TYPED_COLUMN),
            F.json_object_keys(line).alias(KEYS_COLUMN),
        ]
        keys = F.col(KEYS_COLUMN)
        fits_test = (
            F.col(f"{TYPED_COLUMN}.{_CORRUPT_FIELD}").isNull()
            & keys.isNotNull()
            & (_known_keys(keys, fields) == F.size(keys))
        )
    if checks_new_columns:
        typed.append(F.col(_TAG_COLUMN))
    fits = F.col(FITS_COLUMN)

    def slow_path(record_fields: Column) -> Column:
        """A record that does not fit, from its fields parsed as a map (null: not a JSON object)."""
        values = {field.name: cast_text(record_fields[field.name], field.dataType) for field in fields}
        members = [values[field.name].alias(field.name) for field in fields]
        if rescued_data_column:
            # array_except, not filter(..., isNotNull): a higher-order function evaluates its
            # argument interpreted, and these lookups and casts are the costly part.
            no_name = F.array(F.lit(None).cast("string"))
            mismatched = F.array_except(
                F.array(*[
                    F.when(record_fields[field.name].isNotNull() & values[field.name].isNull(), F.lit(field.name))
                    for field in fields if not isinstance(field.dataType, StringType)
                ] or [F.lit(None).cast("string")]),
                no_name,
            )  # fmt: skip
            unknown = F.array_except(F.map_keys(record_fields), exact_names)
            if not rescue_unknown_fields:  # only case mismatches of known names are rescued
                unknown = F.filter(unknown, lambda key: F.array_contains(lower_names, F.lower(key)))
            members.append(_let(F.array_union(unknown, mismatched), rescued_json).alias(rescued_data_column))
        if checks_new_columns:
            members.append(F.filter(keys, lambda key: ~F.array_contains(lower_names, F.lower(key))).alias("new"))
        return F.struct(*members)

    def rescued_json(rescued_names: Column) -> Column:
        # Rescued values keep their JSON types (40 stays a number, an object stays an object),
        # so the record is parsed again as variants, but only when something was rescued.
        as_variants = F.from_json(line, "map<string, variant>")
        rescued_values = F.map_filter(as_variants, lambda key, _value: F.array_contains(rescued_names, key))
        file_path = F.create_map(F.lit("_file_path"), F.col("path").cast("variant"))
        return F.when(F.size(rescued_names) > 0, F.to_json(F.map_concat(rescued_values, file_path)))

    slow = F.col(SLOW_COLUMN)
    columns = [F.when(fits, _fast_value(field)).otherwise(slow[field.name]) for field in fields]
    names = [field.name for field in fields]
    if rescued_data_column:
        # A record that is not a JSON object is kept whole, with its file.
        unreadable = F.to_json(F.create_map(F.lit("_corrupt_record"), line, F.lit("_file_path"), F.col("path")))
        rescued = slow[rescued_data_column]
        columns.append(F.when(fits, F.lit(None).cast("string")).when(slow.isNull(), unreadable).otherwise(rescued))
        names.append(rescued_data_column)
    if checks_new_columns:
        # The message carries JSON so any path or column name survives the trip back (see
        # source.schema_change_from).
        new_names = slow["new"]
        details = F.to_json(
            F.struct(
                F.col(_TAG_COLUMN).alias("schemaLocation"),
                # (sort_array: array_sort is a lambda, which would keep this step out of generated code)
                F.sort_array(F.array_distinct(new_names)).alias("columns"),
                F.col("path").alias("file"),
            )
        )
        error = F.raise_error(F.concat(F.lit(f"[{NEW_COLUMNS_ERROR}] "), details))
        # Every column checks, so the check runs whichever columns a query reads (one that
        # reads none of them has no use for the new ones either), in the same pass as the data.
        stop = ~fits & (F.size(new_names) > 0)
        columns = [F.when(stop, error).otherwise(column) for column in columns]
    record_fields = _map_of(line)
    slow_path_of_line = _let(record_fields, lambda parsed: F.when(
        parsed.isNotNull(), _let(_last_value_per_key(parsed), slow_path)
    ))  # fmt: skip
    if jvm_parsing:
        # Its lambdas have no generated code: behind a call, they keep every other step in it.
        slow_path_of_line = jvm_interpreted(slow_path_of_line, "path", LINE_COLUMN)
    return _Projection(
        typed=typed,
        fits=fits_test,
        slow=F.when(~fits, slow_path_of_line),
        columns=[column.alias(name) for column, name in zip(columns, names, strict=True)],
    )


def _fast_value(field: StructField) -> Column:
    value = F.col(TYPED_COLUMN)[field.name]
    return value if _parsed_as_typed(field.dataType) else cast_text(value, field.dataType)
