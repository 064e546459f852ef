"""Alert definitions: YAML files versioned with the repository, read into frozen records.

One file per alert, in the shape of a Databricks SQL alert (see docs/alerts.md)::

    name: Overheating Equipment Alert
    query: SELECT device_id, max_temperature_celsius FROM smart_factory.gold_device_hourly …
    condition: {column: max_temperature_celsius, aggregation: MAX, op: ">", threshold: 40, empty_result_state: OK}
    schedule: {cron: "*/2 * * * *", timezone: Europe/Berlin}
    notification: {retrigger_seconds: 0, notify_on_ok: true, subject: "…", body: "…"}

Every problem is reported as ``file:line: 'field' …`` so a workshop attendee can fix a
definition without reading this module. Nothing here touches Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from smart_factory.alerts.condition import AGGREGATIONS, ALERT_STATES, EQUALITY_OPERATORS, OPERATOR_ALIASES, Condition
from smart_factory.alerts.schedule import Schedule
from smart_factory.alerts.templates import DEFAULT_BODY, DEFAULT_SUBJECT, VARIABLES, unknown_variables
from smart_factory.errors import AlertDefinitionError
from smart_factory.lakehouse.paths import checkout_root

DEFAULT_ALERTS_DIR = (checkout_root() or Path.cwd()) / "alerts"
DEFINITION_SUFFIXES = (".yml", ".yaml")
_T = TypeVar("_T")


@dataclass(frozen=True)
class NotificationSettings:
    retrigger_seconds: int = 0  # 0: notify once per trigger; N: remind every N seconds while TRIGGERED
    notify_on_ok: bool = False
    subject: str = DEFAULT_SUBJECT
    body: str = DEFAULT_BODY


@dataclass(frozen=True)
class AlertDefinition:
    """One alert. Build it from a file with :meth:`load`, or from a mapping in a notebook.

    >>> alert = AlertDefinition.from_mapping({
    ...     "name": "Hot devices", "query": "SELECT 42.0 AS t",
    ...     "condition": {"column": "t", "op": ">", "threshold": 40},
    ...     "schedule": {"cron": "*/2 * * * *"},
    ... })
    >>> alert.condition.describe()
    't > 40'
    """

    name: str
    query: str
    condition: Condition
    schedule: Schedule
    notification: NotificationSettings = field(default_factory=NotificationSettings)
    description: str = ""
    source_file: str = "<mapping>"
    # "file:line" of the fields a later check (planning the query) may have to point at.
    locations: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def where(self, field_name: str) -> str:
        """Where ``field_name`` (``query``, ``condition.column``) is written: ``file:line``, or the file."""
        return self.locations.get(field_name, self.source_file)

    @classmethod
    def load(cls, path: str | Path) -> AlertDefinition:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            raw, node = yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
        except OSError as error:
            raise AlertDefinitionError(f"Cannot read alert definition {path}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise AlertDefinitionError(f"{path} is not valid YAML: {error}") from None
        return cls.from_mapping(raw, source=str(path), node=node)

    @classmethod
    def from_mapping(cls, raw: Any, source: str = "<mapping>", node: yaml.Node | None = None) -> AlertDefinition:
        top = _Section(raw, node, source)
        top.check_keys({"name", "description", "query", "condition", "schedule", "notification"})
        condition = top.section("condition", required=True)
        schedule = top.section("schedule", required=True)
        notification = top.section("notification")
        return cls(
            name=top.text("name", required=True),
            description=top.text("description", default=""),
            query=top.text("query", required=True),
            condition=_condition(condition),
            schedule=_schedule(schedule),
            notification=_notification(notification),
            source_file=source,
            locations={"query": top.where("query"), "condition.column": condition.where("column")},
        )


def load_alerts(location: str | Path = DEFAULT_ALERTS_DIR, names: list[str] | None = None) -> list[AlertDefinition]:
    """The alerts defined in a folder of YAML files (or one file), optionally only those named.

    >>> [alert.name for alert in load_alerts("alerts")]  # doctest: +SKIP
    ['Overheating Equipment Alert', 'Pipeline Health Alert']
    """
    location = Path(location)
    if location.is_dir():
        files = sorted(path for path in location.iterdir() if path.suffix in DEFINITION_SUFFIXES)
    elif location.is_file():
        files = [location]
    else:
        raise AlertDefinitionError(f"No alert definitions at {location}: expected a folder of .yml files or one file.")
    alerts: dict[str, AlertDefinition] = {}
    for path in files:
        alert = AlertDefinition.load(path)
        if alert.name in alerts:
            raise AlertDefinitionError(
                f"{path}: 'name' {alert.name!r} is already used by {alerts[alert.name].source_file}; "
                "names must be unique."
            )
        alerts[alert.name] = alert
    if names:
        unknown = [name for name in names if name not in alerts]
        if unknown:
            raise AlertDefinitionError(
                f"No alert named {', '.join(map(repr, unknown))} in {location}; "
                f"defined there: {', '.join(map(repr, alerts)) or 'none'}."
            )
        return [alerts[name] for name in names]
    return list(alerts.values())


def _condition(section: _Section) -> Condition:
    section.check_keys({"column", "aggregation", "op", "threshold", "empty_result_state"})
    operator = section.choice("op", OPERATOR_ALIASES, required=True)
    aggregation = section.choice("aggregation", {name: name for name in AGGREGATIONS})
    threshold = section.value("threshold")
    if operator == "IS NULL":
        if threshold is not None:
            raise section.error("threshold", "must be left out with op IS_NULL")
    elif threshold is None:
        raise section.error("threshold", f"is required with op {operator}")
    elif isinstance(threshold, str) and operator not in EQUALITY_OPERATORS:
        raise section.error("threshold", f"must be a number with op {operator} (text works with == and !=)")
    elif isinstance(threshold, bool) or not isinstance(threshold, int | float | str):
        raise section.error("threshold", f"must be a number (or text with == and !=), got {threshold!r}")
    return Condition(
        column=section.text("column", required=True),
        operator=operator,
        threshold=threshold,
        aggregation=aggregation,
        empty_result_state=section.choice("empty_result_state", {s: s for s in ALERT_STATES}, default="UNKNOWN"),
    )


def _schedule(section: _Section) -> Schedule:
    section.check_keys({"cron", "timezone"})
    cron = section.text("cron", required=True)
    section.build("cron", lambda: Schedule(cron))
    return section.build("timezone", lambda: Schedule(cron, section.text("timezone", default="UTC")))


def _notification(section: _Section) -> NotificationSettings:
    section.check_keys({"retrigger_seconds", "notify_on_ok", "subject", "body"})
    templates = {key: section.text(key, default=default) for key, default in
                 (("subject", DEFAULT_SUBJECT), ("body", DEFAULT_BODY))}  # fmt: skip
    for key, template in templates.items():
        unknown = unknown_variables(template)
        if unknown:
            raise section.error(
                key, f"uses unknown variable {{{{{unknown[0]}}}}}; the variables are {', '.join(VARIABLES)}"
            )
    retrigger_seconds = section.value("retrigger_seconds", default=0)
    if isinstance(retrigger_seconds, bool) or not isinstance(retrigger_seconds, int) or retrigger_seconds < 0:
        raise section.error("retrigger_seconds", f"must be whole seconds, 0 or more; got {retrigger_seconds!r}")
    notify_on_ok = section.value("notify_on_ok", default=False)
    if not isinstance(notify_on_ok, bool):
        raise section.error("notify_on_ok", f"must be true or false, got {notify_on_ok!r}")
    return NotificationSettings(retrigger_seconds, notify_on_ok, templates["subject"], templates["body"])


class _Section:
    """One mapping of a definition, read field by field; errors name the file, line and field."""

    def __init__(self, raw: Any, node: yaml.Node | None, source: str, prefix: str = "", line: int = 1) -> None:
        self.source, self.prefix, self.line = source, prefix, line  # line: where this section's key is
        self.node = node if isinstance(node, yaml.MappingNode) else None
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            where = f"'{prefix.rstrip('.')}'" if prefix else "the file"
            raise AlertDefinitionError(f"{self.where(None)}: {where} must be a mapping of fields, got {raw!r}")
        self.raw = raw

    def error(self, key: str, message: str) -> AlertDefinitionError:
        return AlertDefinitionError(f"{self.where(key)}: '{self.prefix}{key}' {message}")

    def check_keys(self, known: set[str]) -> None:
        for key in self.raw:
            if key not in known:
                raise self.error(str(key), f"is not a field here; known fields: {', '.join(sorted(known))}")

    def value(self, key: str, default: Any = None) -> Any:
        value = self.raw.get(key)
        return default if value is None else value

    def text(self, key: str, required: bool = False, default: str | None = None) -> Any:
        value = self.value(key)
        if value is None:
            if required:
                raise self.error(key, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be non-empty text, got {value!r}")
        return value

    def choice(self, key: str, choices: Mapping[str, str], required: bool = False, default: str | None = None) -> Any:
        """The canonical spelling of ``key``'s value among ``choices`` (matched case-insensitively)."""
        value = self.text(key, required=required)
        if value is None:
            return default
        canonical = {spelling.upper(): meaning for spelling, meaning in choices.items()}
        if value.strip().upper() not in canonical:
            raise self.error(key, f"must be one of {', '.join(choices)}; got {value!r}")
        return canonical[value.strip().upper()]

    def section(self, key: str, required: bool = False) -> _Section:
        if required and self.raw.get(key) is None:
            raise self.error(key, "is required")
        return _Section(self.raw.get(key), self._value_node(key), self.source, f"{self.prefix}{key}.",
                        self._line(key))  # fmt: skip

    def build(self, key: str, factory: Callable[[], _T]) -> _T:
        """``factory()``, with a ``ValueError`` it raises reported against ``key``."""
        try:
            return factory()
        except ValueError as error:
            raise self.error(key, str(error)) from None

    def _value_node(self, key: str) -> yaml.Node | None:
        for key_node, value_node in self.node.value if self.node else ():
            if key_node.value == key:
                return value_node
        return None

    def where(self, key: str | None) -> str:
        """``file:line`` of ``key`` (the source alone for a definition built from a mapping)."""
        return f"{self.source}:{self._line(key)}" if self.source != "<mapping>" else self.source

    def _line(self, key: str | None) -> int:
        """The line of ``key`` in the file; of this section's own key when ``key`` is missing."""
        for key_node, _ in self.node.value if self.node else ():
            if key_node.value == key:
                return key_node.start_mark.line + 1
        return self.line
