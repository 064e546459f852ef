"""The project's JVM helpers for cloudFiles (``java/*.java``): a file source and record readers.

``ListingFileSource.java`` finds new files at a cost that follows the new files, not the
history (see its docstring). Two hot steps of :mod:`~smart_factory.runtime.cloud_files.parsing`
are cheaper in the JVM than as Spark expressions:

- telling a plain JSON Lines file and splitting it into its records (``JsonLines.java``:
  Spark's whole-string functions read a file byte by byte through a generic accessor, and
  its ``split`` goes through a Java string);
- parsing a record that fits the schema (``RecordParser.java``: one pass over its bytes,
  where ``from_json`` and ``json_object_keys`` take two, each through a ``Reader``).

The classes come in the helper jar (:mod:`smart_factory.lakehouse.helper_jar`); a session
without it, or with ``JVM_PARSING_CONF`` set to false, uses the Spark expressions, which
give the same rows (the tests run both).
"""

from __future__ import annotations

from pyspark import SparkContext
from pyspark.sql import Column, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.classic.column import Column as ClassicColumn
from pyspark.sql.classic.column import _to_seq
from pyspark.sql.types import (
    BooleanType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from smart_factory.lakehouse.helper_classes import jvm_helper

# Session settings: "false" makes cloudFiles use Spark expressions (parsing) or Spark's own
# file source (listing) even with the helper jar there.
JVM_PARSING_CONF = "smart_factory.cloudFiles.jvmParsing"
JVM_LISTING_CONF = "smart_factory.cloudFiles.jvmListing"
_PACKAGE = "smartfactory.cloudfiles"
# The stream source class, named in full as a readStream format.
LISTING_SOURCE = f"{_PACKAGE}.ListingFileSource"
# How RecordParser names the Spark types it reads itself; it reads others as text.
JVM_KINDS = {
    StringType: "string", BooleanType: "boolean", IntegerType: "int",
    LongType: "long", FloatType: "float", DoubleType: "double",
}  # fmt: skip


def uses_jvm_parsing(spark: SparkSession) -> bool:
    """Whether this session reads records with the JVM helpers (it has them, and they are not switched off)."""
    return _helpers_in_use(spark, JVM_PARSING_CONF)


def uses_jvm_listing(spark: SparkSession) -> bool:
    """Whether this session's cloudFiles streams use ``ListingFileSource`` rather than Spark's file source."""
    return _helpers_in_use(spark, JVM_LISTING_CONF)


def _helpers_in_use(spark: SparkSession, switch: str) -> bool:
    if spark.conf.get(switch, "true").strip().lower() == "false":
        return False
    return jvm_helper(spark, f"{_PACKAGE}.RecordParser") is not None


def _helper_class(name: str) -> object:
    """A helper class of this package, once :func:`uses_jvm_parsing` said the jar is loaded."""
    return jvm_helper(SparkSession.active(), f"{_PACKAGE}.{name}")


def _applied(function: object, *arguments: Column) -> Column:
    """A JVM ``UserDefinedFunction`` applied to columns."""
    java_arguments = _to_seq(SparkContext._active_spark_context, [argument._jc for argument in arguments])  # type: ignore[attr-defined]
    return ClassicColumn(function.apply(java_arguments))  # type: ignore[attr-defined]


def jvm_interpreted(column: Column, *inputs: str) -> Column:
    """``column``, an expression of the string columns ``inputs``, behind a JVM call.

    The same expression, evaluated interpreted inside ``InterpretedColumn``: for one with
    lambdas, which have no generated code, this keeps the surrounding steps in generated code.
    """
    # (The active session, else the default one: a pipeline builds its flows in threads of
    # its own, which have no active session.)
    spark = SparkSession.active()
    definition = spark.createDataFrame([], StructType([StructField(name, StringType()) for name in inputs]))
    function = _helper_class("InterpretedColumn").of(definition.select(column.alias("value"))._jdf)  # type: ignore[attr-defined]
    return _applied(function, F.struct(*[F.col(name) for name in inputs]))


def jvm_parsed(line: Column, schema: StructType) -> Column:
    """The record (a string column) as ``schema`` when it fits it exactly, else null."""
    jvm = SparkContext._jvm
    kinds = [JVM_KINDS[type(field.dataType)] for field in schema.fields]
    parser = _helper_class("RecordParser")(_java_strings(schema.names), _java_strings(kinds))  # type: ignore[operator]
    function = parser.asFunction(jvm.org.apache.spark.sql.types.DataType.fromJson(schema.json()))
    return _applied(function, line.cast("binary"))


def jvm_is_plain_json_lines(content: Column) -> Column:
    """Whether a file (its bytes) is plain JSON Lines in valid UTF-8, which :func:`jvm_records` reads."""
    return _applied(_helper_class("JsonLines").plainFunction(), content)  # type: ignore[attr-defined]


def jvm_key_counts(content: Column) -> Column:
    """How many records of a file hold each top-level key (``MAP<STRING, BIGINT>``).

    Null unless the file is plain JSON Lines of JSON objects only.
    """
    return _applied(_helper_class("JsonLines").keyCountsFunction(), content)  # type: ignore[attr-defined]


def jvm_records(content: Column) -> Column:
    """A plain JSON Lines file's records (its non-empty lines) from its bytes, as ``ARRAY<STRING>``."""
    return _applied(_helper_class("JsonLines").recordsFunction(), content)  # type: ignore[attr-defined]


def jvm_record_count(content: Column) -> Column:
    """How many records :func:`jvm_records` finds in a file, without building them."""
    return _applied(_helper_class("JsonLines").countFunction(), content)  # type: ignore[attr-defined]


def _java_strings(values: list[str]) -> object:
    gateway = SparkContext._gateway
    array = gateway.new_array(SparkContext._jvm.java.lang.String, len(values))
    for index, value in enumerate(values):
        array[index] = value
    return array
