"""The realm's signing keys as a replica holds them: a bounded cache, refetched on a new key id.

Issue 10 finding 5: a replica kept accepting a token signed by a removed realm key, and for
up to ~30 s refused tokens carrying the new key id.
"""

from __future__ import annotations

import time

import pytest
import requests
import responses
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from bridge.auth import (
    JWKS_MAX_AGE,
    JWKS_REFETCH_INTERVAL,
    KeysUnavailable,
    RealmKeys,
    ScimAuthenticator,
)
from scim.backend import Subject

ISSUER = "http://kc.test/realms/access"
CERTS = f"{ISSUER}/protocol/openid-connect/certs"
OLD = RSAKey.generate_key(2048, parameters={"kid": "old", "use": "sig", "alg": "RS256"})
NEW = RSAKey.generate_key(2048, parameters={"kid": "new", "use": "sig", "alg": "RS256"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(key: RSAKey, kid: str | None = None) -> str:
    claims = {"iss": ISSUER, "aud": ["bridge"], "azp": "hr-system",
              "exp": int(time.time()) + 300, "iat": int(time.time()),
              "resource_access": {"bridge": {"roles": ["scim"]}}}
    return jwt.encode({"alg": "RS256", "kid": kid or key.kid}, claims, key)


def _serve(*keys: RSAKey) -> None:
    responses.upsert(responses.GET, CERTS, json=KeySet(list(keys)).as_dict(private=False))


def _fetches() -> int:
    return sum(1 for call in responses.calls if call.request.url == CERTS)


def _auth(clock: Clock) -> ScimAuthenticator:
    return ScimAuthenticator(ISSUER, "bridge", jwks=RealmKeys(CERTS, issuers=[ISSUER],
                                                              clock=clock))


@responses.activate
def test_a_new_key_id_is_accepted_at_once() -> None:
    clock = Clock()
    auth = _auth(clock)
    _serve(OLD)
    assert auth(f"Bearer {_token(OLD)}") == Subject("hr-system", None)
    _serve(OLD, NEW)  # Keycloak rotated: the new key signs from now on
    clock.now += 1
    assert auth(f"Bearer {_token(NEW)}") == Subject("hr-system", None)
    assert _fetches() == 2


@responses.activate
def test_unknown_key_ids_refetch_at_most_once_per_interval() -> None:
    clock = Clock()
    auth = _auth(clock)
    _serve(OLD)
    assert auth(f"Bearer {_token(OLD)}") is not None
    for n in range(20):  # a flood of made-up key ids costs Keycloak one request
        assert auth(f"Bearer {_token(NEW, kid=f'bogus-{n}')}") is None
    assert _fetches() == 2
    _serve(OLD, NEW)
    assert auth(f"Bearer {_token(NEW)}") is None  # still inside the interval
    clock.now += JWKS_REFETCH_INTERVAL
    assert auth(f"Bearer {_token(NEW)}") is not None
    assert _fetches() == 3


@responses.activate
def test_a_removed_key_is_refused_once_the_cache_bound_has_passed() -> None:
    clock = Clock()
    auth = _auth(clock)
    _serve(OLD, NEW)
    signed_by_old = _token(OLD)
    assert auth(f"Bearer {signed_by_old}") is not None
    _serve(NEW)  # the realm key was removed
    clock.now += JWKS_MAX_AGE
    assert auth(f"Bearer {signed_by_old}") is None
    assert auth(f"Bearer {_token(NEW)}") is not None


def test_the_cache_bound_is_minutes_not_the_process_lifetime() -> None:
    assert 0 < JWKS_REFETCH_INTERVAL <= 30
    assert JWKS_REFETCH_INTERVAL < JWKS_MAX_AGE <= 600


@responses.activate
def test_keys_that_cannot_be_refreshed_are_unavailable_not_trusted_forever() -> None:
    clock = Clock()
    auth = _auth(clock)
    _serve(OLD)
    assert auth(f"Bearer {_token(OLD)}") is not None
    responses.upsert(responses.GET, CERTS, body=requests.ConnectionError("down"))
    clock.now += JWKS_MAX_AGE
    with pytest.raises(KeysUnavailable):
        auth(f"Bearer {_token(OLD)}")
    fetches = _fetches()
    with pytest.raises(KeysUnavailable):  # no request storm while Keycloak is down
        auth(f"Bearer {_token(OLD)}")
    assert _fetches() == fetches
    _serve(OLD)
    clock.now += 10
    assert auth(f"Bearer {_token(OLD)}") is not None

