"""The project's exception families. Each message says what is wrong, where, and what to do."""

from __future__ import annotations


class SmartFactoryError(Exception):
    """Base of every error the project raises on purpose (the CLI prints these as one line)."""

    def _render_traceback_(self) -> list[str]:
        # IPython's hook: a notebook shows the message, which names the cause and the place,
        # not the project's own frames above it.
        return [f"{type(self).__name__}: {self}"]


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


class UnsupportedStorageRoot(EnvironmentProblem):
    """The storage root is not a folder path (an ``s3a://`` URL, say); the message says what to do."""


class InvalidSparkSetting(EnvironmentProblem):
    """A Spark setting (master URL, executor timeout, conf file) is malformed; the message names it."""


class ClusterUnavailable(EnvironmentProblem):
    """A cluster master does not answer, or grants the application no executors in time."""


class SimulatorConfigError(SmartFactoryError):
    """A simulator parameter is out of range or inconsistent; the message names it."""


class DashboardError(SmartFactoryError):
    """A dashboard cannot be shown, served or exported: unknown name, port taken, bad output path."""


class PanelDataUnavailable(DashboardError):
    """A panel has nothing to draw yet (its table is missing or empty); the message says what to run.

    Not a failure: the dashboard shows the message as the panel's empty state.
    """


class CloudFilesError(SmartFactoryError):
    """An Auto Loader (``cloudFiles``) source cannot go on; the message says why and where."""


class CloudFilesOptionError(CloudFilesError):
    """A ``cloudFiles`` option is unknown, missing or out of range."""


class SchemaChangedError(CloudFilesError):
    """New columns arrived and the merged schema was saved: restart the stream to pick it up.

    Retryable, as Auto Loader's ``UnknownFieldException`` is: a pipeline runtime restarts
    the flow once and the update succeeds.
    """

    def __init__(self, message: str, new_columns: tuple[str, ...], schema_version: int) -> None:
        super().__init__(message)
        self.new_columns = new_columns
        self.schema_version = schema_version


class NewColumnsRejected(CloudFilesError):
    """``failOnNewColumns``: data arrived with columns the schema does not have."""


class PipelineDefinitionError(SmartFactoryError):
    """A pipeline file defines something wrongly: the message names the file, line and dataset."""


class PipelinePlanningError(SmartFactoryError):
    """The dataflow graph cannot be built (unknown dataset, cycle, duplicate, bad expectation).

    ``problems`` lists every problem found, each naming its file and line.
    """

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "The pipeline cannot run:\n" + "\n".join(f"  - {problem}" for problem in problems)
        )
        self.problems = problems


class TableOwnershipError(PipelinePlanningError):
    """A table the pipeline would write belongs to another pipeline (or to none it can claim).

    Raised at planning, before any flow starts; each problem names the table and both pipelines.
    """

    def __init__(self, problems: list[str], remedy: str) -> None:
        super().__init__(problems)
        self.args = (f"{self.args[0]}\n{remedy}",)
        self.remedy = remedy


class ExpectationFailed(SmartFactoryError):
    """An ``expect_or_fail`` rule was broken: names the rule, the dataset and a sample row."""


class PipelineSettingsError(SmartFactoryError):
    """The pipeline settings file is invalid; the message names the file and the field."""


class AlertError(SmartFactoryError):
    """Base of the alerting errors: a definition, a destination or the alert store is wrong."""


class AlertDefinitionError(AlertError):
    """An alert definition file is invalid; the message names the file, line and field."""


class AlertQueryError(AlertDefinitionError):
    """An alert's query does not parse, is not a query, cannot be planned against the tables, or
    lacks the condition's column. ``problems`` lists each, naming the file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The alerts cannot be evaluated:\n" + "\n".join(f"  - {problem}" for problem in problems))
        self.problems = problems


class AlertDestinationError(AlertError):
    """A notification destination is misconfigured; the message names the setting, never its secret."""
