"""Which tokens the bridge trusts, on the real app with a real Keycloak realm.

Issue 10 findings 5 (signing keys) and 6 (issuer): a realm key is rotated and removed through
its key-provider components, and one realm is reached at two URLs (Keycloak with
``--hostname-strict=false`` writes the URL it was reached at into ``iss``).
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Settings
from bridge.local.keycloak import free_port
from tests.conftest import REALM_CONFIG, RealmUnderTest

KEY_PROVIDER = "org.keycloak.keys.KeyProvider"
MAX_AGE = 3.0  # the cache bound the replica under test is given (BRIDGE_JWKS_MAX_AGE)


def _app(realm: RealmUnderTest, **settings: Any) -> FlaskClient:
    return create_app(Settings(
        keycloak_url=realm.keycloak.url, realm=realm.name, client_id="bridge",
        client_secret=realm.env["BRIDGE_CLIENT_SECRET"], **settings)).test_client()


def _hr_token(realm_url: str, realm: RealmUnderTest) -> str:
    response = requests.post(f"{realm_url}/protocol/openid-connect/token", data={
        "grant_type": "client_credentials", "client_id": "hr-system",
        "client_secret": realm.env["HR_SCIM_CLIENT_SECRET"]}, timeout=30)
    response.raise_for_status()
    return response.json()["access_token"]


def _part(token: str, index: int) -> dict[str, Any]:
    # Reading (not validating) our own test token's header and claims.
    segment = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _scim(http: FlaskClient, token: str) -> Any:
    return http.get("/scim/v2/Users?count=1", headers={"Authorization": f"Bearer {token}"})


def _refused(response: Any) -> bool:
    header = response.headers.get("WWW-Authenticate", "")
    return response.status_code == 401 and 'error="invalid_token"' in header


def _realm_id(realm: RealmUnderTest) -> str:
    return realm.admin.get(f"/{realm.name}")["id"]


def _provider_of(realm: RealmUnderTest, kid: str) -> str:
    keys = realm.admin.get(f"/{realm.name}/keys")["keys"]
    return next(key["providerId"] for key in keys if key.get("kid") == kid)


def test_a_rotated_key_is_accepted_at_once_and_a_removed_one_refused_within_the_bound(
        fresh_realm: RealmUnderTest) -> None:
    http = _app(fresh_realm, jwks_max_age=MAX_AGE)
    old_token = _hr_token(fresh_realm.issuer, fresh_realm)
    assert _scim(http, old_token).status_code == 200
    old_kid = _part(old_token, 0)["kid"]

    # Rotate: a new generated RSA key with a higher priority signs from now on.
    fresh_realm.admin.post(f"/{fresh_realm.name}/components", {
        "name": "rotated-rsa", "providerId": "rsa-generated", "providerType": KEY_PROVIDER,
        "parentId": _realm_id(fresh_realm),
        "config": {"priority": ["500"], "algorithm": ["RS256"], "keySize": ["2048"]}})
    new_token = _hr_token(fresh_realm.issuer, fresh_realm)
    assert _part(new_token, 0)["kid"] != old_kid
    assert _scim(http, new_token).status_code == 200  # at once, not after a guard time

    # Remove the old key: Keycloak no longer vouches for what it signed.
    fresh_realm.admin.delete(f"/{fresh_realm.name}/components/"
                             f"{_provider_of(fresh_realm, old_kid)}")
    introspected = requests.post(
        f"{fresh_realm.issuer}/protocol/openid-connect/token/introspect",
        data={"token": old_token, "client_id": "hr-system",
              "client_secret": fresh_realm.env["HR_SCIM_CLIENT_SECRET"]}, timeout=30)
    assert introspected.json()["active"] is False
    time.sleep(MAX_AGE + 0.5)
    assert _refused(_scim(http, old_token))
    assert _scim(http, new_token).status_code == 200


def _two_urls(realm: RealmUnderTest) -> tuple[str, str]:
    if "://127.0.0.1:" not in realm.issuer:
        pytest.skip("needs Keycloak at 127.0.0.1 to reach it as localhost too")
    return realm.issuer, realm.issuer.replace("://127.0.0.1:", "://localhost:", 1)


def test_every_configured_issuer_of_the_realm_is_accepted_and_no_other(
        fresh_realm: RealmUnderTest) -> None:
    by_ip, by_name = _two_urls(fresh_realm)
    ip_token, name_token = _hr_token(by_ip, fresh_realm), _hr_token(by_name, fresh_realm)
    assert (_part(ip_token, 1)["iss"], _part(name_token, 1)["iss"]) == (by_ip, by_name)

    both = _app(fresh_realm, token_issuers=(by_ip, by_name))
    assert _scim(both, ip_token).status_code == 200
    assert _scim(both, name_token).status_code == 200

    only_name = _app(fresh_realm, token_issuers=(by_name,))
    assert _scim(only_name, name_token).status_code == 200  # not KEYCLOAK_URL's issuer
    assert _refused(_scim(only_name, ip_token))


def test_without_configuration_the_realm_says_its_issuer(
        fresh_realm: RealmUnderTest) -> None:
    by_ip, by_name = _two_urls(fresh_realm)
    http = _app(fresh_realm)  # discovery at KEYCLOAK_URL: Keycloak answers with that URL
    assert _scim(http, _hr_token(by_ip, fresh_realm)).status_code == 200
    refused = _scim(http, _hr_token(by_name, fresh_realm))
    assert _refused(refused)
    assert re.search(r'error_description="[^"]+"', refused.headers["WWW-Authenticate"])


def test_the_same_fault_gets_the_same_answer_on_scim_and_the_api(
        fresh_realm: RealmUnderTest) -> None:
    catalog = REALM_CONFIG / "examples" / "004-accounting-portal"
    http = _app(fresh_realm, catalog_path=str(catalog))
    hr_token = _hr_token(fresh_realm.issuer, fresh_realm)
    assert _scim(http, hr_token).status_code == 200
    # An HR system's token is no person's login: refused by the API as invalid there.
    assert _refused(http.get("/api/v1/invitations",
                             headers={"Authorization": f"Bearer {hr_token}"}))
    forged = hr_token[:-8] + ("AAAAAAAA" if not hr_token.endswith("AAAAAAAA") else "BBBBBBBB")
    for header in ({}, {"Authorization": f"Bearer {forged}"}):
        scim = http.get("/scim/v2/Users", headers=header)
        api = http.get("/api/v1/invitations", headers=header)
        assert scim.status_code == api.status_code == 401
        assert (_refused(scim), _refused(api)) == (bool(header), bool(header))

    # Keycloak unreachable: the keys cannot be fetched, both surfaces say retry later.
    down = create_app(Settings(
        keycloak_url=f"http://127.0.0.1:{free_port()}", realm=fresh_realm.name,
        client_id="bridge", client_secret="unused", catalog_path=str(catalog))).test_client()
    scim = down.get("/scim/v2/Users", headers={"Authorization": f"Bearer {hr_token}"})
    api = down.get("/api/v1/invitations", headers={"Authorization": f"Bearer {hr_token}"})
    assert scim.status_code == api.status_code == 503
    assert scim.headers["Retry-After"] == api.headers["Retry-After"]
