"""One ingestion of a landing folder into a bronze Delta table: what crash tests run and re-run.

The fault-injection harness runs it as a child process, which prints what it ingested as
one JSON line::

    python -m smart_factory.testing.ingestion_child LANDING TABLE CHECKPOINT \\
        [--schema-location DIR] [--max-files-per-trigger N] [--schema-hints DDL] [--master local[2]]

A test recovers from the crash with the very same job in its own process
(:meth:`IngestionJob.run`), so the crashed run and the re-run cannot drift apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from smart_factory.lakehouse import get_spark
from smart_factory.runtime.cloud_files import install_cloud_files
from smart_factory.runtime.ingestion import IngestionResult, ingest_available

# Which landed file each bronze row came from, so a test can check every file exactly once.
SOURCE_FILE_COLUMN = "_source_file"
MODULE = "smart_factory.testing.ingestion_child"


@dataclass(frozen=True)
class IngestionJob:
    """Auto Loader (``cloudFiles``, JSON) from ``landing`` into the Delta table at ``table``.

    >>> job = IngestionJob(Path("landing"), Path("bronze"), Path("checkpoint"), max_files_per_trigger=1)
    >>> job.command()[1:3]
    ['-m', 'smart_factory.testing.ingestion_child']
    """

    landing: Path
    table: Path
    checkpoint: Path
    schema_location: Path | None = None  # default: inside the checkpoint, as Databricks examples do
    max_files_per_trigger: int | None = None
    schema_hints: str | None = None
    master: str = "local[2]"

    def stream(self, spark: SparkSession) -> DataFrame:
        install_cloud_files()
        reader = (
            spark.readStream.format("cloudFiles")
            .option("cloudFiles.format", "json")
            .option("cloudFiles.schemaLocation", str(self.schema_location or self.checkpoint))
        )
        if self.max_files_per_trigger is not None:
            reader = reader.option("cloudFiles.maxFilesPerTrigger", str(self.max_files_per_trigger))
        if self.schema_hints:
            reader = reader.option("cloudFiles.schemaHints", self.schema_hints)
        return reader.load(str(self.landing)).withColumn(SOURCE_FILE_COLUMN, F.col("_metadata.file_path"))

    def run(self, spark: SparkSession) -> IngestionResult:
        """Ingest everything available now, in this process."""
        return ingest_available(spark, lambda: self.stream(spark), str(self.table), str(self.checkpoint))

    def command(self) -> list[str]:
        """The command that runs this job in a child process."""
        command = [sys.executable, "-m", MODULE, str(self.landing), str(self.table), str(self.checkpoint)]
        command += ["--master", self.master]
        if self.schema_location is not None:
            command += ["--schema-location", str(self.schema_location)]
        if self.max_files_per_trigger is not None:
            command += ["--max-files-per-trigger", str(self.max_files_per_trigger)]
        if self.schema_hints:
            command += ["--schema-hints", self.schema_hints]
        return command


def _parse(argv: list[str] | None) -> IngestionJob:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("table", type=Path)
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--schema-location", type=Path)
    parser.add_argument("--max-files-per-trigger", type=int)
    parser.add_argument("--schema-hints")
    parser.add_argument("--master", default="local[2]")
    arguments = parser.parse_args(argv)
    return IngestionJob(**vars(arguments))


def main(argv: list[str] | None = None) -> int:
    job = _parse(argv)
    result = job.run(get_spark(master=job.master))
    summary = {
        "batches": result.batches,
        "files": result.files,
        "rows_written": result.rows_written,
        "schema_restarts": result.schema_restarts,
    }
    print(json.dumps(summary, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
