"""The realm's signing keys and accepted issuers, as one replica holds them.

The JWKS is fetched from the realm at the URL the bridge reaches Keycloak at
(``KEYCLOAK_URL``), held at most ``max_age`` seconds (so a removed realm key stops verifying
within that bound), and fetched again at once for a key id it does not hold, at most once
per ``refetch_interval`` (so made-up key ids cannot flood Keycloak). The accepted issuers are
configured or, when none is, the ``issuer`` of the realm's OpenID discovery document,
refreshed with the keys.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from bridge.auth.faults import InvalidToken, KeysUnavailable

logger = logging.getLogger(__name__)

JWKS_MAX_AGE = 300.0
"""Seconds a fetched JWKS (and a discovered issuer) is trusted; ``BRIDGE_JWKS_MAX_AGE``."""
JWKS_REFETCH_INTERVAL = 10.0
"""At most one fetch per this many seconds for key ids the cache does not hold (the default
of Keycloak's own adapters, ``min-time-between-jwks-requests``)."""
FETCH_FAILURE_BACKOFF = 2.0
"""After a failed fetch, callers get 503 at once for this long instead of each waiting on
an unreachable Keycloak."""


class RealmKeys:
    """The realm's signing keys and accepted issuers, as one replica holds them.

    Thread-safe; one fetch at a time (others wait for it and use its result). ``clock`` is
    monotonic seconds (tests pass their own).
    """

    def __init__(self, jwks_url: str, *, issuers: Iterable[str] = (),
                 discovery_url: str | None = None, max_age: float = JWKS_MAX_AGE,
                 refetch_interval: float = JWKS_REFETCH_INTERVAL,
                 clock: Callable[[], float] = time.monotonic, timeout: float = 5.0) -> None:
        self._url = jwks_url
        self._configured = tuple(issuer.rstrip("/") for issuer in issuers if issuer)
        if not self._configured and not discovery_url:
            raise ValueError("RealmKeys needs issuers or a discovery document to find them")
        self._discovery_url = discovery_url
        self.max_age = max_age
        self.refetch_interval = refetch_interval
        self._clock = clock
        self._timeout = timeout
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._discovered: tuple[str, ...] = ()
        self._fetched_at = -math.inf  # last complete refresh (keys, and issuer if discovered)
        self._refetched_at = -math.inf  # last fetch for an unknown key id
        self._failed_at = -math.inf

    @classmethod
    def of_realm(cls, keycloak_url: str, realm: str, *, issuers: Iterable[str] = (),
                 max_age: float = JWKS_MAX_AGE) -> RealmKeys:
        """Keys (and, with no issuers given, the issuer) read from the realm at the URL the
        bridge reaches Keycloak at, whatever hostname Keycloak advertises."""
        base = f"{keycloak_url.rstrip('/')}/realms/{realm}"
        return cls(f"{base}/protocol/openid-connect/certs", issuers=issuers,
                   discovery_url=f"{base}/.well-known/openid-configuration", max_age=max_age)

    @classmethod
    def for_issuer(cls, issuer: str | Sequence[str]) -> RealmKeys:
        """Keys of a Keycloak realm whose (first) issuer URL is also reachable."""
        issuers = [issuer] if isinstance(issuer, str) else list(issuer)
        if not issuers:
            raise ValueError("no issuer given")
        return cls(f"{issuers[0].rstrip('/')}/protocol/openid-connect/certs", issuers=issuers)

    def issuers(self) -> tuple[str, ...]:
        if self._configured:
            return self._configured
        with self._lock:
            self._refresh_if_old()
            return self._discovered

    def key_set(self, kid: str | None) -> KeySet:
        """The keys to verify a token naming ``kid``; raises :class:`InvalidToken` for a key
        id the realm does not have, :class:`KeysUnavailable` when Keycloak cannot say."""
        with self._lock:
            refreshed = self._refresh_if_old()
            if kid is not None and not self._holds(kid):
                now = self._clock()
                if not refreshed and now - self._refetched_at >= self.refetch_interval:
                    self._refetched_at = now
                    self._fetch(keys_only=True)
                if not self._holds(kid):
                    raise InvalidToken("the token is signed by a key the realm does not have")
            assert self._keys is not None
            return self._keys

    def _holds(self, kid: str) -> bool:
        return self._keys is not None and any(key.kid == kid for key in self._keys)

    def _refresh_if_old(self) -> bool:
        if self._keys is not None and self._clock() - self._fetched_at < self.max_age:
            return False
        self._fetch(keys_only=False)
        return True

    def _fetch(self, *, keys_only: bool) -> None:
        now = self._clock()
        if now - self._failed_at < FETCH_FAILURE_BACKOFF:
            raise KeysUnavailable("the realm's signing keys cannot be fetched; retry later")
        try:
            if not keys_only and not self._configured:
                assert self._discovery_url is not None
                issuer = self._get(self._discovery_url)["issuer"]
                if not isinstance(issuer, str) or not issuer:
                    raise ValueError("the discovery document names no issuer")
                self._discovered = (issuer.rstrip("/"),)
            document = self._get(self._url)
            # Keycloak's JWKS also lists its encryption keys: only signing keys verify tokens.
            keys = [key for key in document.get("keys", []) if key.get("use", "sig") == "sig"]
            self._keys = KeySet.import_key_set({"keys": keys})
        except (requests.RequestException, ValueError, KeyError, TypeError, JoseError) as exc:
            self._failed_at = now
            logger.warning("the realm's keys could not be fetched from %s: %s", self._url,
                           type(exc).__name__)
            raise KeysUnavailable("the realm's signing keys cannot be fetched; retry later"
                                  ) from exc
        if not keys_only:
            self._fetched_at = now

    def _get(self, url: str) -> Any:
        response = requests.get(url, timeout=self._timeout)
        response.raise_for_status()
        return response.json()
