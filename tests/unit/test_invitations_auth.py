"""``/api/v1`` callers: access tokens of the realm's portal, validated against its JWKS."""

from __future__ import annotations

import time

import pytest
import requests
import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bridge.api.auth import ActorAuthenticator, AuthUnavailable, Caller

ISSUER = "http://kc.test/realms/access"
CERTS = f"{ISSUER}/protocol/openid-connect/certs"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig", "alg": "RS256"})


def _token(key: RSAKey = KEY, **overrides: object) -> str:
    claims = {"iss": ISSUER, "sub": "user-1", "azp": "portal", "typ": "Bearer",
              "preferred_username": "anna", "exp": int(time.time()) + 300,
              "iat": int(time.time())}
    claims.update(overrides)
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _auth() -> ActorAuthenticator:
    responses.get(CERTS, json=KeySet([KEY]).as_dict(private=False))
    return ActorAuthenticator(ISSUER, ["portal"])


@responses.activate
def test_a_portal_access_token_gives_its_subject() -> None:
    assert _auth()(f"Bearer {_token()}") == Caller("user-1", "anna", "portal")


@responses.activate
@pytest.mark.parametrize("token", [
    _token(azp="hr-system"),                      # a service account, not a person
    _token(typ="ID"),                             # an ID token
    _token(iss="http://kc.test/realms/other"),    # another realm
    _token(exp=int(time.time()) - 10),            # expired
    _token(OTHER),                                # not signed by the realm
    "not.a.jwt", "",
])
def test_other_tokens_are_refused(token: str) -> None:
    assert _auth()(f"Bearer {token}") is None


@responses.activate
def test_missing_header_or_scheme() -> None:
    auth = _auth()
    assert auth(None) is None
    assert auth(f"Basic {_token()}") is None


@responses.activate
def test_unreachable_keys_are_unavailable_not_unauthorized() -> None:
    responses.get(CERTS, body=requests.ConnectionError("down"))
    with pytest.raises(AuthUnavailable):
        ActorAuthenticator(ISSUER, ["portal"])(f"Bearer {_token()}")
