"""Pipeline settings from a YAML file that mirrors Databricks' pipeline settings.

    name: Smart_Factory_Pipeline
    target: smart_factory            # or `schema:`
    continuous: false                # triggered mode
    libraries:
      - file: {path: dlt_pipeline.py}   # Databricks' shape; a plain glob string works too
    configuration:
      smart_factory.landing_path: /Volumes/main/smart_factory/landing/sensor_readings

Settings that only make sense on Databricks (clusters, photon, serverless, channel…) are
accepted with a notice. Anything else unknown, or of the wrong type, is an error naming
the file and the field.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smart_factory.errors import PipelineSettingsError
from smart_factory.yaml_files import read_yaml_mapping

DATABRICKS_ONLY_SETTINGS = frozenset({
    "id", "clusters", "photon", "serverless", "channel", "edition", "development", "notifications",
    "budget_policy_id", "allow_duplicate_names", "deployment", "trigger", "filters", "gateway_definition",
    "ingestion_definition", "run_as", "tags", "environment", "root_path", "event_log",
})  # fmt: skip
DATABRICKS_ONLY_CONFIGURATION = frozenset({"spark.sql.shuffle.partitions"})
KNOWN_SETTINGS = frozenset({"name", "target", "schema", "catalog", "continuous", "mode", "libraries",
                            "configuration", "storage"})  # fmt: skip


@dataclass(frozen=True)
class PipelineSettings:
    name: str
    target: str
    libraries: tuple[Path, ...]
    configuration: dict[str, str] = field(default_factory=dict)
    continuous: bool = False
    catalog: str | None = None
    storage: str | None = None
    source_file: Path | None = None
    notices: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: str | Path) -> PipelineSettings:
        path = Path(path)
        raw = read_yaml_mapping(path, PipelineSettingsError, "pipeline settings")
        if not raw:
            raise PipelineSettingsError(f"{path} must hold a mapping of pipeline settings, got an empty file")
        return cls.from_mapping(raw, base=path.parent, source=path)

    @classmethod
    def from_mapping(cls, raw: dict[str, Any], base: Path, source: Path | None = None) -> PipelineSettings:
        where = str(source) if source else "pipeline settings"
        notices = []
        for key in raw:
            if key in DATABRICKS_ONLY_SETTINGS:
                notices.append(f"{where}: '{key}' only applies on Databricks; ignored here.")
            elif key not in KNOWN_SETTINGS:
                raise PipelineSettingsError(
                    f"{where}: unknown setting '{key}'. Known: {', '.join(sorted(KNOWN_SETTINGS))}."
                )
        name = _string(raw, "name", where, required=True)
        target = raw.get("target", raw.get("schema", "smart_factory"))
        if not isinstance(target, str) or not target.isidentifier():
            raise PipelineSettingsError(f"{where}: 'target' must be a schema name, got {target!r}")
        configuration = raw.get("configuration") or {}
        if not isinstance(configuration, dict):
            raise PipelineSettingsError(f"{where}: 'configuration' must be a mapping of names to values")
        for key in list(configuration):
            if key in DATABRICKS_ONLY_CONFIGURATION and str(configuration[key]).lower() == "auto":
                notices.append(f"{where}: configuration {key}: auto only applies on Databricks; ignored.")
                del configuration[key]
        mode = raw.get("mode")
        if mode is not None and mode not in ("triggered", "continuous"):
            raise PipelineSettingsError(f"{where}: 'mode' must be triggered or continuous, got {mode!r}")
        continuous = raw.get("continuous", mode == "continuous")
        if not isinstance(continuous, bool):
            raise PipelineSettingsError(f"{where}: 'continuous' must be true or false, got {continuous!r}")
        return cls(
            name=name,
            target=target,
            libraries=_libraries(raw.get("libraries"), base, where),
            configuration={str(key): str(value) for key, value in configuration.items()},
            continuous=continuous,
            catalog=_string(raw, "catalog", where),
            storage=_string(raw, "storage", where),
            source_file=source,
            notices=tuple(notices),
        )


def _string(raw: dict[str, Any], key: str, where: str, required: bool = False) -> str | None:
    value = raw.get(key)
    if value is None and required:
        raise PipelineSettingsError(f"{where}: '{key}' is required")
    if value is not None and not isinstance(value, str):
        raise PipelineSettingsError(f"{where}: '{key}' must be a string, got {value!r}")
    return value


def _libraries(entries: Any, base: Path, where: str) -> tuple[Path, ...]:
    if not isinstance(entries, list) or not entries:
        raise PipelineSettingsError(f"{where}: 'libraries' must list the pipeline's source files")
    files: list[Path] = []
    for entry in entries:
        pattern = _library_pattern(entry, where)
        matches = sorted(Path(match) for match in glob.glob(str(base / pattern), recursive=True))
        if not matches:
            raise PipelineSettingsError(f"{where}: library '{pattern}' matches no file under {base}")
        files.extend(match for match in matches if match not in files)
    return tuple(files)


def _library_pattern(entry: Any, where: str) -> str:
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and len(entry) == 1:
        ((kind, value),) = entry.items()
        if kind in ("file", "notebook") and isinstance(value, dict) and isinstance(value.get("path"), str):
            return value["path"]
        if kind == "glob" and isinstance(value, dict) and isinstance(value.get("include"), str):
            return value["include"]
    raise PipelineSettingsError(
        f"{where}: library entry {entry!r} must be a path or glob, or {{file: {{path: ...}}}} / "
        "{glob: {include: ...}}"
    )
