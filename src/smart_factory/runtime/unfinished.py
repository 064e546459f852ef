"""Updates that started and never said how they ended: a process killed, out of memory, a power cut.

Each update leaves a small marker file when it starts and removes it once its final state
is in the event log. Markers are written and removed only while holding the pipeline's
lock, so the next update (which holds that lock) knows every marker it finds belongs to a
process that is gone, and records those updates as FAILED instead of leaving them missing.

>>> updates = UnfinishedUpdates(pipeline_dir)
>>> updates.start("0c4f…")                                  # holding the pipeline's lock
>>> [update.update_id for update in updates.left_behind()]  # the next update, if this one died
['0c4f…']
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

MARKERS_FOLDER = "unfinished_updates"


@dataclass(frozen=True)
class UnfinishedUpdate:
    """An update's marker: which update, run by which process, since when (UTC, ISO-8601)."""

    update_id: str
    process_id: int
    started_at: str

    def message(self) -> str:
        """What the event log says about it, in words an operator can act on."""
        return (
            f"Update {self.update_id[:8]} ended without finishing: its process (pid {self.process_id}, started "
            f"{self.started_at}) stopped before recording a final state (killed, out of memory, or the machine "
            "went down). Tables it committed keep those commits; the next update carried on from its checkpoints."
        )


class UnfinishedUpdates:
    """The markers of one pipeline, in ``<pipeline folder>/unfinished_updates/<update id>.json``."""

    def __init__(self, pipeline_dir: Path) -> None:
        self.folder = pipeline_dir / MARKERS_FOLDER

    def start(self, update_id: str) -> None:
        marker = UnfinishedUpdate(update_id, os.getpid(), datetime.now(UTC).isoformat())
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{update_id}.tmp"
        temporary.write_text(json.dumps(asdict(marker)))
        # A whole marker or none: a kill mid-write must not leave one that cannot be read.
        os.replace(temporary, self._marker(update_id))

    def finish(self, update_id: str) -> None:
        self._marker(update_id).unlink(missing_ok=True)

    def left_behind(self) -> list[UnfinishedUpdate]:
        """Every marker still there, oldest first. Call it holding the pipeline's lock."""
        if not self.folder.is_dir():
            return []
        found = []
        for marker in self.folder.glob("*.json"):
            try:
                found.append(UnfinishedUpdate(**json.loads(marker.read_text())))
            except (OSError, ValueError, TypeError):
                # Only os.replace creates markers, so this is not ours; the name still says which update.
                found.append(UnfinishedUpdate(marker.stem, -1, "unknown"))
        return sorted(found, key=lambda update: update.started_at)

    def _marker(self, update_id: str) -> Path:
        return self.folder / f"{update_id}.json"
