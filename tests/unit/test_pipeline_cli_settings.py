"""A settings file that is missing or wrong is reported before Spark starts (no 10 s wait for a typo)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_python

# Runs the real command in a child process whose get_spark and JVM launcher refuse to be used.
CHILD = """
import sys
import pyspark.context
import smart_factory.lakehouse

def refuse(*args, **kwargs):
    print("SPARK WAS STARTED", flush=True)
    raise SystemExit(99)

smart_factory.lakehouse.get_spark = refuse
pyspark.context.launch_gateway = refuse
from smart_factory.cli import main
sys.exit(main({argv!r}))
"""


def smart_factory(*argv: str):
    return run_python(CHILD.format(argv=list(argv)), timeout=120)


@pytest.mark.parametrize("action", ["validate", "run", "graph", "events"])
def test_a_missing_settings_file_is_reported_without_starting_spark(tmp_path: Path, action: str) -> None:
    missing = tmp_path / "no-such-pipeline.yml"
    done = smart_factory("pipeline", action, "--settings", str(missing))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip() == (
        f"smart-factory: error: cannot read the pipeline settings file {missing}: No such file or directory"
    )
    assert "SPARK WAS STARTED" not in done.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("name: [unclosed", "is not valid YAML"),
        ("name: p\ntarget: smart_factory\nlibraries: [pipeline.py]\nclusterz: 1\n", "unknown setting 'clusterz'"),
        ("name: p\nlibraries: [missing.py]\n", "library 'missing.py' matches no file under"),
    ],
)
def test_a_malformed_settings_file_is_reported_without_starting_spark(tmp_path: Path, content: str,
                                                                      message: str) -> None:  # fmt: skip
    settings = tmp_path / "pipeline.yml"
    settings.write_text(content)
    done = smart_factory("pipeline", "run", "--settings", str(settings))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"smart-factory: error: {settings}")
    assert message in done.stderr
    assert "SPARK WAS STARTED" not in done.stdout
