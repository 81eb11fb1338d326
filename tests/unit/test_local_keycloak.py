"""The local Keycloak manager's refusals: one clear line, and never a stranger's process."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.local import keycloak as local
from bridge.local.keycloak import LocalKeycloak, MissingPiece


def test_bad_java_home_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path))
    with pytest.raises(MissingPiece, match=r"^JAVA_HOME=.* has no bin/java"):
        local.java_command()


def test_no_java_at_all(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(MissingPiece, match="java not found"):
        local.java_command()


def test_no_maven_when_download_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(local, "java_command", lambda: "/usr/bin/java")
    monkeypatch.setattr(local.shutil, "which", lambda _name: None)
    with pytest.raises(MissingPiece, match="mvn not found"):
        local.ensure_distribution()


def test_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        instance = LocalKeycloak(tmp_path, http_port=port, management_port=local.free_port())
        with pytest.raises(MissingPiece, match=f"port {port} on 127.0.0.1 is in use"):
            instance.start("admin", "pw")


def test_missing_admin_credentials(tmp_path: Path) -> None:
    instance = LocalKeycloak(tmp_path, http_port=local.free_port(),
                             management_port=local.free_port())
    with pytest.raises(MissingPiece, match="KC_BOOTSTRAP_ADMIN_USERNAME"):
        instance.start("", "")


def test_stop_never_kills_a_process_it_did_not_start(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "keycloak.pid").write_text(json.dumps({"pid": stranger.pid}))
        instance = LocalKeycloak(tmp_path)
        assert instance.pid() is None
        assert instance.stop() is False
        assert stranger.poll() is None
        assert instance.status().running is False
    finally:
        stranger.kill()
        stranger.wait()


# -- production-mode cluster nodes (the cluster suite's harness) ----------------------------

def _node(tmp_path: Path, **kw: object) -> local.ClusterNode:
    return local.ClusterNode(tmp_path, http_port=local.free_port(),
                             management_port=local.free_port(),
                             database=local.DatabaseLogin("jdbc:postgresql://127.0.0.1:5/kc",
                                                          "kc", "db-secret"),
                             jgroups_port=local.free_jgroups_port(), **kw)  # type: ignore[arg-type]


def test_cluster_node_options_keep_the_database_password_off_the_command_line(
        tmp_path: Path) -> None:
    node = _node(tmp_path)
    options = node._start_options()
    assert "--cache-stack=jdbc-ping" in options
    assert "--db-url=jdbc:postgresql://127.0.0.1:5/kc" in options
    assert not any("db-secret" in option for option in options)
    env = node._start_env()
    assert env["KC_DB_PASSWORD"] == "db-secret"
    opts = env["JAVA_OPTS_APPEND"].split()
    assert "-Djgroups.bind.address=127.0.0.1" in opts
    assert f"-Djgroups.bind.port={node.jgroups_port}" in opts
    assert node._hostname_options() == ("--hostname-strict=false",)
    fixed = _node(tmp_path, hostname="https://id.example.com")
    assert "--hostname=https://id.example.com" in fixed._hostname_options()


def test_cluster_node_build_is_apart_from_the_dev_build() -> None:
    assert "--db=postgres" in local.PRODUCTION_BUILD_OPTIONS
    assert "--cache=ispn" in local.PRODUCTION_BUILD_OPTIONS
    assert local._build_stamp(local.PRODUCTION_BUILD_OPTIONS) != local._build_stamp()


def test_jgroups_port_pairs_fit_below_65536() -> None:
    port = local.free_jgroups_port()
    assert port + local.JGROUPS_FD_OFFSET < 65536
    assert local.free_jgroups_port(taken=(port,)) != port


def test_cluster_view_is_read_from_the_last_ispn000094_line(tmp_path: Path) -> None:
    node = _node(tmp_path)
    assert node.cluster_view() == []
    node.log_file.write_text(
        "INFO [org.infinispan.CLUSTER] ISPN000094: Received new cluster view for channel ISPN:"
        " [vm-1|0] (1) [vm-1]\n"
        "INFO [org.infinispan.CLUSTER] ISPN000094: Received new cluster view for channel ISPN:"
        " [vm-1|1] (2) [vm-1, vm-2]\n")
    assert node.cluster_view() == ["vm-1", "vm-2"]
    with pytest.raises(MissingPiece, match="not 3 members"):
        node.wait_cluster_size(3, wait=0)


def test_cluster_node_never_kills_a_process_it_did_not_start(tmp_path: Path) -> None:
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "keycloak.pid").write_text(json.dumps({"pid": stranger.pid}))
        node = _node(tmp_path)
        assert node.pid() is None
        assert node.kill() is False
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_cluster_node_recognises_and_kills_its_own_process(tmp_path: Path) -> None:
    import os

    node = _node(tmp_path)
    env = {**os.environ, "JAVA_OPTS_APPEND": f"-Xmx1m {node._db_marker}"}
    own = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                           start_new_session=True)
    try:
        (tmp_path / "keycloak.pid").write_text(json.dumps({"pid": own.pid}))
        assert node.pid() == own.pid
        assert node.kill() is True  # and reaped: the process is gone
        with pytest.raises(ProcessLookupError):
            os.kill(own.pid, 0)
        assert node.pid() is None
    finally:
        if own.poll() is None:
            own.kill()


def test_a_node_whose_pid_file_was_deleted_is_still_stopped(tmp_path: Path) -> None:
    import os

    node = _node(tmp_path)
    env = {**os.environ, "JAVA_OPTS_APPEND": node._db_marker}
    own = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env,
                           start_new_session=True)
    try:
        local._STARTED[node.state_dir] = own.pid  # as start() records it
        assert not (tmp_path / "keycloak.pid").exists()
        assert node.pid() == own.pid
        assert node.kill() is True
        assert node.pid() is None
    finally:
        local._STARTED.pop(node.state_dir, None)
        if own.poll() is None:
            own.kill()


def test_health_and_metrics_are_built_into_every_local_distribution() -> None:
    for options in (local.BUILD_OPTIONS, local.PRODUCTION_BUILD_OPTIONS):
        assert "--health-enabled=true" in options and "--metrics-enabled=true" in options


def test_a_change_of_build_options_never_rebuilds_a_distribution_in_use(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each set of build options has its own directory: a server running from the old build
    (another session's) keeps its files when the options change."""
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    root = tmp_path / "keycloak"
    for options in (local.BUILD_OPTIONS, ("--db=dev-file",)):
        home = root / f"keycloak-{local.KEYCLOAK_VERSION}-{local._build_stamp(options)[:12]}"
        home.mkdir(parents=True)
        (home / ".bridge-build").write_text(local._build_stamp(options))
    monkeypatch.setattr(local, "java_command", lambda: "/usr/bin/java")
    assert local.ensure_distribution() == \
        root / f"keycloak-{local.KEYCLOAK_VERSION}-{local._build_stamp()[:12]}"
    assert local.ensure_distribution(build_options=("--db=dev-file",)) == \
        root / f"keycloak-{local.KEYCLOAK_VERSION}-{local._build_stamp(('--db=dev-file',))[:12]}"


# -- progress on long waits (download, build, start) ----------------------------------------

def test_a_long_command_reports_progress_and_the_lines_asked_for() -> None:
    said: list[str] = []
    script = ("echo 'Downloading from central: x/keycloak-quarkus-dist-1.zip'; echo noise; "
              "sleep 1; echo 'Downloaded from central: x/keycloak-quarkus-dist-1.zip'")
    local.run_with_progress(["sh", "-c", script], "download", said.append, every=0.2,
                            shown=lambda line: "keycloak-quarkus-dist" in line,
                            detail=lambda: "12 MB so far")
    assert said[0] == "Downloading from central: x/keycloak-quarkus-dist-1.zip"
    assert said[-1] == "Downloaded from central: x/keycloak-quarkus-dist-1.zip"
    assert "noise" not in said
    beats = said[1:-1]
    assert beats, said  # a one-second silence is not silent
    assert all(re.fullmatch(r"download: still running \(\d+ s, 12 MB so far\)", b) for b in beats)


def test_a_failing_command_is_one_line_with_its_last_output() -> None:
    with pytest.raises(MissingPiece, match=r"^kc.sh build failed \(exit 3\): one \| two$"):
        local.run_with_progress(["sh", "-c", "echo one; echo two; exit 3"], "kc.sh build",
                                lambda _msg: None)


def test_the_download_is_not_quiet() -> None:
    command = local.download_command("mvn", "26.4.7", Path("/tmp/dl"))
    assert "-q" not in command and "--quiet" not in command
    assert "-Dartifact=org.keycloak:keycloak-quarkus-dist:26.4.7:zip" in command


def test_waiting_for_keycloak_reports_progress(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([False, False, False, True])
    monkeypatch.setattr(LocalKeycloak, "is_ready", lambda self, timeout=2.0: next(answers))
    said: list[str] = []
    LocalKeycloak(tmp_path, http_port=18123, management_port=19123).wait_ready(
        60, log=said.append, every=0.2)  # three 0.5 s pauses before it is ready
    assert said[0].startswith("waiting for Keycloak at http://127.0.0.1:19123/health/ready (")
    assert said[-1].startswith("Keycloak ready after ")


def test_session_progress_reaches_the_terminal_through_capture(tmp_path: Path) -> None:
    # What the session's Keycloak fixture uses: shown while pytest captures, unlike print.
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "test_progress_probe.py").write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        "from tests.support.progress import terminal_progress\n"
        "def test_probe(pytestconfig):\n"
        "    print('captured print')\n"
        "    terminal_progress(pytestconfig, prefix='[kc] ')('starting Keycloak')\n",
        encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), str(tmp_path / "test_progress_probe.py")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[kc] starting Keycloak" in result.stderr
    assert "captured print" not in result.stdout + result.stderr  # capture was on


# -- the Keycloak version under test (BRIDGE_KEYCLOAK_VERSION) -----------------------------

def test_version_override_is_fetched_and_cached_apart(monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    monkeypatch.delenv(local.VERSION_OVERRIDE, raising=False)
    assert local.keycloak_version() == local.KEYCLOAK_VERSION
    monkeypatch.setenv(local.VERSION_OVERRIDE, "26.4.7")
    assert local.keycloak_version() == "26.4.7"
    assert local._build_stamp(version="26.4.7") != local._build_stamp()
    # Fetched like the pinned one: the same Maven download, into its own cache entry.
    monkeypatch.setenv("BRIDGE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(local, "java_command", lambda: "/usr/bin/java")
    monkeypatch.setattr(local.shutil, "which", lambda _name: "/usr/bin/mvn")
    ran: list[list[str]] = []

    def fake_download(cmd: list[str], *_args: object, **_kw: object) -> None:
        ran.append(cmd)

    monkeypatch.setattr(local, "run_with_progress", fake_download)
    with pytest.raises(MissingPiece, match=r"produced no keycloak-quarkus-dist-26\.4\.7\.zip"):
        local.ensure_distribution()
    assert ran[0][-2:] == ["-Dartifact=org.keycloak:keycloak-quarkus-dist:26.4.7:zip",
                           f"-DoutputDirectory={tmp_path / 'keycloak' / 'dl'}"]


def test_a_malformed_version_override_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(local.VERSION_OVERRIDE, "latest")
    with pytest.raises(MissingPiece, match=r"^BRIDGE_KEYCLOAK_VERSION='latest' is not a "):
        local.keycloak_version()


def test_supported_range_is_ordered_and_ends_at_the_pin() -> None:
    assert (local.version_key(local.OLDEST_SUPPORTED_VERSION)
            < local.version_key(local.KEYCLOAK_VERSION))
