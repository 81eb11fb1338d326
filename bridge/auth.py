"""Who is calling the SCIM endpoint: a Keycloak-issued token or a configured static token.

- A JWT access token of a confidential client of our realm, validated locally against the
  realm's JWKS (signature, issuer, expiry, audience = the bridge client, and the bridge's
  ``scim`` client role). A ``scim_tenant`` claim (a hardcoded-claim mapper on that client)
  binds the client to one tenant.
- A static bearer secret, for IdPs that support nothing else, configured only as its
  SHA-256 digest: ``BRIDGE_SCIM_STATIC_TOKENS="entra=<sha256 hex>[@tenant],okta=<...>"``.

JOSE is done by joserfc, the library authlib delegates JOSE to since authlib 1.6 (its own
``authlib.jose`` is deprecated). Tokens are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from scim.backend import Subject

logger = logging.getLogger(__name__)

SCIM_ROLE = "scim"
TENANT_CLAIM = "scim_tenant"
JWKS_MIN_REFRESH_SECONDS = 30.0


@dataclass(frozen=True)
class StaticToken:
    name: str
    sha256: str
    tenant: str | None = None


def parse_static_tokens(value: str | None) -> tuple[StaticToken, ...]:
    """``name=<sha256 hex>[@tenant]`` entries separated by commas."""
    tokens = []
    for entry in filter(None, (part.strip() for part in (value or "").split(","))):
        name, sep, rest = entry.partition("=")
        digest, _, tenant = rest.partition("@")
        digest = digest.strip().lower()
        if not sep or not name or len(digest) != 64 or not all(c in "0123456789abcdef"
                                                                for c in digest):
            raise ValueError(f"BRIDGE_SCIM_STATIC_TOKENS entry {name or '?'!r} is not "
                             "name=<sha256 hex>[@tenant]")
        tokens.append(StaticToken(name.strip(), digest, tenant.strip() or None))
    return tuple(tokens)


class JwksCache:
    """The realm's signing keys, refetched when a token names an unknown key id."""

    def __init__(self, jwks_url: str) -> None:
        self._url = jwks_url
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    def keys(self, kid: str | None) -> KeySet:
        with self._lock:
            known = self._keys is not None and (
                kid is None or any(k.kid == kid for k in self._keys.keys))
            stale = time.monotonic() - self._fetched_at > JWKS_MIN_REFRESH_SECONDS
            if self._keys is None or (not known and stale):
                response = requests.get(self._url, timeout=5)
                response.raise_for_status()
                self._keys = KeySet.import_key_set(response.json())
                self._fetched_at = time.monotonic()
            return self._keys


class ScimAuthenticator:
    """``authenticate(Authorization header) -> Subject | None`` for the SCIM blueprint."""

    def __init__(self, issuer: str, audience: str, static_tokens: tuple[StaticToken, ...] = (),
                 jwks: JwksCache | None = None) -> None:
        self.issuer = issuer
        self.audience = audience
        self.static_tokens = static_tokens
        self.jwks = jwks or JwksCache(f"{issuer}/protocol/openid-connect/certs")

    def __call__(self, header: str | None) -> Subject | None:
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        if token.count(".") == 2:
            return self._from_jwt(token)
        return self._from_static(token)

    def _from_static(self, token: str) -> Subject | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        for static in self.static_tokens:
            if hmac.compare_digest(digest, static.sha256):
                return Subject(f"static:{static.name}", static.tenant)
        logger.warning("SCIM request with an unknown static token refused")
        return None

    def _from_jwt(self, token: str) -> Subject | None:
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
            decoded = jwt.decode(token, self.jwks.keys(kid), algorithms=["RS256", "ES256",
                                                                         "PS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                exp={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError, requests.RequestException) as exc:
            logger.warning("SCIM request with an invalid token refused: %s",
                           type(exc).__name__)
            return None
        claims = decoded.claims
        if not self._audience_ok(claims) or not self._has_scim_role(claims):
            logger.warning("SCIM token of client %s refused: no %s role for %s",
                           claims.get("azp"), SCIM_ROLE, self.audience)
            return None
        return Subject(str(claims.get("azp") or claims.get("client_id") or "unknown"),
                       claims.get(TENANT_CLAIM) or None)

    def _audience_ok(self, claims: Mapping[str, Any]) -> bool:
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        return self.audience in audiences

    def _has_scim_role(self, claims: Mapping[str, Any]) -> bool:
        access = claims.get("resource_access") or {}
        roles = (access.get(self.audience) or {}).get("roles") or []
        return SCIM_ROLE in roles
