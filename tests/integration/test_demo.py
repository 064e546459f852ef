"""`make demo`'s command, end to end in its own process and storage root."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support import run_cli


def test_the_demo_lands_data_and_reads_it_back_with_spark(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    stale = root / "lakehouse" / "smart_factory" / "stale_table"
    stale.mkdir(parents=True)
    result = run_cli(
        "demo", "--storage-root", str(root), "--master", "local[1]",
        "--devices", "40", "--files", "2", "--readings-per-file", "300", timeout=900,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("-> COMPLETED") == 2, out
    assert "COMPLETED gold_plant_line_hourly" in out
    assert (root / "pipeline_graph.html").read_text().count('class="dataset"') == 7
    assert not stale.exists(), "the demo starts from an empty lakehouse"
    registry = (root / "volumes/main/smart_factory/landing/device_registry/devices.json").read_text()
    plants = {json.loads(line)["plant"] for line in registry.splitlines()}
    # Every plant of the registry appears as a row of the per-plant summary Spark printed.
    per_plant = out.split("Readings per plant")[1].split("\n\n")[0]
    table_rows = [line for line in per_plant.splitlines() if line.startswith("|Plant")]
    assert {row.split("|")[1].strip() for row in table_rows} == plants
    landed = re.search(r"Landed ([\d,]+) readings .* (\d+) re-sent duplicates, (\d+) wrong-typed", out)
    readings, duplicates, wrong_typed = (int(group.replace(",", "")) for group in landed.groups())
    assert duplicates > 0 and wrong_typed > 0
    # Spark sees every parseable record: readings, re-sent copies, and lines with a "hot"
    # temperature (kept, cast to null by try_cast); only truncated lines have no plant.
    assert sum(int(row.split("|")[2]) for row in table_rows) == readings + duplicates + wrong_typed
    assert (root / "lakehouse/smart_factory/gold_plant_line_hourly/_delta_log").is_dir()
    assert "WARN" not in out + result.stderr
