"""One pipeline update, runnable in a child process the fault-injection harness can kill.

The child prints how the update ended as one JSON line::

    python -m smart_factory.testing.pipeline_child SETTINGS [--storage-root DIR] [--master local[2]]

A test recovers with the very same job in its own process (:meth:`PipelineJob.run`), so
the killed update and the one after it run the same pipeline over the same storage.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from smart_factory.lakehouse import get_spark
from smart_factory.runtime.pipeline import Pipeline, UpdateResult

MODULE = "smart_factory.testing.pipeline_child"


@dataclass(frozen=True)
class PipelineJob:
    """A triggered update of the pipeline described by the settings file ``settings``.

    >>> PipelineJob(Path("pipeline.yml"), Path("lakehouse")).command()[1:3]
    ['-m', 'smart_factory.testing.pipeline_child']
    """

    settings: Path
    storage_root: Path | None = None  # default: $SMART_FACTORY_STORAGE_ROOT, as get_spark
    master: str = "local[2]"

    def pipeline(self, spark: SparkSession) -> Pipeline:
        return Pipeline.load(self.settings, spark)

    def run(self, spark: SparkSession) -> UpdateResult:
        """One update, in this process."""
        return self.pipeline(spark).run()

    def command(self) -> list[str]:
        """The command that runs one update in a child process."""
        command = [sys.executable, "-m", MODULE, str(self.settings), "--master", self.master]
        if self.storage_root is not None:
            command += ["--storage-root", str(self.storage_root)]
        return command


def _parse(argv: list[str] | None) -> PipelineJob:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    parser.add_argument("settings", type=Path)
    parser.add_argument("--storage-root", type=Path)
    parser.add_argument("--master", default="local[2]")
    return PipelineJob(**vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    job = _parse(argv)
    update = job.run(get_spark(master=job.master, storage_root=job.storage_root))
    print(json.dumps({"update_id": update.update_id, "state": update.state, "error": update.error}), flush=True)
    return 0 if update.state == "COMPLETED" else 1


if __name__ == "__main__":
    sys.exit(main())
