"""Find the Java runtime Spark will use and refuse, in one sentence, one that cannot work.

Spark 4 needs Java 17 or 21; newer JDKs break Hadoop's security manager calls, older ones
cannot load Spark's classes. Checking here turns a JVM stack trace into advice.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from smart_factory.errors import JavaNotFound, UnsupportedJava

SUPPORTED_JAVA_VERSIONS = (17, 21)
_INSTALL_HINT = (
    "Install OpenJDK 17 (e.g. `apt install openjdk-17-jre-headless`, `brew install openjdk@17`, "
    "or `conda env create -f environment.yml`) and set JAVA_HOME to it."
)


@dataclass(frozen=True)
class JavaRuntime:
    executable: Path
    major_version: int
    version_text: str


def parse_java_major_version(version_output: str) -> int:
    """The major version from ``java -version`` output.

    >>> parse_java_major_version('openjdk version "17.0.15" 2025-04-15')
    17
    >>> parse_java_major_version('java version "1.8.0_292"')
    8
    """
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if not match:
        raise ValueError(f"no version in {version_output!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # the old 1.x numbering, 1.8 is Java 8
        major = int(match.group(2))
    return major


def _java_executable() -> Path:
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if not os.access(candidate, os.X_OK):
            raise JavaNotFound(
                f"JAVA_HOME is set to {java_home}, but {candidate} is not an executable Java. "
                f"Point JAVA_HOME at a Java 17 or 21 installation, or unset it. {_INSTALL_HINT}"
            )
        return candidate
    on_path = shutil.which("java")
    if on_path is None:
        raise JavaNotFound(f"Java was not found (no JAVA_HOME, no `java` on PATH). {_INSTALL_HINT}")
    return Path(on_path)


@functools.lru_cache(maxsize=8)
def _probe(executable: Path) -> JavaRuntime:
    try:
        result = subprocess.run(
            [str(executable), "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except OSError as error:
        raise JavaNotFound(f"{executable} could not be started ({error}). {_INSTALL_HINT}") from error
    output = (result.stderr or "") + (result.stdout or "")
    try:
        major = parse_java_major_version(output)
    except ValueError:
        raise JavaNotFound(
            f"{executable} did not report a Java version (it printed {output.strip()[:200]!r}). "
            f"{_INSTALL_HINT}"
        ) from None
    return JavaRuntime(executable, major, output.strip().splitlines()[0])


def check_java() -> JavaRuntime:
    """The Java runtime Spark will start, or an error saying what to install.

    Looks where Spark's launcher looks: ``$JAVA_HOME/bin/java``, else ``java`` on ``PATH``.
    """
    runtime = _probe(_java_executable())
    if runtime.major_version not in SUPPORTED_JAVA_VERSIONS:
        raise UnsupportedJava(
            f"Java {runtime.major_version} found at {runtime.executable}, but Spark 4 needs "
            f"Java 17 or 21 (newer JDKs break Hadoop, older ones cannot run Spark 4). "
            f"{_INSTALL_HINT}"
        )
    return runtime
