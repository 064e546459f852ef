"""The project's exception families. Each message says what is wrong, where, and what to do."""

from __future__ import annotations


class SmartFactoryError(Exception):
    """Base of every error the project raises on purpose (the CLI prints these as one line)."""


class EnvironmentProblem(SmartFactoryError):
    """The machine is missing something the lakehouse needs (Java, the Delta jars, a writable folder)."""


class JavaNotFound(EnvironmentProblem):
    pass


class UnsupportedJava(EnvironmentProblem):
    pass


class DeltaJarsUnavailable(EnvironmentProblem):
    pass


class StorageNotWritable(EnvironmentProblem):
    pass


class SimulatorConfigError(SmartFactoryError):
    """A simulator parameter is out of range or inconsistent; the message names it."""
