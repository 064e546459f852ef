"""From raw file bytes to typed records with rescued data, all as Spark expressions.

Every file is read whole (Spark's ``binaryFile`` source, so ``_metadata`` works, any
encoding can be decoded and each file's records can be counted), split into records —
JSON Lines, or one JSON array per file — and each record parsed once, typed, straight into
the schema. Only a record that does not fit (a field the schema lacks or spells in another
case, a value of the wrong type, text that is not a JSON object) takes the slower path: it
is parsed again as a ``MAP<STRING, STRING>``, columns are taken from that map with safe
casts, and whatever does not fit goes to the rescued-data column with the file's path; a
record that is not JSON at all is kept there whole. Nothing is dropped silently.

The fast path's parse is the project's JVM record parser (``java/RecordParser.java``, see
:mod:`smart_factory.lakehouse.helper_jar`) when the session has it: it types a record and
tells whether it fits in one pass over its bytes. Without it (no JDK to compile it, or
``JVM_RECORD_PARSER_CONF`` set to false) Spark's ``from_json`` and ``json_object_keys`` do
the same in two. Both give the same rows; the tests run both.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from py4j.java_gateway import JavaClass
from pyspark import SparkContext
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.classic.column import Column as ClassicColumn
from pyspark.sql.classic.column import _to_seq
from pyspark.sql.types import (
    ArrayType,
    BooleanType,
    DataType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
LINE_COLUMN = "_cloud_files_line"
KEYS_COLUMN = "_cloud_files_keys"
TYPED_COLUMN = "_cloud_files_typed"
FITS_COLUMN = "_cloud_files_fits"
FIELDS_COLUMN = "_cloud_files_fields"
PARSED_COLUMN = "_cloud_files_parsed"
RESCUED_NAMES_COLUMN = "_cloud_files_rescued_names"
RECORD_COUNT_COLUMN = "_cloud_files_records"
CHECK_COLUMN = "_cloud_files_new_columns_check"
NEW_COLUMNS_ERROR = "CLOUD_FILES_NEW_COLUMNS"
_CORRUPT_FIELD = "_cloud_files_corrupt_record"
_TEXT_COLUMN = "_cloud_files_text"
_IRREGULAR_COLUMN = "_cloud_files_irregular_records"
_WHITESPACE = " \t\r\n"
# A session setting: "false" makes the fast path use Spark's from_json even with the JVM parser there.
JVM_RECORD_PARSER_CONF = "smart_factory.cloudFiles.jvmRecordParser"
_JVM_RECORD_PARSER_CLASS = "smartfactory.cloudfiles.RecordParser"
# How the JVM record parser names the Spark types it reads itself (see RecordParser.java).
_JVM_KINDS = {
    StringType: "string", BooleanType: "boolean", IntegerType: "int",
    LongType: "long", FloatType: "float", DoubleType: "double",
}  # fmt: skip
# Types Spark's JSON parser reads exactly as a safe cast of the value's text would; other
# types (timestamps, decimals, …) are parsed as text and cast, so both paths agree.
_PARSED_AS_TYPED = tuple(_JVM_KINDS)


def split_into_records(files: DataFrame, encoding: str, multiline: bool = False) -> DataFrame:
    """One row per file: its path, its text and ``RECORD_COUNT_COLUMN``, its number of records.

    :func:`explode_lines` then gives one row per record. A file whose text starts with ``[``
    is one JSON array of records; with ``multiLine`` a file is one JSON document (an object,
    or an array of them); otherwise JSON Lines.
    """
    decoded = _decode(F.col("content"), encoding)
    # The text is its own column: the higher-order functions in _irregular_records are
    # evaluated without common-subexpression elimination, so an inline expression would
    # decode the file once per use.
    files = files.select(
        "_metadata",
        F.when(decoded.startswith("\ufeff"), F.substring(decoded, 2, 2**31 - 1)).otherwise(decoded).alias(_TEXT_COLUMN),
    )
    # Each file is named as _metadata.file_path and Spark's checkpoint name it (URL-encoded:
    # "line%202.json"), not as binaryFile's decoded `path`, so rescued data, the per-file
    # metrics, _metadata and the checkpoint agree on every file, odd characters and all.
    file_path = F.col("_metadata.file_path").alias("path")
    irregular = _irregular_records(F.col(_TEXT_COLUMN), multiline).alias(_IRREGULAR_COLUMN)
    files = files.select(file_path, _TEXT_COLUMN, irregular)
    return files.withColumn(RECORD_COUNT_COLUMN, F.size(_records()))


def explode_lines(files: DataFrame) -> DataFrame:
    """One row per record, from :func:`split_into_records`'s files: its file and its JSON text."""
    # explode_outer, then drop the null a file without records gives: for a plain explode
    # Spark infers a "has elements" filter and pushes it below the split, splitting twice.
    exploded = files.select(F.col("path"), F.explode_outer(_records()).alias(LINE_COLUMN))
    return exploded.where(F.col(LINE_COLUMN).isNotNull())


def _records() -> Column:
    # The lines of a plain JSON Lines file are split where they are exploded (and again where
    # they are counted): an array of a hundred thousand lines copied into a row and read back
    # cost more than splitting twice, and this expression has no lambda, so Spark generates
    # code for it.
    plain_lines = F.array_remove(F.split(F.col(_TEXT_COLUMN), "\n"), "")
    return F.coalesce(F.col(_IRREGULAR_COLUMN), plain_lines)


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


def typed_value(field: StructField) -> Column:
    """The field's value from the record's map, cast safely to the schema's type."""
    return cast_text(F.col(FIELDS_COLUMN)[field.name], field.dataType)


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


@dataclass(frozen=True)
class _Projection:
    """The columns of each step of :func:`project_to_schema`, built once per schema and mode."""

    typed: list[Column]
    fits: Column
    parsed: Column
    fields: Column
    rescued_names: Column | None  # the fields a record that does not fit has rescued
    columns: list[Column]
    check: Column | None


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
    projection = _projection(
        schema.json(), rescued_data_column, rescue_unknown_fields, fail_on_new_columns_for,
        uses_jvm_record_parser(spark), gateway,
    )  # fmt: skip
    with_fits = records.select(*projection.typed).withColumn(FITS_COLUMN, projection.fits)
    parsed = with_fits.withColumn(PARSED_COLUMN, projection.parsed).withColumn(FIELDS_COLUMN, projection.fields)
    if projection.rescued_names is not None:
        parsed = parsed.withColumn(RESCUED_NAMES_COLUMN, projection.rescued_names)
    if projection.check is None:
        return parsed.select(*projection.columns)
    # The check is a column the observation below reads, computed in the same pass as the
    # data (a filter would be pushed below the parsing and parse every record again); the
    # observation keeps it from being pruned when a query reads only some columns.
    checked = parsed.select(*projection.columns, projection.check.alias(CHECK_COLUMN))
    observed = checked.observe(
        f"cloud_files_schema_check:{fail_on_new_columns_for}", F.count(CHECK_COLUMN).alias("new_columns")
    )
    return observed.drop(CHECK_COLUMN)


def uses_jvm_record_parser(spark: SparkSession) -> bool:
    """Whether this session parses records with the JVM record parser (it has the class, not switched off)."""
    if spark.conf.get(JVM_RECORD_PARSER_CONF, "true").strip().lower() == "false":
        return False
    return _jvm_record_parser_loaded(id(spark.sparkContext._gateway))


@functools.lru_cache(maxsize=8)
def _jvm_record_parser_loaded(_gateway: int) -> bool:
    found = SparkContext._jvm
    for part in _JVM_RECORD_PARSER_CLASS.split("."):
        found = getattr(found, part)
    return isinstance(found, JavaClass)


def _jvm_parsed(line: Column, schema: StructType) -> Column:
    """The record as ``schema`` when it fits it, else null: one pass of the JVM record parser."""
    jvm = SparkContext._jvm
    gateway = SparkContext._gateway

    def java_strings(values: list[str]) -> object:
        array = gateway.new_array(jvm.java.lang.String, len(values))
        for index, value in enumerate(values):
            array[index] = value
        return array

    kinds = [_JVM_KINDS[type(field.dataType)] for field in schema.fields]
    parser = jvm.smartfactory.cloudfiles.RecordParser(java_strings(schema.names), java_strings(kinds))
    udf = parser.asFunction(jvm.org.apache.spark.sql.types.DataType.fromJson(schema.json()))
    return ClassicColumn(udf.apply(_to_seq(SparkContext._active_spark_context, [line.cast("binary")._jc])))


@functools.lru_cache(maxsize=64)
def _projection(
    schema_json: str,
    rescued_data_column: str | None,
    rescue_unknown_fields: bool,
    fail_on_new_columns_for: str | None,
    jvm_record_parser: bool,
    _gateway: int,
) -> _Projection:
    schema = StructType.fromJson(json.loads(schema_json))
    fields = [field for field in schema.fields if field.name != rescued_data_column]
    exact_names = F.array(*[F.lit(field.name) for field in fields]) if fields else F.array().cast("array<string>")
    lower_names = F.array(*[F.lit(field.name.lower()) for field in fields]) if fields else exact_names

    # The fast path: one typed parse, and whether the record fits.
    typed_schema = StructType([
        StructField(field.name, field.dataType if _parsed_as_typed(field.dataType) else StringType())
        for field in fields
    ])  # fmt: skip
    if jvm_record_parser:
        typed = [F.col("path"), F.col(LINE_COLUMN), _jvm_parsed(F.col(LINE_COLUMN), typed_schema).alias(TYPED_COLUMN)]
        fits_test = F.col(TYPED_COLUMN).isNotNull()
        keys = F.json_object_keys(LINE_COLUMN)  # only read for records that do not fit
    else:
        with_corrupt = StructType([*typed_schema.fields, StructField(_CORRUPT_FIELD, StringType())])
        options = {"columnNameOfCorruptRecord": _CORRUPT_FIELD}
        typed = [
            F.col("path"),
            F.col(LINE_COLUMN),
            F.from_json(LINE_COLUMN, with_corrupt, options).alias(TYPED_COLUMN),
            F.json_object_keys(LINE_COLUMN).alias(KEYS_COLUMN),
        ]
        keys = F.col(KEYS_COLUMN)
        fits_test = (
            F.col(f"{TYPED_COLUMN}.{_CORRUPT_FIELD}").isNull()
            & keys.isNotNull()
            & (_known_keys(keys, fields) == F.size(keys))
        )
    fits = F.col(FITS_COLUMN)
    # The slow path: only records that do not fit are parsed again, as a map.
    record_fields = F.col(FIELDS_COLUMN)

    def fast_value(field: StructField) -> Column:
        value = F.col(TYPED_COLUMN)[field.name]
        return value if _parsed_as_typed(field.dataType) else cast_text(value, field.dataType)

    slow_values = {field.name: typed_value(field) for field in fields}
    columns = [F.when(fits, fast_value(field)).otherwise(slow_values[field.name]).alias(field.name) for field in fields]
    if rescued_data_column:
        # array_except, not filter(..., isNotNull): a higher-order function evaluates its
        # argument interpreted, and these lookups and casts are the costly part.
        no_name = F.array(F.lit(None).cast("string"))
        mismatched = F.array_except(
            F.array(*[
                F.when(record_fields[field.name].isNotNull() & slow_values[field.name].isNull(), F.lit(field.name))
                for field in fields if not isinstance(field.dataType, StringType)
            ] or [F.lit(None).cast("string")]),
            no_name,
        )  # fmt: skip

        # Spark evaluates a lambda's body element by element, interpreted (and in Spark 4 each
        # interpreted read of an array element builds a settings object): an expression inside
        # one (such as `mismatched`) would run again for every key of every record. So the
        # names are found with whole-array functions, and kept in a column of their own that
        # the one lambda below only reads.
        unknown = F.array_except(F.map_keys(record_fields), exact_names)
        if not rescue_unknown_fields:  # only case mismatches of known names are rescued
            unknown = F.filter(unknown, lambda key: F.array_contains(lower_names, F.lower(key)))
        rescued_names_column = F.when(~fits, F.array_union(unknown, mismatched))
        rescued_names = F.col(RESCUED_NAMES_COLUMN)
        # Rescued values keep their JSON types (40 stays a number, an object stays an object),
        # so the record is parsed again as variants, but only when something was rescued.
        as_variants = F.from_json(F.col(LINE_COLUMN), "map<string, variant>")
        rescued_values = F.map_filter(as_variants, lambda key, _value: F.array_contains(rescued_names, key))
        file_path = F.create_map(F.lit("_file_path"), F.col("path").cast("variant"))
        rescued_json = (
            F.when(fits, F.lit(None).cast("string"))
            .when(
                record_fields.isNull(),
                F.to_json(F.create_map(F.lit("_corrupt_record"), F.col(LINE_COLUMN),
                                       F.lit("_file_path"), F.col("path"))),
            )
            .when(F.size(rescued_names) > 0, F.to_json(F.map_concat(rescued_values, file_path)))
        )  # fmt: skip
        columns.append(rescued_json.alias(rescued_data_column))

    else:
        rescued_names_column = None
    check = None
    if fail_on_new_columns_for is not None:
        # A record that fits has no new field; for the others, the keys already read say which.
        new_names = F.filter(keys, lambda key: ~F.array_contains(lower_names, F.lower(key)))
        # The message carries JSON so any path or column name survives the trip back (see
        # source.schema_change_from).
        details = F.to_json(
            F.struct(
                F.lit(fail_on_new_columns_for).alias("schemaLocation"),
                F.array_sort(F.array_distinct(new_names)).alias("columns"),
                F.col("path").alias("file"),
            )
        )
        error = F.raise_error(F.concat(F.lit(f"[{NEW_COLUMNS_ERROR}] "), details))
        check = F.when(~fits & (F.size(new_names) > 0), error)
    return _Projection(
        typed=typed,
        fits=fits_test,
        parsed=F.when(~fits, _map_of(F.col(LINE_COLUMN))),
        fields=_last_value_per_key(F.col(PARSED_COLUMN)),
        rescued_names=rescued_names_column,
        columns=columns,
        check=check,
    )
