"""Helpers for tests that look at what Spark did, not only at the result."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import SparkSession


def spark_jobs_of(spark: SparkSession, action: Callable[[], object]) -> int:
    """How many Spark jobs ``action()`` ran (counted through a job group of its own)."""
    context = spark.sparkContext
    group = f"probe-{id(action)}"
    context.setJobGroup(group, "counting Spark jobs")
    try:
        action()
    finally:
        context.setLocalProperty("spark.jobGroup.id", None)
    return len(context.statusTracker().getJobIdsForGroup(group))
