"""Who calls ``/api/v1``: a user of the product, with a Keycloak access token of the realm.

The token is validated locally against the realm's JWKS (joserfc, as for SCIM): signature,
issuer, expiry, ``typ`` Bearer, and ``azp`` one of the clients people log into (the
catalog's client, ``portal``). Only the subject is taken from it: the actor's facts are read
from its Keycloak user by :meth:`bridge.invitations.AccessAdministration.actor_for_user`,
so a profile removed or an account deactivated a minute ago already counts. Tokens are never
logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError

from bridge.auth import JwksCache

logger = logging.getLogger(__name__)


class AuthUnavailable(Exception):
    """The realm's keys cannot be fetched: the caller may retry."""


@dataclass(frozen=True)
class Caller:
    subject: str
    username: str | None
    client_id: str


class ActorAuthenticator:
    """``authenticate(Authorization header) -> Caller | None``."""

    def __init__(self, issuer: str, clients: Iterable[str],
                 jwks: JwksCache | None = None) -> None:
        self.issuer = issuer
        self.clients = frozenset(clients)
        self.jwks = jwks or JwksCache(f"{issuer}/protocol/openid-connect/certs")

    def __call__(self, header: str | None) -> Caller | None:
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return None
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError):
            return None
        try:
            keys = self.jwks.keys(kid)
        except (requests.RequestException, ValueError) as exc:
            raise AuthUnavailable("the realm's signing keys cannot be fetched") from exc
        try:
            decoded = jwt.decode(token, keys, algorithms=["RS256", "ES256", "PS256"])
            jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                exp={"essential": True},
                sub={"essential": True},
            ).validate(decoded.claims)
        except (JoseError, ValueError) as exc:
            logger.warning("API request with an invalid token refused: %s", type(exc).__name__)
            return None
        claims = decoded.claims
        if str(claims.get("typ", "Bearer")).lower() != "bearer":
            logger.warning("API request with a %s token refused", claims.get("typ"))
            return None
        client_id = str(claims.get("azp") or "")
        if client_id not in self.clients:
            logger.warning("API request with a token of client %s refused", client_id)
            return None
        return Caller(str(claims["sub"]), claims.get("preferred_username"), client_id)
