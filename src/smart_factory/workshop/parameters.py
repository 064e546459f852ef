"""The workshop's parameters: one set, shared by every notebook's ``parameters`` cell and the batch runner.

The notebooks spell the defaults out (papermill reads and overrides plain assignments), and
a test keeps those cells equal to :data:`DEFAULTS`.

>>> WorkshopParameters().num_devices
300
>>> WorkshopParameters.from_namespace({"seed": 7, "print": print}).seed
7
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import timedelta
from typing import Any

from smart_factory.errors import SmartFactoryError
from smart_factory.simulator.clock import DEFAULT_START, format_timestamp

SOLUTIONS_ENV = "SMART_FACTORY_SOLUTIONS"


def _flag(text: str) -> bool:
    return text.strip().lower() in ("1", "true", "yes", "on")


class WorkshopParameterError(SmartFactoryError):
    """A notebook or batch-run parameter is unknown or has the wrong type."""


@dataclass(frozen=True)
class WorkshopParameters:
    """What a presenter may change; the defaults keep each notebook well under a minute.

    Each notebook's ``parameters`` cell declares the subset it uses. ``storage_root`` and
    ``spark_master`` default to the environment
    (``SMART_FACTORY_STORAGE_ROOT``, ``SMART_FACTORY_SPARK_MASTER``), then the checkout's
    ``data/`` and ``local[*]``. ``start`` is the simulated time of the first file; every
    later file continues the simulated clock by ``minutes_per_file``.
    """

    storage_root: str | None = None
    spark_master: str | None = None
    num_devices: int = 300
    num_files: int = 3
    readings_per_file: int = 3000
    seed: int = 42
    start: str = format_timestamp(DEFAULT_START)
    minutes_per_file: int = 20
    # Where notebook 05 sends alert notifications: "local" (a receiver on 127.0.0.1 the notebook
    # starts), "configured" (SMART_FACTORY_ALERT_DESTINATIONS), "file://" (the log file) or a URL
    # without secrets; URLs that carry secrets belong in the environment, never in a notebook.
    alert_destination: str = "local"
    # Whether the exercises' worked solutions run (``%%solution`` cells): batch runs turn them
    # on, a learner in JupyterLab leaves them off so the exercise cells run alone. None reads
    # SMART_FACTORY_SOLUTIONS (nbval cannot pass parameters), else off.
    solutions: bool | None = None

    def __post_init__(self) -> None:
        if self.solutions is None:
            object.__setattr__(self, "solutions", _flag(os.environ.get(SOLUTIONS_ENV, "")))
        elif not isinstance(self.solutions, bool):
            if str(self.solutions).strip().lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise WorkshopParameterError(f"parameter solutions must be True or False, got {self.solutions!r}")
            object.__setattr__(self, "solutions", _flag(str(self.solutions)))
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "solutions":
                continue
            expected = int if field.type == "int" else str
            if value is None and field.default is None:
                continue
            if expected is int and isinstance(value, str) and value.strip().lstrip("-").isdigit():
                object.__setattr__(self, field.name, int(value))  # from a command line or YAML string
            elif not isinstance(value, expected) or isinstance(value, bool):
                raise WorkshopParameterError(
                    f"parameter {field.name} must be {'a whole number' if expected is int else 'text'}, got {value!r}"
                )
        for name in ("num_devices", "num_files", "readings_per_file", "minutes_per_file"):
            if getattr(self, name) < 1:
                raise WorkshopParameterError(f"parameter {name} must be at least 1, got {getattr(self, name)}")

    @property
    def file_interval(self) -> timedelta:
        return timedelta(minutes=self.minutes_per_file)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    @classmethod
    def from_namespace(cls, namespace: Mapping[str, Any]) -> WorkshopParameters:
        """The parameters found in a notebook's namespace (``globals()``); other names are ignored."""
        return cls(**{name: namespace[name] for name in cls.names() if name in namespace})

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any]) -> WorkshopParameters:
        """Defaults with ``overrides`` applied; an unknown name is an error that lists the known ones."""
        unknown = sorted(set(overrides) - set(cls.names()))
        if unknown:
            raise WorkshopParameterError(
                f"unknown parameter {', '.join(unknown)}; the notebooks take {', '.join(cls.names())}"
            )
        return cls(**overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULTS = WorkshopParameters()
