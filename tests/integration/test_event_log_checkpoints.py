"""The event log is checkpointed after updates, in the background, not inside one of its commits.

Delta checkpoints a log inside the commit that reaches every tenth version; for the event
log that was an update's ``create_update`` write, which the update waits for.
"""

from __future__ import annotations

from pathlib import Path

from smart_factory.runtime.delta_txn import commits_since_checkpoint, table_properties
from smart_factory.runtime.event_log import CHECKPOINT_EVERY, EventLog


def test_the_log_is_checkpointed_in_the_background_once_ten_commits_piled_up(spark, tmp_path: Path) -> None:
    path = str(tmp_path / "event_log")
    events = EventLog(spark, path, "pipeline-id", "Pipeline", "update-id", "target")
    for commit in range(CHECKPOINT_EVERY + 1):  # versions 0..10: Delta's default would checkpoint at 10
        events.emit("user_action", f"commit {commit}", {"commit": commit})
        events.flush()
        if commit < CHECKPOINT_EVERY - 1:
            assert events.checkpoint_soon() is None  # not yet
    assert table_properties(spark, path)["delta.checkpointInterval"] == "100"
    assert not (tmp_path / "event_log" / "_delta_log" / "_last_checkpoint").exists()
    assert commits_since_checkpoint(path) == CHECKPOINT_EVERY + 1

    checkpoint = events.checkpoint_soon()
    assert checkpoint is not None
    checkpoint.result()
    assert commits_since_checkpoint(path) == 0
    assert (tmp_path / "event_log" / "_delta_log" / "_last_checkpoint").is_file()
    assert events.checkpoint_soon() is None
    assert spark.read.format("delta").load(path).count() == CHECKPOINT_EVERY + 1
