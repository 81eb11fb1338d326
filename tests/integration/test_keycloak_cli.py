"""``bridge keycloak start|status|stop`` on the session's own local Keycloak."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import KeycloakUnderTest


def _cli(keycloak: KeycloakUnderTest, *args: str) -> subprocess.CompletedProcess[str]:
    assert keycloak.local is not None
    env = {**os.environ,
           "BRIDGE_KEYCLOAK_STATE_DIR": str(keycloak.local.state_dir),
           "BRIDGE_KEYCLOAK_PORT": str(keycloak.local.http_port),
           "BRIDGE_KEYCLOAK_MANAGEMENT_PORT": str(keycloak.local.management_port),
           "KC_BOOTSTRAP_ADMIN_USERNAME": "admin", "KC_BOOTSTRAP_ADMIN_PASSWORD": "unused"}
    return subprocess.run([sys.executable, "-m", "bridge", "keycloak", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def local_keycloak(keycloak: KeycloakUnderTest) -> KeycloakUnderTest:
    if keycloak.local is None:
        pytest.skip("KEYCLOAK_URL points at a Keycloak this session did not start")
    return keycloak


def test_start_is_idempotent_and_status_reports(local_keycloak: KeycloakUnderTest) -> None:
    result = _cli(local_keycloak, "start")
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stdout
    # Durability: the embedded database is said to be for development only.
    assert "dev-file (H2) database, for development only" in result.stderr
    assert "PostgreSQL (docs/deploying.md)" in result.stderr
    pid = local_keycloak.local.pid()
    assert f"(pid {pid})" in result.stdout
    status = _cli(local_keycloak, "status")
    assert status.returncode == 0
    assert f"version: {local_keycloak.version}" in status.stdout  # the release running
    assert f"url:     {local_keycloak.url}" in status.stdout
    assert f"pid:     {pid}" in status.stdout
    assert "ready:   yes" in status.stdout


def test_status_and_stop_of_an_instance_never_started(tmp_path) -> None:
    env = {**os.environ, "BRIDGE_KEYCLOAK_STATE_DIR": str(tmp_path)}
    status = subprocess.run([sys.executable, "-m", "bridge", "keycloak", "status"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert status.returncode == 3
    assert "ready:   no" in status.stdout
    stop = subprocess.run([sys.executable, "-m", "bridge", "keycloak", "stop"], env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert stop.returncode == 0 and "not running" in stop.stdout
