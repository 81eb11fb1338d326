"""Liveness and readiness of the bridge app; the factory fails closed without its secret.

Ready: Keycloak answers for the realm, and the bridge's own service account logs in."""

from __future__ import annotations

import pytest
import requests
import responses

from bridge.app import create_app
from bridge.config import MissingSetting, Settings

SETTINGS = Settings("http://kc.test", "access", "bridge", "secret")
WELL_KNOWN = "http://kc.test/realms/access/.well-known/openid-configuration"
TOKEN = "http://kc.test/realms/access/protocol/openid-connect/token"
SERVICE_ACCOUNT_TOKEN = {"access_token": "t", "expires_in": 300, "token_type": "Bearer"}


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
    responses.post(TOKEN, json=SERVICE_ACCOUNT_TOKEN)
    response = create_app(SETTINGS).test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "keycloak": "ok", "realm": "ok",
                                   "service_account": "ok"}


@responses.activate
def test_not_ready_when_the_service_account_login_is_refused() -> None:
    """A wrong BRIDGE_CLIENT_SECRET fails every SCIM and API call: not ready, and why."""
    responses.get(WELL_KNOWN, json={"issuer": "http://kc.test/realms/access"})
    responses.post(TOKEN, status=401, json={
        "error": "unauthorized_client",
        "error_description": "Invalid client or Invalid client credentials"})
    response = create_app(SETTINGS).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    body = response.get_json()
    assert body["service_account"] == "refused" and body["realm"] == "ok"
    assert body["reason"] == (
        "Keycloak refused the service-account login of client 'bridge' in realm 'access' "
        "(401 unauthorized_client): check BRIDGE_CLIENT_ID and BRIDGE_CLIENT_SECRET")
    assert SETTINGS.client_secret not in response.get_data(as_text=True)


@responses.activate
def test_not_ready_when_the_realm_does_not_exist() -> None:
    responses.get(WELL_KNOWN, status=404, json={"error": "Realm does not exist"})
    response = create_app(SETTINGS).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == \
        "realm 'access' not found at http://kc.test (BRIDGE_REALM)"
    assert response.get_json()["realm"] == "not found"
    assert not any(call.request.url == TOKEN for call in responses.calls)


@responses.activate
def test_readiness_is_asked_at_most_once_per_interval() -> None:
    """Probes, however frequent, cost Keycloak one discovery read and one login per
    READINESS_TTL seconds per process."""
    responses.get(WELL_KNOWN, json={"issuer": "http://kc.test/realms/access"})
    responses.post(TOKEN, json=SERVICE_ACCOUNT_TOKEN)
    client = create_app(SETTINGS).test_client()
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
    assert [c.request.url for c in responses.calls] == [WELL_KNOWN, TOKEN]


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
