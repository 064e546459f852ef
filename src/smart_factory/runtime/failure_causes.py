"""The cause of a flow's failure, dug out of Spark's wrapped exceptions.

A failure inside a micro-batch reaches Python several layers deep: the streaming query
failed (``STREAM_FAILED``), because the ``foreachBatch`` function failed, because a job
failed, because a task failed, because a cast met ``'27.87'`` or a Python UDF raised. The
first line of the outermost layer says none of that. :func:`failure_cause` walks every
layer — Python exceptions, their JVM throwables, the causes of those — and picks the one
that says what went wrong; :func:`describe` turns it into one paragraph naming the
Spark error class, the message, and where the user's code is at fault (a UDF's or a table
function's file and line, an expectation by name).

>>> FailureCause("ValueError", None, "cannot calibrate 27.87", "pipeline.py:7", "calibrate").summary
'ValueError: cannot calibrate 27.87 (at pipeline.py:7, in calibrate)'
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Error classes that only say "something inside me failed": the cause is further down.
WRAPPER_ERROR_CLASSES = frozenset({
    "STREAM_FAILED",
    "FOREACH_BATCH_USER_FUNCTION_ERROR",
    "TASK_WRITE_FAILED",
    "_LEGACY_ERROR_TEMP_2001",
})  # fmt: skip
# JVM exception classes that wrap without adding anything of their own.
_WRAPPER_CLASSES = frozenset({
    "org.apache.spark.SparkException",
    "org.apache.spark.sql.streaming.StreamingQueryException",
    "java.util.concurrent.ExecutionException",
    "py4j.Py4JException",
    "py4j.protocol.Py4JJavaError",
    "Py4JJavaError",
    "StreamingQueryException",
})  # fmt: skip
_PYTHON_WORKER_ERROR = "org.apache.spark.api.python.PythonException"
_TRACEBACK_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<function>\S+)')


@dataclass(frozen=True)
class FailureCause:
    """One layer of a failure: its exception class, Spark error class, message and, if known, the user's line."""

    class_name: str
    error_class: str | None
    message: str
    location: str | None = None  # "pipeline.py:7": the line of the user's code at fault...
    function: str | None = None  # ...in this function (a UDF, a table function)
    fragment: str | None = None  # the SQL text Spark was evaluating (its query context), if it says
    culprit: str | None = None  # what in the pipeline is at fault: "expectation 'not_hot' (...)"

    @property
    def summary(self) -> str:
        """``[ERROR_CLASS] message`` (Spark's own form) or ``Type: message``, and where."""
        text = self.message if self.error_class else f"{_short_class(self.class_name)}: {self.message}"
        if self.culprit:
            text += f" (in {self.culprit})"
        if self.location:
            text += f" (at {self.location}" + (f", in {self.function}" if self.function else "") + ")"
        return text

    def as_event_error(self) -> dict[str, Any]:
        """The cause as one entry of the event log's ``error.exceptions`` list (Databricks' fields)."""
        entry: dict[str, Any] = {"class_name": self.class_name, "message": self.summary}
        if self.error_class:
            entry["error_class"] = self.error_class
        return entry


def failure_cause(error: BaseException, user_files: Sequence[str | Path] = ()) -> FailureCause:
    """The layer of ``error`` that says what went wrong, located in ``user_files`` where possible."""
    files = {str(Path(file).resolve()) for file in user_files}
    layers = list(_layers(error, files))
    return _most_telling(layers) or FailureCause(type(error).__name__, None, _first_paragraph(str(error)))


def _most_telling(layers: list[FailureCause]) -> FailureCause | None:
    # A Python exception raised by the user's code (a UDF in a worker, a table function, the
    # foreachBatch function) is the cause itself; otherwise the innermost layer with an error
    # class of its own (CAST_INVALID_INPUT...), else the innermost that is not a bare wrapper.
    located = [layer for layer in layers if layer.location]
    if located:
        return located[-1]
    classified = [layer for layer in layers if layer.error_class and layer.error_class not in WRAPPER_ERROR_CLASSES]
    if classified:
        return classified[-1]
    plain = [layer for layer in layers if layer.class_name not in _WRAPPER_CLASSES and layer.message]
    return plain[-1] if plain else (layers[-1] if layers else None)


def _layers(error: BaseException | None, files: set[str], depth: int = 0) -> Iterator[FailureCause]:
    if error is None or depth > 20:
        return
    java = getattr(error, "java_exception", None) or getattr(error, "_origin", None)
    if java is None:
        yield _python_layer(error, files)
    else:
        yield from _java_layers(java, files)
    yield from _layers(error.__cause__ or error.__context__, files, depth + 1)


def _python_layer(error: BaseException, files: set[str]) -> FailureCause:
    error_class = _call(error, "getCondition") or _call(error, "getErrorClass")
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if _is_user_file(frame.filename, files)]
    if not frames:
        return FailureCause(type(error).__name__, error_class, _first_paragraph(str(error)))
    location = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"
    return FailureCause(type(error).__name__, error_class, _first_paragraph(str(error)), location, frames[-1].name)


def _java_layers(throwable: Any, files: set[str]) -> Iterator[FailureCause]:
    seen = 0
    while throwable is not None and seen < 20:
        try:
            class_name = str(throwable.getClass().getName())
            message = str(throwable.getMessage() or "")
            error_class = _call(throwable, "getCondition") or _call(throwable, "getErrorClass")
            fragment = _query_fragment(throwable)
            cause = throwable.getCause()
        except Exception:  # the JVM may be gone; what we have is enough
            return
        if class_name == _PYTHON_WORKER_ERROR:
            yield _worker_layer(message, files)
        else:
            yield FailureCause(class_name, error_class, _first_paragraph(message), fragment=fragment)
        throwable, seen = cause, seen + 1


def _worker_layer(text: str, files: set[str]) -> FailureCause:
    """A Python UDF's exception, from the worker's traceback text: its last line and the user's frame."""
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.strip().startswith("SQLSTATE")]
    last = lines[-1].strip() if lines else text.strip()
    class_name, _, message = last.partition(": ")
    frames = [match for match in _TRACEBACK_FRAME.finditer(text) if _is_user_file(match["file"], files)]
    class_name = class_name.rsplit(".", 1)[-1] or "PythonException"
    if not frames:
        return FailureCause(class_name, None, message or last)
    location = f"{Path(frames[-1]['file']).name}:{frames[-1]['line']}"
    return FailureCause(class_name, None, message or last, location, frames[-1]["function"])


def _is_user_file(filename: str, files: set[str]) -> bool:
    try:
        return str(Path(filename).resolve()) in files
    except OSError:
        return False


def _call(target: Any, method: str) -> str | None:
    try:
        value = getattr(target, method)()
    except Exception:
        return None
    return str(value) if value else None


def _query_fragment(throwable: Any) -> str | None:
    """The SQL text a Spark error's query context points at (``temperature_celsius < 40``), if any."""
    try:
        contexts = throwable.getQueryContext() if hasattr(throwable, "getQueryContext") else None
        fragments = [str(context.fragment()) for context in (contexts or [])]
    except Exception:
        return None
    return next((fragment for fragment in fragments if fragment), None)


def _first_paragraph(message: str) -> str:
    """Spark's message without its query context or JVM stack: up to the SQLSTATE, on one line."""
    kept: list[str] = []
    message = message.split("Traceback (most recent call last)", 1)[0]
    for line in message.strip().splitlines():
        stripped = line.strip()
        if stripped.startswith(("== ", "at ", "JVM stacktrace", "Traceback (most recent")) or stripped == "":
            break
        kept.append(stripped)
        if stripped.startswith("SQLSTATE"):
            break
    return re.sub(r"\s+", " ", " ".join(kept)).strip()


def _short_class(class_name: str) -> str:
    return class_name.rsplit(".", 1)[-1]
