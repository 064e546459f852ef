"""The pipeline benchmark on tiny inputs, so it cannot rot unnoticed: it runs, and both sides do equal work."""

from __future__ import annotations

from pathlib import Path

from benchmarks.pipeline_bench import COMPARED_TABLES, Sizes, measure

TINY = Sizes(readings=400, files=1, rounds=1, warm_updates=1, new_files=1, readings_per_new_file=100)
FLOWS = {"bronze_readings", "readings_validated", "silver_readings", "quarantine_readings", "device_registry",
         "gold_device_hourly", "gold_plant_line_hourly"}  # fmt: skip


def test_pipeline_bench_gives_each_figure_from_equal_work(spark, tmp_path: Path) -> None:
    figures = {measurement.name: measurement for measurement in measure(TINY, tmp_path, spark)}

    assert set(figures) == {"backfill_pipeline_ratio", "warm_update_seconds", "warm_update_baseline_seconds"}
    backfill, warm = figures["backfill_pipeline_ratio"], figures["warm_update_seconds"]
    assert backfill.value > 0 and backfill.baseline and backfill.baseline > 0
    assert backfill.to_dict()["goal"] == "ratio <= 1.3"
    # measure() stops when the sides' row counts differ; these say the counts are of real work.
    before, after = backfill.details["rows"], warm.details["rows"]
    assert set(before) == set(COMPARED_TABLES)
    assert before["silver_readings"] > 0 and before["quarantine_readings"] > 0
    assert before["silver_readings"] + before["quarantine_readings"] <= before["bronze_readings"]
    assert after["bronze_readings"] > before["bronze_readings"]
    assert before["gold_device_hourly"] > 0 and before["gold_plant_line_hourly"] > 0
    assert set(warm.details["flow_seconds"]) >= FLOWS
    assert 0 < warm.details["flow_seconds"]["bronze_readings"] <= warm.value
    assert figures["warm_update_baseline_seconds"].value > 0
