"""From raw file bytes to typed records with rescued data, all as Spark expressions.

Every file is read whole (Spark's ``binaryFile`` source, so ``_metadata`` works and any
encoding can be decoded), split into records — JSON Lines, or one JSON array per file —
and each record parsed once into a ``MAP<STRING, STRING>``. Columns of the schema are
taken from that map with safe casts; whatever does not fit (an unknown field, a value of
the wrong type, a case mismatch) goes to the rescued-data column with the file's path, and
a record that is not JSON at all is kept there whole. Nothing is dropped silently.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    DataType,
    MapType,
    StringType,
    StructField,
    StructType,
)

BINARY_FILE_SCHEMA = "path STRING, modificationTime TIMESTAMP, length BIGINT, content BINARY"
LINE_COLUMN = "_cloud_files_line"
FIELDS_COLUMN = "_cloud_files_fields"
PARSED_COLUMN = "_cloud_files_parsed"
RECORD_COUNT_COLUMN = "_cloud_files_records"
NEW_COLUMNS_ERROR = "CLOUD_FILES_NEW_COLUMNS"


def split_into_records(files: DataFrame, encoding: str, multiline: bool = False) -> DataFrame:
    """One row per file with ``LINE_COLUMN`` holding the array of its records' JSON texts.

    A file whose text starts with ``[`` is one JSON array of records; with ``multiLine`` a
    file is one JSON document (an object, or an array of them); otherwise JSON Lines.
    """
    text = F.regexp_replace(F.decode(F.col("content"), encoding), "^\ufeff", "")
    is_array = text.rlike(r"^\s*\[")
    # A broken array is kept as a single unparseable record, so it is seen, not lost.
    array_elements = F.coalesce(F.from_json(text, ArrayType(StringType())), F.array(text))
    lines = F.array(text) if multiline else F.split(text, r"\r?\n")
    # Blank lines (and a file of whitespace only) hold no record.
    records = F.filter(F.when(is_array, array_elements).otherwise(lines), lambda r: r.rlike(r"\S"))
    # Each file is named as _metadata.file_path and Spark's checkpoint name it (URL-encoded:
    # "line%202.json"), not as binaryFile's decoded `path`, so rescued data, the per-file
    # metrics, _metadata and the checkpoint agree on every file, odd characters and all.
    file_path = F.col("_metadata.file_path").alias("path")
    return files.select(file_path, records.alias(LINE_COLUMN)).withColumn(RECORD_COUNT_COLUMN, F.size(LINE_COLUMN))


def explode_records(files_with_records: DataFrame) -> DataFrame:
    """One row per record: its JSON text and its fields (null when it is not a JSON object)."""
    parsed = files_with_records.select(F.col("path"), F.explode(LINE_COLUMN).alias(LINE_COLUMN)).withColumn(
        PARSED_COLUMN, F.from_json(LINE_COLUMN, MapType(StringType(), StringType()))
    )
    return parsed.withColumn(FIELDS_COLUMN, _last_value_per_key(F.col(PARSED_COLUMN)))


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


def typed_value(field: StructField) -> Column:
    """The field's value from the record's map, cast safely to the schema's type."""
    raw = F.col(FIELDS_COLUMN)[field.name]
    data_type: DataType = field.dataType
    if isinstance(data_type, StringType):
        return raw
    if isinstance(data_type, StructType | ArrayType | MapType):
        return F.from_json(raw, data_type)
    return raw.try_cast(data_type)


def project_to_schema(
    records: DataFrame,
    schema: StructType,
    rescued_data_column: str | None,
    rescue_unknown_fields: bool,
    fail_on_new_columns_for: str | None,
) -> DataFrame:
    """The records as ``schema`` (plus the rescued-data column, when there is one).

    ``fail_on_new_columns_for``: when set, a record with a field the schema lacks stops the
    query with an error that names the fields and the file (tagged with this text, the
    schema location), so the source can evolve the schema and be restarted.
    """
    fields = [field for field in schema.fields if field.name != rescued_data_column]
    values = {field.name: typed_value(field) for field in fields}
    exact_names = F.array(*[F.lit(field.name) for field in fields]) if fields else F.array().cast("array<string>")
    lower_names = F.array(*[F.lit(field.name.lower()) for field in fields]) if fields else exact_names
    record_fields = F.col(FIELDS_COLUMN)

    columns = [values[field.name].alias(field.name) for field in fields]
    if rescued_data_column:
        mismatched = F.filter(
            F.array(*[
                F.when(F.col(FIELDS_COLUMN)[field.name].isNotNull() & values[field.name].isNull(),
                       F.lit(field.name))
                for field in fields if not isinstance(field.dataType, StringType)
            ] or [F.lit(None).cast("string")]),
            lambda name: name.isNotNull(),
        )  # fmt: skip

        def rescued(key: Column, _value: Column) -> Column:
            known_exactly = F.array_contains(exact_names, key)
            unknown = ~known_exactly
            if not rescue_unknown_fields:  # only case mismatches of known names are rescued
                unknown = unknown & F.array_contains(lower_names, F.lower(key))
            return unknown | F.array_contains(mismatched, key)

        rescued_names = F.map_keys(F.map_filter(record_fields, rescued))
        # Rescued values keep their JSON types (40 stays a number, an object stays an object),
        # so the record is parsed again as variants, but only when something was rescued.
        as_variants = F.from_json(F.col(LINE_COLUMN), "map<string, variant>")
        rescued_values = F.map_filter(as_variants, lambda key, _value: F.array_contains(rescued_names, key))
        file_path = F.create_map(F.lit("_file_path"), F.col("path").cast("variant"))
        rescued_json = (
            F.when(
                record_fields.isNull(),
                F.to_json(F.create_map(F.lit("_corrupt_record"), F.col(LINE_COLUMN),
                                       F.lit("_file_path"), F.col("path"))),
            )
            .when(F.size(rescued_names) > 0, F.to_json(F.map_concat(rescued_values, file_path)))
        )  # fmt: skip
        columns.append(rescued_json.alias(rescued_data_column))

    projected = records.select(*columns, F.col("path").alias("_cloud_files_path"), record_fields, PARSED_COLUMN)
    if fail_on_new_columns_for is not None:
        # Spark pushes this filter below the projections, inlining what it reads: reading the
        # keys of the parsed map (the deduplicated map's, repeats aside) keeps that cheap.
        new_names = F.filter(F.map_keys(F.col(PARSED_COLUMN)), lambda key: ~F.array_contains(lower_names, F.lower(key)))
        # The message carries JSON so any path or column name survives the trip back (see
        # source.schema_change_from).
        details = F.to_json(
            F.struct(
                F.lit(fail_on_new_columns_for).alias("schemaLocation"),
                F.array_sort(F.array_distinct(new_names)).alias("columns"),
                F.col("_cloud_files_path").alias("file"),
            )
        )
        check = F.when(
            F.size(new_names) > 0, F.raise_error(F.concat(F.lit(f"[{NEW_COLUMNS_ERROR}] "), details))
        ).otherwise(F.lit(True))  # fmt: skip
        projected = projected.where(F.coalesce(check.cast("boolean"), F.lit(True)))
    return projected.drop("_cloud_files_path", FIELDS_COLUMN, PARSED_COLUMN)
