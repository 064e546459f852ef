"""Scale-out settings: master URLs, the executor timeout, a site's conf file, the storage root.

None of these needs a JVM: a bad setting must fail before Spark starts.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from support import run_cli

from smart_factory.errors import ClusterUnavailable, InvalidSparkSetting, UnsupportedStorageRoot
from smart_factory.lakehouse.helper_jar import file_system_jar
from smart_factory.lakehouse.masters import (
    MASTER_ENV,
    check_reachable,
    chosen_master,
    executor_timeout,
    parse_master,
)
from smart_factory.lakehouse.paths import StoragePaths
from smart_factory.lakehouse.session import _session_conf
from smart_factory.lakehouse.spark_conf import SPARK_CONF_ENV, merge_conf, read_conf_file

DELTA_JARS = [Path("/cache/io.delta_delta-spark_4.2_2.13-4.4.0.jar"), Path("/cache/io.delta_delta-storage-4.4.0.jar")]


@pytest.mark.parametrize(
    ("url", "kind", "endpoints"),
    [
        ("local", "local", ()),
        ("local[2]", "local", ()),
        ("local[*]", "local", ()),
        ("local[4,3]", "local", ()),
        ("spark://127.0.0.1:7077", "standalone", (("127.0.0.1", 7077),)),
        ("spark://master-a:7077,master-b:7078", "standalone", (("master-a", 7077), ("master-b", 7078))),
        ("k8s://https://kubernetes.example:6443", "kubernetes", ()),
        ("yarn", "yarn", ()),
    ],
)
def test_accepted_master_urls(url: str, kind: str, endpoints: tuple) -> None:
    master = parse_master(url)
    assert (master.url, master.kind, master.endpoints) == (url, kind, endpoints)


@pytest.mark.parametrize(
    "url", ["spark:/oops", "spark://host", "spark://host:0", "spark://host:99999", "local[two]", "mesos://h:5050", ""]
)
def test_a_bad_master_url_names_the_setting_and_the_accepted_forms(url: str, monkeypatch) -> None:
    monkeypatch.setenv(MASTER_ENV, url or " ")
    with pytest.raises(InvalidSparkSetting) as raised:
        chosen_master()
    message = str(raised.value)
    assert message.startswith(f'{MASTER_ENV}="{url or " "}" is not a Spark master URL')
    assert "local[*], spark://host:port" in message and "yarn" in message


def test_the_argument_wins_over_the_variable_and_is_named_when_wrong(monkeypatch) -> None:
    monkeypatch.setenv(MASTER_ENV, "spark://127.0.0.1:7077")
    assert chosen_master("local[2]") == (parse_master("local[2]"), "master")
    assert chosen_master() == (parse_master("spark://127.0.0.1:7077"), MASTER_ENV)
    with pytest.raises(InvalidSparkSetting, match=r'^master="spark:/oops"'):
        chosen_master("spark:/oops")
    monkeypatch.delenv(MASTER_ENV)
    assert chosen_master()[0].url == "local[*]"


def test_only_a_loopback_master_counts_as_this_machine() -> None:
    assert parse_master("local[*]").is_on_this_machine
    assert parse_master("spark://127.0.0.1:7077").is_on_this_machine
    assert parse_master("spark://localhost:7077").is_on_this_machine
    assert not parse_master("spark://10.0.0.5:7077").is_on_this_machine
    assert not parse_master("yarn").is_on_this_machine


@pytest.mark.parametrize("value", ["soon", "0", "-5", "inf", "nan"])
def test_a_bad_executor_timeout_is_named(value: str, monkeypatch) -> None:
    monkeypatch.setenv("SMART_FACTORY_EXECUTOR_TIMEOUT", value)
    with pytest.raises(InvalidSparkSetting, match=f'SMART_FACTORY_EXECUTOR_TIMEOUT="{value}" must be a positive'):
        executor_timeout()


def test_the_executor_timeout_defaults_and_reads_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("SMART_FACTORY_EXECUTOR_TIMEOUT", raising=False)
    assert executor_timeout() == 120
    monkeypatch.setenv("SMART_FACTORY_EXECUTOR_TIMEOUT", "7.5")
    assert executor_timeout() == 7.5


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe closes


def test_an_unreachable_master_fails_at_once() -> None:
    port = closed_port()
    started = time.monotonic()
    expected = rf"No Spark master answers at 127\.0\.0\.1:{port} \(.*\), the master set by {MASTER_ENV}"
    with pytest.raises(ClusterUnavailable, match=expected):
        check_reachable(parse_master(f"spark://127.0.0.1:{port}"), MASTER_ENV, timeout=30)
    assert time.monotonic() - started < 5


def test_a_high_availability_list_needs_one_live_master() -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        live_port = listening.getsockname()[1]
        check_reachable(parse_master(f"spark://127.0.0.1:{closed_port()},127.0.0.1:{live_port}"), "master", timeout=5)


def test_the_command_line_reports_a_bad_or_dead_master_in_one_line(tmp_path: Path) -> None:
    bad = run_cli("sql", "SELECT 1", "--storage-root", str(tmp_path), env={MASTER_ENV: "spark:/oops"})
    assert bad.returncode == 2, bad.stderr
    assert bad.stderr.strip().splitlines() == [
        f'smart-factory: error: {MASTER_ENV}="spark:/oops" is not a Spark master URL. Use one of: '
        "local, local[N], local[*], spark://host:port[,host2:port2], k8s://https://host:port or yarn "
        "(a standalone master prints its URL when it starts; `smart-factory cluster start` runs one here)."
    ]
    port = closed_port()
    dead = run_cli("doctor", "--master", f"spark://127.0.0.1:{port}", "--storage-root", str(tmp_path))
    assert dead.returncode == 2 and len(dead.stderr.strip().splitlines()) == 1, dead.stderr
    assert f"No Spark master answers at 127.0.0.1:{port}" in dead.stderr


def test_a_site_conf_file_overrides_defaults_and_adds_to_the_delta_jars(tmp_path: Path, monkeypatch) -> None:
    conf_file = tmp_path / "cluster.conf"
    conf_file.write_text(
        "# a site's cluster settings\n"
        "spark.executor.memory   4g\n"
        "spark.sql.shuffle.partitions=64\n"
        "spark.jars.packages org.apache.hadoop:hadoop-aws:3.5.0\n"
        "spark.jars /opt/site/monitoring.jar\n"
        "spark.executor.extraJavaOptions -XX:+UseG1GC\n"
    )
    monkeypatch.setenv(SPARK_CONF_ENV, str(conf_file))
    caller_conf = {"spark.jars.packages": "com.example:extra:1.0", "spark.executor.memory": "8g"}
    settings = _session_conf(StoragePaths(tmp_path), DELTA_JARS, caller_conf)
    assert settings["spark.executor.memory"] == "8g"  # the caller's conf wins over the file
    assert settings["spark.sql.shuffle.partitions"] == "64"  # the file wins over the laptop defaults
    assert settings["spark.jars"].split(",") == [*map(str, DELTA_JARS), "/opt/site/monitoring.jar"]
    assert settings["spark.jars.packages"] == "org.apache.hadoop:hadoop-aws:3.5.0,com.example:extra:1.0"
    assert settings["spark.executor.extraJavaOptions"].endswith("-Duser.timezone=UTC -XX:+UseG1GC")


def test_without_a_site_conf_file_the_laptop_defaults_hold(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(SPARK_CONF_ENV, raising=False)
    settings = _session_conf(StoragePaths(tmp_path), DELTA_JARS, {"spark.jars": "/opt/extra.jar"})
    assert settings["spark.sql.shuffle.partitions"] == "4"
    assert settings["spark.jars"].split(",") == [*map(str, DELTA_JARS), "/opt/extra.jar"]


def test_merging_replaces_plain_settings_and_joins_list_settings() -> None:
    base = {"spark.jars": "a.jar", "spark.executor.memory": "1g"}
    merged = merge_conf(base, {"spark.jars": "b.jar"}, {"spark.jars": "", "spark.executor.memory": "2g"})
    assert merged == {"spark.jars": "a.jar,b.jar", "spark.executor.memory": "2g"}  # an empty list adds nothing


def test_a_broken_conf_file_is_named_with_its_line(tmp_path: Path) -> None:
    conf_file = tmp_path / "cluster.conf"
    conf_file.write_text("spark.executor.memory 4g\nexecutor.cores 2\n")
    with pytest.raises(InvalidSparkSetting, match=rf"{conf_file}:2: 'executor.cores 2' is not a Spark setting"):
        read_conf_file(conf_file)
    with pytest.raises(InvalidSparkSetting, match=rf"{SPARK_CONF_ENV} names {tmp_path / 'missing.conf'}, which cannot"):
        read_conf_file(tmp_path / "missing.conf")


@pytest.mark.parametrize("root", ["s3a://factory-lake/smart", "abfss://lake@account.dfs.core.windows.net/smart", "gs://b/x"])
def test_an_object_store_storage_root_is_refused_with_what_to_do(root: str) -> None:
    with pytest.raises(UnsupportedStorageRoot) as raised:
        StoragePaths.from_env(root)
    message = str(raised.value)
    assert f"The storage root {root} is a URL, but it must be a folder" in message
    assert "docs/scale-out.md" in message and "hadoop-aws" in message


def test_a_file_url_storage_root_is_its_folder(tmp_path: Path) -> None:
    assert StoragePaths.from_env(f"file://{tmp_path}").root == tmp_path.resolve()
    assert StoragePaths.from_env(f"file:{tmp_path}").root == tmp_path.resolve()


HELPER_JAR = Path("/cache/helper-jars/smart-factory-helpers-0123456789abcdef.jar")


def test_a_local_driver_gets_the_nio_file_system_from_the_helper_jar(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(SPARK_CONF_ENV, raising=False)
    settings = _session_conf(StoragePaths(tmp_path), [*DELTA_JARS, HELPER_JAR], {}, local_mode=True)
    assert settings["spark.hadoop.fs.file.impl"] == "smartfactory.lakehouse.NioLocalFileSystem"
    assert settings["spark.hadoop.fs.AbstractFileSystem.file.impl"] == "smartfactory.lakehouse.NioLocalFs"
    # Spark opens files before it loads spark.jars: the classes must be on the driver's own path,
    # and only they (a class there cannot see Delta's, which come with spark.jars).
    assert settings["spark.driver.extraClassPath"] == str(file_system_jar(HELPER_JAR))
    assert file_system_jar(HELPER_JAR).parent == HELPER_JAR.parent


@pytest.mark.parametrize(
    ("jars", "local_mode"),
    [(DELTA_JARS, True), ([*DELTA_JARS, HELPER_JAR], False)],
    ids=["no helper jar", "cluster master"],
)
def test_hadoops_own_file_system_stays_without_the_jar_or_on_a_cluster(
    tmp_path: Path, monkeypatch, jars: list[Path], local_mode: bool
) -> None:
    monkeypatch.delenv(SPARK_CONF_ENV, raising=False)
    settings = _session_conf(StoragePaths(tmp_path), jars, {}, local_mode=local_mode)
    assert not any(key.startswith("spark.hadoop.fs.") for key in settings)
    assert "spark.driver.extraClassPath" not in settings


def test_a_site_class_path_is_added_to_the_helper_jar(tmp_path: Path, monkeypatch) -> None:
    conf_file = tmp_path / "site.conf"
    conf_file.write_text("spark.driver.extraClassPath /opt/site/agent.jar\n")
    monkeypatch.setenv(SPARK_CONF_ENV, str(conf_file))
    settings = _session_conf(StoragePaths(tmp_path), [*DELTA_JARS, HELPER_JAR], {}, local_mode=True)
    class_path = settings["spark.driver.extraClassPath"].split(":")
    assert class_path == [str(file_system_jar(HELPER_JAR)), "/opt/site/agent.jar"]
