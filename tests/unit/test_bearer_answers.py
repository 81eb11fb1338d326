"""One bearer-token validator for SCIM and the API: the same fault gets the same answer.

Issue 11: ``bridge/auth.py`` (SCIM) and ``bridge/api/auth.py`` (API) disagreed; a failed key
fetch was a 401 on SCIM and a 503 on the API. The answers (README, "Bearer tokens"):

* no bearer credentials: 401, ``WWW-Authenticate: Bearer realm=...`` without an error code
  (RFC 6750 §3.1);
* a token that is not valid here: 401, ``WWW-Authenticate: Bearer ..., error="invalid_token"``;
* the realm's keys cannot be fetched: 503 with ``Retry-After``, on both surfaces.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bridge.app import create_app
from bridge.config import Settings

KEYCLOAK = "http://kc.test"
ISSUER = f"{KEYCLOAK}/realms/access"
CERTS = f"{ISSUER}/protocol/openid-connect/certs"
CATALOG = (Path(__file__).resolve().parents[2] / "realm-config" / "examples"
           / "004-accounting-portal" / "catalog.yaml")
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
STRANGER = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
UNKNOWN = RSAKey.generate_key(2048, parameters={"kid": "k9", "use": "sig", "alg": "RS256"})

SCIM_URL = "/scim/v2/Users"
API_URL = "/api/v1/invitations"


def _token(key: RSAKey = KEY, **overrides: Any) -> str:
    """A token both surfaces would accept, were it not for ``overrides``."""
    claims = {"iss": ISSUER, "sub": "user-1", "typ": "Bearer", "azp": "portal",
              "aud": ["bridge"], "resource_access": {"bridge": {"roles": ["scim"]}},
              "exp": int(time.time()) + 300, "iat": int(time.time())}
    claims.update(overrides)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


@pytest.fixture
def http() -> FlaskClient:
    settings = Settings(keycloak_url=KEYCLOAK, realm="access", client_id="bridge",
                        client_secret="unused", catalog_path=str(CATALOG),
                        token_issuers=(ISSUER,))
    return create_app(settings).test_client()


def _challenge(response: Any) -> dict[str, str]:
    header = response.headers.get("WWW-Authenticate", "")
    assert header.startswith("Bearer "), header
    return dict(re.findall(r'(\w+)="([^"]*)"', header))


def _both(http: FlaskClient, header: str | None) -> tuple[Any, Any]:
    headers = {"Authorization": header} if header is not None else {}
    return http.get(SCIM_URL, headers=headers), http.get(API_URL, headers=headers)


@responses.activate
@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwdw==", "Bearer", "Bearer   "])
def test_no_bearer_token_is_401_with_a_bare_challenge(http: FlaskClient,
                                                      header: str | None) -> None:
    for response in _both(http, header):
        assert response.status_code == 401
        challenge = _challenge(response)
        assert "error" not in challenge  # RFC 6750 §3.1: no error code without credentials
        assert challenge["realm"]
        assert "Retry-After" not in response.headers
    assert not responses.calls


@responses.activate
@pytest.mark.parametrize("fault", ["malformed", "expired", "issuer", "signature",
                                   "unknown-key", "not-yet-valid"])
def test_an_invalid_token_is_401_invalid_token_on_both(http: FlaskClient, fault: str) -> None:
    responses.get(CERTS, json=KeySet([KEY]).as_dict(private=False))
    token = {
        "malformed": "not.a.jwt",
        "expired": _token(exp=int(time.time()) - 10),
        "issuer": _token(iss=f"{KEYCLOAK}/realms/other"),
        "signature": _token(STRANGER),
        "unknown-key": _token(UNKNOWN),
        "not-yet-valid": _token(nbf=int(time.time()) + 600),
    }[fault]
    scim, api = _both(http, f"Bearer {token}")
    for response in (scim, api):
        assert response.status_code == 401, response.get_data(as_text=True)
        assert _challenge(response)["error"] == "invalid_token"
        assert _challenge(response)["error_description"]
    assert scim.get_json()["status"] == "401"
    assert api.get_json()["error"] == "unauthorized"


@responses.activate
def test_a_token_for_the_other_surface_is_invalid_here(http: FlaskClient) -> None:
    responses.get(CERTS, json=KeySet([KEY]).as_dict(private=False))
    # a person's portal token carries no scim role; an HR system's token is no portal login
    person = _token(aud=["account"], resource_access={})
    system = _token(azp="hr-system")
    scim = http.get(SCIM_URL, headers={"Authorization": f"Bearer {person}"})
    api = http.get(API_URL, headers={"Authorization": f"Bearer {system}"})
    for response in (scim, api):
        assert response.status_code == 401
        assert _challenge(response)["error"] == "invalid_token"


@responses.activate
def test_unreachable_keys_are_503_with_retry_after_on_both(http: FlaskClient) -> None:
    responses.get(CERTS, body=requests.ConnectionError("Keycloak is down"))
    scim, api = _both(http, f"Bearer {_token()}")
    for response in (scim, api):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert int(response.headers["Retry-After"]) > 0
        assert "WWW-Authenticate" not in response.headers
    assert scim.headers["Retry-After"] == api.headers["Retry-After"]
    assert scim.get_json()["status"] == "503"
    assert api.get_json()["error"] == "keycloak-unavailable"


@responses.activate
def test_a_keycloak_5xx_on_the_keys_is_503_too(http: FlaskClient) -> None:
    responses.get(CERTS, status=502)
    for response in _both(http, f"Bearer {_token()}"):
        assert response.status_code == 503
        assert "Retry-After" in response.headers
