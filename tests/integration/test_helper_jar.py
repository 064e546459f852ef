"""The project's JVM helper jar: compiled once from the package's Java sources, cached, optional."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from smart_factory.lakehouse import helper_jar
from smart_factory.lakehouse.helper_jar import (
    HELPER_JAR_ENV,
    build_helper_jar,
    file_system_jar,
    find_javac,
    helper_jars,
)
from smart_factory.lakehouse.java import check_java


@pytest.fixture
def javac() -> Path:
    found = find_javac(check_java().executable)
    if found is None:
        pytest.skip("no JDK compiler on this machine")
    return found


def test_the_jar_is_compiled_once_and_then_reused(javac: Path, tmp_path: Path) -> None:
    jar = build_helper_jar(javac, cache=tmp_path)
    assert jar is not None and jar.parent == tmp_path
    with zipfile.ZipFile(jar) as archive:
        assert "smartfactory/cloudfiles/RecordParser.class" in archive.namelist()
    compiled_at = jar.stat().st_mtime_ns
    assert build_helper_jar(javac, cache=tmp_path) == jar
    assert jar.stat().st_mtime_ns == compiled_at
    # The file system classes also come alone, for the driver's own class path; no temporary is left.
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([jar.name, file_system_jar(jar).name])
    with zipfile.ZipFile(file_system_jar(jar)) as archive:
        names = archive.namelist()
    assert "smartfactory/lakehouse/NioLocalFileSystem.class" in names
    assert all(name.startswith("smartfactory/lakehouse/Nio") for name in names)


def test_a_changed_source_gets_a_jar_of_its_own(javac: Path, tmp_path: Path) -> None:
    source = tmp_path / "src" / "Probe.java"
    source.parent.mkdir()
    source.write_text("package probe; public final class Probe { public static int answer() { return 1; } }")
    first = build_helper_jar(javac, sources=[source], cache=tmp_path / "cache")
    source.write_text("package probe; public final class Probe { public static int answer() { return 2; } }")
    second = build_helper_jar(javac, sources=[source], cache=tmp_path / "cache")
    assert first is not None and second is not None and first != second


def test_a_source_that_does_not_compile_gives_no_jar_and_says_why(
    javac: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "Broken.java"
    source.write_text("public final class Broken { int missing = undefinedName; }")
    assert build_helper_jar(javac, sources=[source], cache=tmp_path / "cache") is None
    notice = capsys.readouterr().err
    assert "Broken.java" in notice and "Spark expressions do their work" in notice
    assert not any((tmp_path / "cache").glob("*.jar"))


def test_without_a_jdk_compiler_sessions_go_on_without_the_jar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime_only = tmp_path / "jre" / "bin" / "java"  # a Java runtime: no javac beside it
    runtime_only.parent.mkdir(parents=True)
    runtime_only.write_text(f'#!/bin/sh\nexec "{check_java().executable}" "$@"\n')
    runtime_only.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    helper_jar._notice_once.cache_clear()
    assert find_javac(runtime_only) is None
    assert helper_jars(runtime_only) == []
    assert "No JDK compiler" in capsys.readouterr().err


def test_switched_off_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HELPER_JAR_ENV, "off")
    assert helper_jars(check_java().executable) == []
