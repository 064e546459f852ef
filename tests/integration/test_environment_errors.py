"""Each set-up problem gives one clear sentence, never a Java stack trace."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from support import run_cli

from smart_factory.errors import DeltaJarsUnavailable, JavaNotFound, UnsupportedJava
from smart_factory.lakehouse import delta_jars as delta_jars_module
from smart_factory.lakehouse.java import check_java, parse_java_major_version


def fake_java(folder: Path, version_line: str) -> Path:
    """A JAVA_HOME whose `java -version` prints ``version_line`` (as a JDK does, on stderr)."""
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho '{version_line}' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return folder


def assert_one_clear_line(result, *expected: str) -> None:
    assert result.returncode == 2, result.stdout + result.stderr
    message = result.stderr.strip()
    assert message.startswith("smart-factory: error:"), message
    assert len(message.splitlines()) == 1, message
    assert "Traceback" not in message and "at org." not in message
    for text in expected:
        assert text in message


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_292"', 8),
        ('openjdk version "25.0.1" 2025-10-21', 25),
    ],
)
def test_java_versions_are_read_from_the_version_banner(output: str, major: int) -> None:
    assert parse_java_major_version(output) == major


def test_a_newer_java_is_refused_with_advice(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, 'openjdk version "25.0.1" 2025-10-21')))
    with pytest.raises(UnsupportedJava, match=r"Java 25 found at .*needs Java 17 or 21"):
        check_java()


def test_an_older_java_is_refused_from_the_command_line(tmp_path: Path) -> None:
    java_home = fake_java(tmp_path, 'java version "1.8.0_292"')
    result = run_cli("doctor", env={"JAVA_HOME": str(java_home)})
    assert_one_clear_line(result, "Java 8 found", "Java 17 or 21", "JAVA_HOME")


def test_a_missing_java_is_named(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-such-jdk"))
    with pytest.raises(JavaNotFound, match="JAVA_HOME is set to .*no-such-jdk"):
        check_java()
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(JavaNotFound, match="no `java` on PATH"):
        check_java()


def test_an_unwritable_storage_root_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_cli("doctor", "--storage-root", str(blocker / "lake"))
    assert_one_clear_line(
        result, f"storage root {blocker / 'lake'} is not writable", "SMART_FACTORY_STORAGE_ROOT"
    )


def test_an_air_gap_folder_without_delta_jars_is_named(tmp_path: Path) -> None:
    (tmp_path / "unrelated.jar").write_bytes(b"PK")
    result = run_cli("doctor", env={"SMART_FACTORY_JARS_DIR": str(tmp_path)})
    assert_one_clear_line(result, f"missing from {tmp_path}", "delta-spark", "mvn dependency:copy")


def test_a_failed_download_of_the_delta_jars_is_explained(tmp_path: Path, monkeypatch) -> None:
    # An Ivy configuration whose only repository is an empty folder: resolution fails as it
    # would offline, through the same spark-submit path as a real first start.
    empty_repository = tmp_path / "empty-repository"
    empty_repository.mkdir()
    settings = tmp_path / "ivysettings.xml"
    settings.write_text(
        f"""<ivysettings><settings defaultResolver="local-only"/><resolvers>
        <filesystem name="local-only" m2compatible="true">
        <artifact pattern="{empty_repository}/[organisation]/[module]/[artifact]-[revision].[ext]"/>
        </filesystem></resolvers></ivysettings>"""
    )
    monkeypatch.setenv("SMART_FACTORY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SMART_FACTORY_IVY_SETTINGS", str(settings))
    monkeypatch.delenv("SMART_FACTORY_JARS_DIR", raising=False)
    with pytest.raises(DeltaJarsUnavailable) as raised:
        delta_jars_module.delta_jars()
    message = str(raised.value)
    assert "Could not download the Delta Lake jars" in message
    assert "unresolved dependency" in message
    assert "SMART_FACTORY_JARS_DIR" in message
    assert list((tmp_path / "cache").glob("*/jars.txt")) == []


def test_a_cleaned_cache_is_resolved_again_not_trusted(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SMART_FACTORY_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SMART_FACTORY_JARS_DIR", raising=False)
    entry = tmp_path / delta_jars_module._cache_key()
    entry.mkdir()
    (entry / "jars.txt").write_text(f"{tmp_path / 'gone.jar'}\n")
    assert delta_jars_module._read_manifest(entry) is None


def test_jars_fetched_with_maven_serve_an_air_gapped_session(tmp_path: Path) -> None:
    folder = tmp_path / "delta-jars"
    fetched = run_cli("fetch-jars", str(folder))
    assert fetched.returncode == 0, fetched.stderr
    assert f"export SMART_FACTORY_JARS_DIR={folder}" in fetched.stdout
    assert any(jar.name.startswith("delta-spark_") for jar in folder.glob("*.jar"))

    started = run_cli(
        "sql",
        "CREATE TABLE smart_factory.air_gapped USING DELTA AS SELECT * FROM range(3)",
        "--master",
        "local[1]",
        "--storage-root",
        str(tmp_path / "lake"),
        env={"SMART_FACTORY_JARS_DIR": str(folder), "SMART_FACTORY_CACHE_DIR": str(tmp_path / "no-cache")},
    )
    assert started.returncode == 0, started.stderr
    assert (tmp_path / "lake/lakehouse/smart_factory/air_gapped/_delta_log").is_dir()
    # Nothing was resolved into the cache; only the project's own JVM helpers, compiled
    # locally, may be there.
    cached = {entry.name for entry in (tmp_path / "no-cache").iterdir()} if (tmp_path / "no-cache").exists() else set()
    assert cached <= {"helper-jars"}
