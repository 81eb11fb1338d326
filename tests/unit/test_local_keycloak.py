"""The local Keycloak manager's refusals: one clear line, and never a stranger's process."""

from __future__ import annotations

import json
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
