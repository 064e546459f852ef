"""Where everything lives under the storage root, and how Databricks paths map onto it.

The storage root holds the whole lakehouse, so a test or a second workshop can point
``SMART_FACTORY_STORAGE_ROOT`` elsewhere and never touch the user's own ``data/``::

    <root>/volumes/<catalog>/<schema>/<volume>/...   <- /Volumes/<catalog>/<schema>/<volume>/...
    <root>/lakehouse/<schema>/<table>/                 Delta tables (the layout *is* the catalog)
    <root>/pipelines/<pipeline>/                       checkpoints, schemas, locks
    <root>/logs/                                       the JVM's own output, kept out of notebooks
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from smart_factory.errors import UnsupportedStorageRoot

STORAGE_ROOT_ENV = "SMART_FACTORY_STORAGE_ROOT"
SCHEMA = "smart_factory"
CATALOG = "main"
VOLUMES_PREFIX = "/Volumes/"

# The demo's landing zone, spelled as Databricks code spells it.
LANDING_VOLUME = f"/Volumes/{CATALOG}/{SCHEMA}/landing"
READINGS_LANDING = f"{LANDING_VOLUME}/sensor_readings"
DEVICE_REGISTRY_LANDING = f"{LANDING_VOLUME}/device_registry"


def checkout_root() -> Path | None:
    """The source checkout this package runs from (the workshop's normal case), if any."""
    checkout = Path(__file__).resolve().parents[3]
    if (checkout / "pyproject.toml").is_file() and (checkout / "src" / "smart_factory").is_dir():
        return checkout
    return None


def _default_storage_root() -> Path:
    # data/ sits beside pyproject.toml, wherever the notebook or command was started from.
    return (checkout_root() or Path.cwd()) / "data"


@dataclass(frozen=True)
class StoragePaths:
    """The folders of one lakehouse, all derived from its storage root."""

    root: Path

    @classmethod
    def from_env(cls, root: str | os.PathLike[str] | None = None) -> StoragePaths:
        """Paths for ``root``, else ``$SMART_FACTORY_STORAGE_ROOT``, else the checkout's ``data/``."""
        chosen = os.fspath(root or os.environ.get(STORAGE_ROOT_ENV) or _default_storage_root())
        return cls(Path(_local_folder(chosen)).expanduser().resolve())

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def lakehouse(self) -> Path:
        return self.root / "lakehouse"

    @property
    def pipelines(self) -> Path:
        return self.root / "pipelines"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def table(self, name: str, schema: str = SCHEMA) -> Path:
        """Folder of the Delta table ``schema.name`` (``name`` may itself be qualified)."""
        if "." in name:
            schema, name = name.split(".", 1)
        return self.lakehouse / schema / name

    def resolve(self, path: str | os.PathLike[str]) -> str:
        """Map a Unity Catalog volume path to its local folder; leave any other path alone.

        >>> StoragePaths(Path("/tmp/lake")).resolve("/Volumes/main/smart_factory/landing/x.json")
        '/tmp/lake/volumes/main/smart_factory/landing/x.json'
        """
        text = os.fspath(path)
        if not is_volume_path(text):
            return text
        parts = PurePosixPath(text).parts[2:]  # drop "/" and "Volumes"
        if len(parts) < 3:
            raise ValueError(
                f"{text!r} is not a volume path: expected /Volumes/<catalog>/<schema>/<volume>/..."
            )
        return str(self.volumes.joinpath(*parts))

    @property
    def readings_landing(self) -> Path:
        return Path(self.resolve(READINGS_LANDING))

    @property
    def device_registry_landing(self) -> Path:
        return Path(self.resolve(DEVICE_REGISTRY_LANDING))


def _local_folder(root: str) -> str:
    """``root`` as a folder path; a URL other than ``file:`` is refused, not read as a folder name."""
    scheme = re.match(r"([A-Za-z][A-Za-z0-9+.-]+):/", root)  # two letters or more: C:/ is a drive
    if scheme is None:
        return root
    if scheme.group(1) == "file":
        return root.removeprefix("file://") if root.startswith("file:///") else root.removeprefix("file:")
    raise UnsupportedStorageRoot(
        f"The storage root {root} is a URL, but it must be a folder (local, or a shared mount such as "
        f"NFS that the driver and every worker see): the landing zone, checkpoints and logs under it are "
        f"written as plain files. Set {STORAGE_ROOT_ENV} (or --storage-root) to a folder; to keep data in "
        "object storage, see docs/scale-out.md (hadoop-aws jars and credentials in SMART_FACTORY_SPARK_CONF)."
    )


def is_volume_path(path: str) -> bool:
    return path == VOLUMES_PREFIX.rstrip("/") or path.startswith(VOLUMES_PREFIX)
