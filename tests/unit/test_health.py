"""Liveness and readiness of the bridge app; the factory fails closed without its secret."""

from __future__ import annotations

import pytest
import requests
import responses

from bridge.app import create_app
from bridge.config import MissingSetting, Settings

SETTINGS = Settings("http://kc.test", "access", "bridge", "secret")
WELL_KNOWN = "http://kc.test/realms/access/.well-known/openid-configuration"


def test_factory_refuses_to_start_without_client_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BRIDGE_CLIENT_SECRET", raising=False)
    with pytest.raises(MissingSetting, match="BRIDGE_CLIENT_SECRET"):
        create_app()


def test_healthz() -> None:
    response = create_app(SETTINGS).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


@responses.activate
def test_ready_when_keycloak_answers() -> None:
    responses.get(WELL_KNOWN, json={"issuer": "http://kc.test/realms/access"})
    response = create_app(SETTINGS).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ready"


@responses.activate
@pytest.mark.parametrize("failure", [requests.ConnectionError("down"), 503])
def test_not_ready_when_keycloak_does_not(failure: object) -> None:
    if isinstance(failure, int):
        responses.get(WELL_KNOWN, status=failure)
    else:
        responses.get(WELL_KNOWN, body=failure)
    response = create_app(SETTINGS).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
