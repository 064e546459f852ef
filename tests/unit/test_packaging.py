"""The install files agree with each other and with what Spark and Delta support."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _requirements(lines: list[str]) -> dict[str, Requirement]:
    parsed = [Requirement(line) for line in lines]
    return {requirement.name.lower(): requirement for requirement in parsed}


def test_environment_yml_pins_the_same_pip_packages_as_pyproject() -> None:
    project = _pyproject()["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    conda_pip = [line for line in pip_section if not line.startswith("-e")]
    assert _requirements(conda_pip) == _requirements(declared)
    assert "-e ." in pip_section


def test_environment_yml_brings_a_supported_java_and_python() -> None:
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_packages = [item for item in environment["dependencies"] if isinstance(item, str)]
    assert "openjdk=17" in conda_packages
    python = next(item for item in conda_packages if item.startswith("python="))
    required = _pyproject()["project"]["requires-python"]
    assert re.fullmatch(r">=3\.(\d+)", required)
    assert int(python.split(".")[1]) >= int(required.split(".")[1])


def test_pyspark_pin_is_inside_the_range_delta_spark_supports() -> None:
    from importlib.metadata import requires, version

    pinned = _requirements(_pyproject()["project"]["dependencies"])
    delta_needs = next(Requirement(r) for r in requires("delta-spark") if r.startswith("pyspark"))
    pyspark_pin = str(pinned["pyspark"].specifier).removeprefix("==")
    assert delta_needs.specifier.contains(pyspark_pin), f"delta-spark needs {delta_needs}"
    assert version("pyspark") == pyspark_pin
    assert version("delta-spark") == str(pinned["delta-spark"].specifier).removeprefix("==")


def test_the_console_script_is_declared() -> None:
    assert _pyproject()["project"]["scripts"]["smart-factory"] == "smart_factory.cli:main"
