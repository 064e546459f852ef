"""The NIO local file system: Hadoop's semantics for file: paths, without a process per operation.

The session (local mode, helper jar built) reads and writes every file: path through
``smartfactory.lakehouse.NioLocalFileSystem`` and, for Spark's checkpoints and Delta's
commits, ``NioLocalFs``. Each test compares it with what Hadoop's own local file system
does on the same files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest

from smart_factory.lakehouse.helper_jar import NIO_FILE_SYSTEMS

HADOOP_UMASK = 0o022  # fs.permissions.umask-mode's default


@pytest.fixture
def jvm(spark) -> Any:
    configured = spark.sparkContext._jsc.hadoopConfiguration().get("fs.file.impl")
    if configured != NIO_FILE_SYSTEMS["spark.hadoop.fs.file.impl"]:
        pytest.skip("no helper jar in this session (no JDK compiler): Hadoop's own file system is used")
    return spark._jvm


def hadoop_path(jvm: Any, path: Path) -> Any:
    return jvm.org.apache.hadoop.fs.Path(path.as_uri())


def nio_file_system(spark, jvm: Any, path: Path) -> Any:
    return hadoop_path(jvm, path).getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def permission(jvm: Any, mode: int) -> Any:
    return jvm.org.apache.hadoop.fs.permission.FsPermission(jvm.java.lang.Short.valueOf(mode))


def test_the_session_uses_it_through_both_hadoop_apis(spark, jvm: Any, tmp_path: Path) -> None:
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    assert nio_file_system(spark, jvm, tmp_path).getClass().getName() == "smartfactory.lakehouse.NioLocalFileSystem"
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(hadoop_path(jvm, tmp_path).toUri(), conf)
    assert context.getDefaultFileSystem().getClass().getName() == "smartfactory.lakehouse.NioLocalFs"


@pytest.mark.parametrize("mode", [0o644, 0o600, 0o750, 0o1777], ids=oct)
def test_permissions_are_set_as_chmod_sets_them(spark, jvm: Any, tmp_path: Path, mode: int) -> None:
    target = tmp_path / "file.txt"
    target.write_text("reading\n")
    nio_file_system(spark, jvm, tmp_path).setPermission(hadoop_path(jvm, target), permission(jvm, mode))
    assert stat.S_IMODE(os.stat(target).st_mode) == mode  # the sticky bit goes through Hadoop's chmod


def test_new_files_and_folders_get_hadoops_default_permissions(spark, jvm: Any, tmp_path: Path) -> None:
    fs = nio_file_system(spark, jvm, tmp_path)
    folder = tmp_path / "a" / "b"
    assert fs.mkdirs(hadoop_path(jvm, folder), permission(jvm, 0o750))
    stream = fs.create(hadoop_path(jvm, folder / "part-0.parquet"), True)
    stream.write(b"PAR1")
    stream.close()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o750 & ~HADOOP_UMASK
    written = folder / "part-0.parquet"
    assert written.read_bytes() == b"PAR1"
    assert stat.S_IMODE(os.stat(written).st_mode) == 0o666 & ~HADOOP_UMASK
    assert (folder / ".part-0.parquet.crc").is_file()  # still the checksummed file system


def test_a_rename_never_overwrites_a_committed_file(spark, jvm: Any, tmp_path: Path) -> None:
    """Delta commits (and Spark's checkpoint files) rely on this rename to be atomic and exclusive."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    context = jvm.org.apache.hadoop.fs.FileContext.getFileContext(hadoop_path(jvm, tmp_path).toUri(), conf)
    (tmp_path / "00000.json.tmp").write_text("second writer\n")
    (tmp_path / "00000.json").write_text("first writer\n")
    options = spark.sparkContext._gateway.new_array(jvm.org.apache.hadoop.fs.Options.Rename, 1)
    options[0] = jvm.org.apache.hadoop.fs.Options.Rename.NONE
    with pytest.raises(Exception, match="FileAlreadyExistsException"):
        context.rename(hadoop_path(jvm, tmp_path / "00000.json.tmp"), hadoop_path(jvm, tmp_path / "00000.json"),
                       options)  # fmt: skip
    assert (tmp_path / "00000.json").read_text() == "first writer\n"
    context.rename(hadoop_path(jvm, tmp_path / "00000.json.tmp"), hadoop_path(jvm, tmp_path / "00001.json"), options)
    assert (tmp_path / "00001.json").read_text() == "second writer\n"
    assert not (tmp_path / "00000.json.tmp").exists()


def test_a_symbolic_link_is_described_as_hadoop_describes_it(spark, jvm: Any, tmp_path: Path) -> None:
    (tmp_path / "target.txt").write_text("x\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "target.txt")
    nio = nio_file_system(spark, jvm, tmp_path).getRaw()
    hadoops = jvm.org.apache.hadoop.fs.RawLocalFileSystem()
    hadoops.initialize(jvm.java.net.URI("file:///"), spark.sparkContext._jsc.hadoopConfiguration())
    for name in ("link.txt", "target.txt"):
        # A path without a scheme, the one form in which Hadoop's own code finds the link.
        path = jvm.org.apache.hadoop.fs.Path(str(tmp_path / name))
        ours, theirs = (described(fs.getFileLinkStatus(path)) for fs in (nio, hadoops))
        assert ours == theirs
    assert nio.getFileLinkStatus(jvm.org.apache.hadoop.fs.Path(str(tmp_path / "link.txt"))).isSymlink()


def described(status: Any) -> tuple[bool, bool, int]:
    return status.isSymlink(), status.isFile(), status.getLen()


def test_a_missing_file_is_hadoops_file_not_found(spark, jvm: Any, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="FileNotFoundException"):
        nio_file_system(spark, jvm, tmp_path).getRaw().getFileLinkStatus(hadoop_path(jvm, tmp_path / "missing"))


def test_delta_writes_and_reads_through_it(spark, tmp_path: Path, jvm: Any) -> None:
    table = str(tmp_path / "table")
    for batch in range(3):
        spark.range(batch * 10, batch * 10 + 10).write.format("delta").mode("append").save(table)
    assert spark.read.format("delta").load(table).count() == 30
    commits = sorted(path.name for path in (tmp_path / "table" / "_delta_log").glob("*.json"))
    assert commits == [f"{version:020d}.json" for version in range(3)]
