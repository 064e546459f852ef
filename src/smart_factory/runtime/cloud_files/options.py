"""The ``cloudFiles`` options Auto Loader documents, parsed and checked in one place.

Names and defaults follow Databricks' "Auto Loader options" reference
(https://docs.databricks.com/en/ingestion/cloud-object-storage/auto-loader/options.html).
Options that only make sense on Databricks (file notification services, for example) are
accepted with a notice; any other unknown ``cloudFiles.*`` option is an error that names it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from smart_factory.errors import CloudFilesOptionError

SchemaEvolutionMode = Literal["addNewColumns", "rescue", "failOnNewColumns", "none"]
EVOLUTION_MODES: tuple[str, ...] = ("addNewColumns", "rescue", "failOnNewColumns", "none")
SUPPORTED_FORMATS = ("json",)
RESCUED_DATA_COLUMN = "_rescued_data"

_log = logging.getLogger(__name__)

# Accepted so Databricks code runs unchanged, but they change nothing on a local file system.
DATABRICKS_ONLY_OPTIONS = frozenset(
    name.lower()
    for name in (
        "cloudFiles.useNotifications", "cloudFiles.useManagedFileEvents", "cloudFiles.backfillInterval",
        "cloudFiles.queueUrl", "cloudFiles.region", "cloudFiles.subscriptionId", "cloudFiles.tenantId",
        "cloudFiles.clientId", "cloudFiles.clientSecret", "cloudFiles.connectionString",
        "cloudFiles.resourceGroup", "cloudFiles.projectId", "cloudFiles.fetchParallelism",
        "cloudFiles.pathRewrites", "cloudFiles.resourceTag", "cloudFiles.useIncrementalListing",
        "cloudFiles.validateOptions", "cloudFiles.cleanSource", "cloudFiles.cleanSource.retentionDuration",
        "cloudFiles.cleanSource.moveDestination",
    )
)  # fmt: skip
_KNOWN_OPTION_NAMES = (
    "cloudFiles.format", "cloudFiles.schemaLocation", "cloudFiles.inferColumnTypes",
    "cloudFiles.schemaHints", "cloudFiles.schemaEvolutionMode", "cloudFiles.maxFilesPerTrigger",
    "cloudFiles.maxBytesPerTrigger", "cloudFiles.includeExistingFiles",
    "cloudFiles.schemaInference.sampleSize.numFiles", "cloudFiles.schemaInference.sampleSize.numBytes",
    "cloudFiles.partitionColumns", "cloudFiles.maxFileAge", "cloudFiles.allowOverwrites",
)  # fmt: skip
_KNOWN_OPTIONS = frozenset(name.lower() for name in _KNOWN_OPTION_NAMES)
# Options are matched case-insensitively but named in messages as the documentation spells them.
_SPELLING = {name.lower(): name for name in (*_KNOWN_OPTION_NAMES, "multiLine", "rescuedDataColumn")}
# Reader options (not cloudFiles.*) that this source understands or passes to Spark's file source.
PASSED_THROUGH_OPTIONS = frozenset({"pathglobfilter", "recursivefilelookup"})
# Spark's file source takes one rate limit or the other; Auto Loader's default is 1000 files.
DEFAULT_MAX_FILES_PER_TRIGGER = 1000


@dataclass(frozen=True)
class CloudFilesOptions:
    file_format: str
    schema_location: str | None = None
    infer_column_types: bool = False
    schema_hints: str | None = None
    evolution_mode: SchemaEvolutionMode | None = None  # None: Auto Loader's default, see below
    max_files_per_trigger: int | None = None  # None: DEFAULT_MAX_FILES_PER_TRIGGER unless bytes are capped
    max_bytes_per_trigger: int | None = None
    # None: the Spark conf Databricks documents for it, else 1000 files / 50 GB (see inference).
    sample_files: int | None = None
    sample_bytes: int | None = None
    rescued_data_column: str | None = None
    encoding: str = "UTF-8"
    multiline: bool = False
    # A file whose modification time changed after it was read is read again, whole.
    allow_overwrites: bool = False
    passed_through: tuple[tuple[str, str], ...] = ()

    def effective_evolution_mode(self, schema_given: bool) -> SchemaEvolutionMode:
        """``addNewColumns`` when the schema is inferred, ``none`` when the user gave one."""
        if self.evolution_mode is not None:
            return self.evolution_mode
        return "none" if schema_given else "addNewColumns"

    @classmethod
    def parse(cls, options: dict[str, str]) -> CloudFilesOptions:
        """Options as a reader collected them (case-insensitive keys, string values)."""
        lowered = {key.lower(): str(value) for key, value in options.items()}
        for key in lowered:
            if not key.startswith("cloudfiles."):
                continue
            if key in DATABRICKS_ONLY_OPTIONS:
                _log.info("cloudFiles option %s only applies on Databricks; ignored here", key)
            elif key not in _KNOWN_OPTIONS:
                raise CloudFilesOptionError(
                    f"Unknown Auto Loader option {_original(options, key)!r}. Supported here: "
                    f"{', '.join(sorted(_display(k) for k in _KNOWN_OPTIONS))}."
                )
        file_format = lowered.get("cloudfiles.format")
        if not file_format:
            raise CloudFilesOptionError("Auto Loader needs the file format: add .option('cloudFiles.format', 'json').")
        if file_format.lower() not in SUPPORTED_FORMATS:
            raise CloudFilesOptionError(
                f"cloudFiles.format {file_format!r} is not supported here; use one of {SUPPORTED_FORMATS}."
            )
        mode = lowered.get("cloudfiles.schemaevolutionmode")
        if mode is not None and mode not in EVOLUTION_MODES:
            matches = [m for m in EVOLUTION_MODES if m.lower() == mode.lower()]
            if not matches:
                raise CloudFilesOptionError(
                    f"cloudFiles.schemaEvolutionMode {mode!r} is not one of {', '.join(EVOLUTION_MODES)}."
                )
            mode = matches[0]
        _check_unsupported_values(lowered)
        max_files = _positive_int(lowered, "cloudfiles.maxfilespertrigger", None)
        max_bytes = _byte_size(lowered, "cloudfiles.maxbytespertrigger", None)
        if max_files is not None and max_bytes is not None:
            # Auto Loader stops at whichever limit is reached first; Spark's file source,
            # which does the listing here, refuses to be given both.
            raise CloudFilesOptionError(
                "cloudFiles.maxFilesPerTrigger and cloudFiles.maxBytesPerTrigger are both set; here "
                "only one rate limit can apply at a time. Keep the one that matters most."
            )
        return cls(
            file_format=file_format.lower(),
            schema_location=lowered.get("cloudfiles.schemalocation"),
            infer_column_types=_boolean(lowered, "cloudfiles.infercolumntypes", False),
            schema_hints=lowered.get("cloudfiles.schemahints"),
            evolution_mode=mode,  # type: ignore[arg-type]
            max_files_per_trigger=max_files,
            max_bytes_per_trigger=max_bytes,
            sample_files=_positive_int(lowered, "cloudfiles.schemainference.samplesize.numfiles", None),
            sample_bytes=_byte_size(lowered, "cloudfiles.schemainference.samplesize.numbytes", None),
            rescued_data_column=lowered.get("rescueddatacolumn"),
            encoding=lowered.get("encoding") or lowered.get("charset") or "UTF-8",
            multiline=_boolean(lowered, "multiline", False),
            allow_overwrites=_boolean(lowered, "cloudfiles.allowoverwrites", False),
            passed_through=tuple((key, value) for key, value in lowered.items() if key in PASSED_THROUGH_OPTIONS),
        )


def _check_unsupported_values(lowered: dict[str, str]) -> None:
    # Known Auto Loader options whose non-default behaviour this source cannot give: an
    # error now beats a stream that silently does something else.
    if lowered.get("cloudfiles.includeexistingfiles", "true").strip().lower() != "true":
        raise CloudFilesOptionError(
            "cloudFiles.includeExistingFiles=false is not supported here: every file in the folder is "
            "ingested on the first run. Start from an empty landing folder instead."
        )
    if lowered.get("cloudfiles.partitioncolumns", "").strip():
        raise CloudFilesOptionError(
            "cloudFiles.partitionColumns is not supported here: columns are not read from folder names. "
            "Derive them from _metadata.file_path instead."
        )


def _display(lowered: str) -> str:
    return _SPELLING.get(lowered, lowered)


def _original(options: dict[str, str], lowered: str) -> str:
    return next(key for key in options if key.lower() == lowered)


def _boolean(options: dict[str, str], key: str, default: bool) -> bool:
    if key not in options:
        return default
    value = options[key].strip().lower()
    if value not in ("true", "false"):
        raise CloudFilesOptionError(f"{_display(key)} must be true or false, got {options[key]!r}.")
    return value == "true"


def _positive_int(options: dict[str, str], key: str, default: int | None) -> int | None:
    if key not in options:
        return default
    try:
        value = int(options[key])
    except ValueError:
        value = 0
    if value < 1:
        raise CloudFilesOptionError(f"{_display(key)} must be a whole number of at least 1, got {options[key]!r}.")
    return value


_BYTE_UNITS = {"b": 1, "k": 1024, "kb": 1024, "m": 1024**2, "mb": 1024**2, "g": 1024**3, "gb": 1024**3,
               "t": 1024**4, "tb": 1024**4}  # fmt: skip


def _byte_size(options: dict[str, str], key: str, default: int | None) -> int | None:
    if key not in options:
        return default
    size = parse_byte_size(options[key])
    if size is None:
        raise CloudFilesOptionError(f"{_display(key)} must be a size such as 10gb or 512m, got {options[key]!r}.")
    return size


def parse_byte_size(text: str) -> int | None:
    """``"10gb"``, ``"512m"``, ``"1024"`` as bytes; None when it is not a positive size."""
    text = text.strip().lower()
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :] or "b"
    if not number.isdigit() or unit not in _BYTE_UNITS or int(number) < 1:
        return None
    return int(number) * _BYTE_UNITS[unit]
