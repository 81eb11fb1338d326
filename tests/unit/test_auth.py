"""SCIM caller authentication: Keycloak JWTs validated locally, hashed static tokens."""

from __future__ import annotations

import hashlib
import time

import pytest
import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bridge.auth import ScimAuthenticator, parse_static_tokens
from scim.backend import Subject

ISSUER = "http://kc.test/realms/access"
CERTS = f"{ISSUER}/protocol/openid-connect/certs"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


def _token(key: RSAKey = KEY, **overrides: object) -> str:
    claims = {"iss": ISSUER, "aud": ["bridge", "account"], "azp": "hr-system",
              "exp": int(time.time()) + 300, "iat": int(time.time()),
              "resource_access": {"bridge": {"roles": ["scim"]}}}
    claims.update(overrides)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _serve_keys(*keys: RSAKey) -> None:
    responses.get(CERTS, json=KeySet(list(keys)).as_dict(private=False))


def _auth(static: str = "") -> ScimAuthenticator:
    return ScimAuthenticator(ISSUER, "bridge", parse_static_tokens(static))


@responses.activate
def test_valid_keycloak_token_gives_its_client() -> None:
    _serve_keys(KEY)
    assert _auth()(f"Bearer {_token()}") == Subject("hr-system", None)


@responses.activate
def test_tenant_claim_binds_the_client() -> None:
    _serve_keys(KEY)
    assert _auth()(f"Bearer {_token(scim_tenant='dossier-42')}") == Subject("hr-system",
                                                                             "dossier-42")


@responses.activate
@pytest.mark.parametrize("overrides", [
    {"iss": "http://kc.test/realms/other"},
    {"exp": int(time.time()) - 10},
    {"aud": "account"},
    {"resource_access": {"bridge": {"roles": ["other"]}}},
    {"resource_access": {"account": {"roles": ["scim"]}}},
])
def test_tokens_failing_a_check_are_refused(overrides: dict) -> None:
    _serve_keys(KEY)
    assert _auth()(f"Bearer {_token(**overrides)}") is None


@responses.activate
def test_token_signed_by_another_key_is_refused() -> None:
    _serve_keys(KEY)
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    assert _auth()(f"Bearer {_token(stranger)}") is None


@responses.activate
def test_rotated_key_is_fetched_once() -> None:
    auth = _auth()
    _serve_keys(KEY)
    assert auth(f"Bearer {_token()}") is not None
    rotated = RSAKey.generate_key(2048, parameters={"kid": "k2", "use": "sig"})
    responses.replace(responses.GET, CERTS, json=KeySet([KEY, rotated]).as_dict(private=False))
    auth.jwks._fetched_at = 0  # past the refresh guard
    assert auth(f"Bearer {_token(rotated)}") == Subject("hr-system", None)


@responses.activate
def test_static_tokens_are_compared_by_digest() -> None:
    digest = hashlib.sha256(b"entra-long-random-secret").hexdigest()
    auth = _auth(f"entra={digest}@tenant-a, okta={'0' * 64}")
    assert auth("Bearer entra-long-random-secret") == Subject("static:entra", "tenant-a")
    assert auth("Bearer wrong-secret") is None
    assert auth(f"Bearer {digest}") is None  # the digest itself is not a credential


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   ",
                                    "Bearer not.a.jwt"])
def test_malformed_headers_are_refused_without_error(header: str | None) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        mocked.get(CERTS, status=500)
        assert _auth()(header) is None


def test_static_token_configuration_errors() -> None:
    with pytest.raises(ValueError, match="'entra' is not name=<sha256 hex>"):
        parse_static_tokens("entra=short")
