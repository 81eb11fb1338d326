"""Which issuers a replica accepts: configured apart from KEYCLOAK_URL, else discovered.

Issue 10 finding 6: the accepted issuer was ``KEYCLOAK_URL`` + realm, so a token from another
Keycloak node (or reached at another URL) was refused.
"""

from __future__ import annotations

import time

import pytest
import requests
import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bridge.api.auth import ActorAuthenticator, Caller
from bridge.auth import KeysUnavailable, RealmKeys, ScimAuthenticator
from bridge.config import Settings
from scim.backend import Subject

ADMIN_URL = "http://keycloak:8080"  # where the bridge reaches Keycloak
REALM = f"{ADMIN_URL}/realms/access"
CERTS = f"{REALM}/protocol/openid-connect/certs"
WELL_KNOWN = f"{REALM}/.well-known/openid-configuration"
PUBLIC = "https://login.example.com/realms/access"  # what Keycloak writes into `iss`
NODE_2 = "http://10.0.0.2:8080/realms/access"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


def _scim_token(iss: str) -> str:
    claims = {"iss": iss, "aud": "bridge", "azp": "hr-system",
              "exp": int(time.time()) + 300, "resource_access": {"bridge": {"roles": ["scim"]}}}
    return jwt.encode({"alg": "RS256", "kid": KEY.kid}, claims, KEY)


def _portal_token(iss: str) -> str:
    claims = {"iss": iss, "sub": "user-1", "azp": "portal", "typ": "Bearer",
              "exp": int(time.time()) + 300}
    return jwt.encode({"alg": "RS256", "kid": KEY.kid}, claims, KEY)


def _serve_keys() -> None:
    responses.get(CERTS, json=KeySet([KEY]).as_dict(private=False))


def _settings(**env: str) -> Settings:
    return Settings.from_env({"KEYCLOAK_URL": ADMIN_URL, "BRIDGE_CLIENT_SECRET": "s", **env})


def test_issuers_are_a_setting_of_their_own() -> None:
    settings = _settings(BRIDGE_TOKEN_ISSUERS=f" {PUBLIC}/, {NODE_2} ")
    assert settings.token_issuers == (PUBLIC, NODE_2)
    assert settings.keycloak_url == ADMIN_URL
    assert _settings().token_issuers == ()


@responses.activate
def test_every_configured_issuer_is_accepted_and_no_other() -> None:
    _serve_keys()
    keys = RealmKeys.of_realm(ADMIN_URL, "access", issuers=[PUBLIC, NODE_2])
    scim = ScimAuthenticator(None, "bridge", jwks=keys)
    api = ActorAuthenticator(None, ["portal"], jwks=keys)
    for issuer in (PUBLIC, NODE_2):
        assert scim(f"Bearer {_scim_token(issuer)}") == Subject("hr-system", None)
        assert api(f"Bearer {_portal_token(issuer)}") == Caller("user-1", None, "portal")
    # KEYCLOAK_URL is where keys are fetched, not an issuer unless listed.
    for stranger in (REALM, "https://login.example.com/realms/other"):
        assert scim(f"Bearer {_scim_token(stranger)}") is None
        assert api(f"Bearer {_portal_token(stranger)}") is None
    assert not any(call.request.url == WELL_KNOWN for call in responses.calls)


@responses.activate
def test_without_configuration_the_issuer_is_discovered_from_the_realm() -> None:
    _serve_keys()
    responses.get(WELL_KNOWN, json={"issuer": PUBLIC, "jwks_uri": f"{PUBLIC}/x/certs"})
    keys = RealmKeys.of_realm(ADMIN_URL, "access")
    scim = ScimAuthenticator(None, "bridge", jwks=keys)
    assert scim(f"Bearer {_scim_token(PUBLIC)}") == Subject("hr-system", None)
    assert scim(f"Bearer {_scim_token(REALM)}") is None
    assert scim(f"Bearer {_scim_token(NODE_2)}") is None
    # keys come from the admin URL, never from the advertised (maybe unreachable) jwks_uri
    assert [c.request.url for c in responses.calls if "certs" in c.request.url] == [CERTS]


@responses.activate
def test_an_unreachable_discovery_document_is_unavailable() -> None:
    _serve_keys()
    responses.get(WELL_KNOWN, body=requests.ConnectionError("down"))
    scim = ScimAuthenticator(None, "bridge", jwks=RealmKeys.of_realm(ADMIN_URL, "access"))
    with pytest.raises(KeysUnavailable):
        scim(f"Bearer {_scim_token(PUBLIC)}")


def test_the_key_cache_bound_is_a_setting() -> None:
    assert _settings().jwks_max_age == 300
    assert _settings(BRIDGE_JWKS_MAX_AGE="60").jwks_max_age == 60
    for wrong in ("0", "-5", "soon", "inf"):
        with pytest.raises(ValueError, match="BRIDGE_JWKS_MAX_AGE must be a positive"):
            _settings(BRIDGE_JWKS_MAX_AGE=wrong)
