"""Keycloak's own health and Prometheus metrics are on in the local Keycloak (``bridge
keycloak start``, ``./dev up`` and the test session's Keycloak are the same code,
bridge.local.keycloak), on its management port only."""

from __future__ import annotations

import pytest
import requests

from tests.conftest import KeycloakUnderTest


@pytest.fixture
def local(keycloak: KeycloakUnderTest) -> KeycloakUnderTest:
    if keycloak.local is None:
        pytest.skip("KEYCLOAK_URL names a Keycloak this session did not start")
    return keycloak


def test_keycloak_serves_health_and_metrics_on_its_management_port(
        local: KeycloakUnderTest) -> None:
    assert local.local is not None
    ready = requests.get(local.local.ready_url, timeout=10)
    assert ready.status_code == 200
    assert ready.json()["status"] == "UP"
    metrics = requests.get(local.local.metrics_url, timeout=10)
    assert metrics.status_code == 200
    assert metrics.headers["Content-Type"].startswith(("text/plain", "application/openmetrics"))
    # JVM and HTTP server families (Micrometer's Prometheus registry).
    assert "\n# TYPE jvm_memory_used_bytes gauge" in metrics.text
    assert "http_server_requests_seconds" in metrics.text
    # Not on the public port.
    assert requests.get(f"{local.url}/metrics", timeout=10).status_code == 404
