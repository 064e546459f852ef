"""Inferred schemas, versioned under the schema location as Auto Loader keeps them.

Each version is a file ``<schemaLocation>/_schemas/<n>`` holding ``v1`` and the schema's
JSON; the highest number is the schema in force. Writes are atomic (temporary file, then
rename) so a crash never leaves half a schema behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from pyspark.sql.types import StructType

from smart_factory.errors import CloudFilesError

_FORMAT_LINE = "v1"


class SchemaStore:
    def __init__(self, schema_location: str | os.PathLike[str]) -> None:
        self.folder = Path(schema_location) / "_schemas"

    def versions(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(entry.name) for entry in self.folder.iterdir() if entry.name.isdigit())

    def latest(self) -> tuple[int, StructType] | None:
        versions = self.versions()
        if not versions:
            return None
        return versions[-1], self.read(versions[-1])

    def read(self, version: int) -> StructType:
        path = self.folder / str(version)
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) < 2 or lines[0] != _FORMAT_LINE:
            raise CloudFilesError(
                f"The schema file {path} is not a schema this source wrote (expected '{_FORMAT_LINE}' "
                "and a JSON schema). Delete the schema location to infer the schema again."
            )
        return StructType.fromJson(json.loads(lines[1]))

    def save(self, schema: StructType) -> int:
        """Store ``schema`` as the next version; returns its number."""
        self.folder.mkdir(parents=True, exist_ok=True)
        version = (self.versions() or [-1])[-1] + 1
        with tempfile.NamedTemporaryFile("w", dir=self.folder, prefix=".tmp-", delete=False) as file:
            file.write(f"{_FORMAT_LINE}\n{schema.json()}\n")
        os.replace(file.name, self.folder / str(version))
        return version
