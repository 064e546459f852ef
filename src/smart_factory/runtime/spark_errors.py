"""Reading our own messages back out of Spark's wrapped exceptions.

A ``raise_error`` inside a streaming query reaches Python several layers deep (the query
failed, because a task failed, because…). The runtime tags its messages so they can be
found anywhere in that chain and turned into one clear error.
"""

from __future__ import annotations

from collections.abc import Iterator


def exception_chain_text(error: BaseException) -> str:
    """Every message in ``error``'s chain, Python and JVM causes alike, as one text."""
    return "\n".join(_messages(error))


def _messages(error: BaseException | None, depth: int = 0) -> Iterator[str]:
    if error is None or depth > 20:
        return
    yield str(error)
    for attribute in ("_desc", "_stackTrace"):
        text = getattr(error, attribute, None)
        if isinstance(text, str):
            yield text
    origin = getattr(error, "_origin", None)
    if origin is not None:
        yield from _java_messages(origin)
    yield from _messages(getattr(error, "_cause", None) or error.__cause__, depth + 1)


def _java_messages(throwable: object) -> Iterator[str]:
    seen = 0
    while throwable is not None and seen < 20:
        try:
            yield str(throwable.getMessage())  # type: ignore[attr-defined]
            throwable = throwable.getCause()  # type: ignore[attr-defined]
        except Exception:  # the JVM may be gone; what we have is enough
            return
        seen += 1
