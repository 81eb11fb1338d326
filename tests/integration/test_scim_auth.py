"""Who may call /scim/v2, on the real app with real Keycloak tokens."""

from __future__ import annotations

import hashlib

import pytest
import requests
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Settings
from tests.conftest import RealmUnderTest

STATIC = "static-dev-token-for-tests-0123456789"


@pytest.fixture
def client(fresh_realm: RealmUnderTest) -> FlaskClient:
    settings = Settings(
        keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name, client_id="bridge",
        client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"],
        scim_static_tokens=f"entra={hashlib.sha256(STATIC.encode()).hexdigest()}")
    return create_app(settings).test_client()


def _token(realm: RealmUnderTest, client_id: str, secret: str) -> str:
    response = requests.post(f"{realm.issuer}/protocol/openid-connect/token",
                             data={"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def test_hr_system_token_is_accepted(fresh_realm: RealmUnderTest, client: FlaskClient) -> None:
    token = _token(fresh_realm, "hr-system", fresh_realm.env["HR_SCIM_CLIENT_SECRET"])
    response = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["schemas"] == [
        "urn:ietf:params:scim:api:messages:2.0:ListResponse"]


def test_token_without_scim_role_is_refused(fresh_realm: RealmUnderTest,
                                            client: FlaskClient) -> None:
    # The bridge's own service account holds admin roles but not the scim role.
    token = _token(fresh_realm, "bridge", fresh_realm.env["BRIDGE_CLIENT_SECRET"])
    response = client.get("/scim/v2/Users", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["status"] == "401"


def test_static_token_is_accepted_and_a_wrong_one_refused(client: FlaskClient) -> None:
    ok = client.get("/scim/v2/ServiceProviderConfig",
                    headers={"Authorization": f"Bearer {STATIC}"})
    assert ok.status_code == 200
    assert ok.get_json()["bulk"]["supported"] is True
    wrong = client.get("/scim/v2/Users", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    missing = client.get("/scim/v2/Users")
    assert missing.status_code == 401
