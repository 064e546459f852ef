"""``cloudFiles`` options as a reader is given them: checked before any file is touched.

Databricks, "Auto Loader options"
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/options.html).
Options for Databricks' own services are accepted so notebooks run unchanged; anything else
unknown, or a value this source cannot honour, is an error that names the option.
"""

from __future__ import annotations

import pytest
from cloud_files_support import auto_loader, jsonl, land

from smart_factory.errors import CloudFilesOptionError
from smart_factory.runtime.cloud_files import install_cloud_files


@pytest.fixture
def landing(tmp_path):
    folder = tmp_path / "landing"
    land(folder, "a.json", jsonl({"device_id": "DEV-1"}))
    return folder


def test_an_unknown_cloud_files_option_is_named(spark, landing, tmp_path) -> None:
    with pytest.raises(CloudFilesOptionError, match=r"Unknown Auto Loader option 'cloudFiles\.maxFilesPerTriger'"):
        auto_loader(spark, landing, tmp_path / "schema", {"cloudFiles.maxFilesPerTriger": "5"})()
    assert not (tmp_path / "schema").exists()


def test_databricks_only_options_are_accepted(spark, landing, tmp_path) -> None:
    databricks_only = {
        "cloudFiles.useNotifications": "true",
        "cloudFiles.backfillInterval": "1 day",
        "cloudFiles.validateOptions": "true",
    }
    stream = auto_loader(spark, landing, tmp_path / "schema", databricks_only)()
    assert stream.isStreaming and stream.schema.names == ["device_id", "_rescued_data"]


def test_the_file_format_is_required_and_must_be_supported(spark, landing, tmp_path) -> None:
    install_cloud_files()
    with pytest.raises(CloudFilesOptionError, match=r"needs the file format: add \.option\('cloudFiles\.format'"):
        spark.readStream.format("cloudFiles").option("cloudFiles.schemaLocation", str(tmp_path)).load(str(landing))
    with pytest.raises(CloudFilesOptionError, match="cloudFiles.format 'avro' is not supported here"):
        auto_loader(spark, landing, tmp_path / "schema", {"cloudFiles.format": "avro"})()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cloudFiles.schemaEvolutionMode": "addColumns"}, "schemaEvolutionMode 'addColumns' is not one of"),
        ({"cloudFiles.inferColumnTypes": "yes"}, "inferColumnTypes must be true or false"),
        ({"cloudFiles.maxFilesPerTrigger": "0"}, "maxFilesPerTrigger must be a whole number of at least 1"),
        ({"cloudFiles.maxBytesPerTrigger": "lots"}, "maxBytesPerTrigger must be a size such as 10gb"),
        ({"cloudFiles.schemaHints": "temperature_celsius DUBBLE"}, "schemaHints .* is not a valid column list"),
        ({"cloudFiles.includeExistingFiles": "false"}, "includeExistingFiles=false is not supported here"),
        ({"cloudFiles.partitionColumns": "date"}, "partitionColumns is not supported here"),
    ],
)
def test_bad_or_unsupported_values_are_named(spark, landing, tmp_path, options, message) -> None:
    with pytest.raises(CloudFilesOptionError, match=message):
        auto_loader(spark, landing, tmp_path / "schema", options)()


def test_option_names_are_case_insensitive_and_options_works_too(spark, landing, tmp_path) -> None:
    install_cloud_files()
    stream = (
        spark.readStream.format("cloudFiles")
        .options(**{"CLOUDFILES.FORMAT": "json", "cloudfiles.schemalocation": str(tmp_path / "schema")})
        .option("cloudFiles.schemaEvolutionMode", "RESCUE")
        .load(str(landing))
    )
    assert stream.schema.names == ["device_id", "_rescued_data"]
    assert (tmp_path / "schema" / "_schemas" / "0").is_file()
