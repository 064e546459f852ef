"""Reading a YAML file that must hold a mapping, with errors that name the file and the problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from smart_factory.errors import SmartFactoryError


def read_yaml_mapping(path: str | Path, error: type[SmartFactoryError], what: str) -> dict[str, Any]:
    """The mapping in ``path`` (``{}`` for an empty file); ``what`` says what it holds, for messages.

    An unreadable file, invalid YAML or anything but a mapping raises ``error``.
    """
    path = Path(path)
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as problem:
        raise error(f"cannot read the {what} file {path}: {problem.strerror}") from None
    except yaml.YAMLError as problem:
        raise error(f"{path} is not valid YAML: {problem}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise error(f"{path} must hold a mapping of {what}, got {type(loaded).__name__}")
    return loaded
