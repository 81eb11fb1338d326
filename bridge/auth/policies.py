"""What each surface accepts once a token is known to be the realm's and current."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bridge.auth.faults import InvalidToken

# The syntax of BRIDGE_SCIM_STATIC_TOKENS is a setting's: read and checked in bridge.config.
from bridge.config import (  # noqa: F401 (re-exported)
    STATIC_TOKEN_NAME,
    StaticToken,
    parse_static_tokens,
    static_token_entry,
    token_digest,
)
from scim.backend import Subject

logger = logging.getLogger(__name__)

SCIM_ROLE = "scim"
TENANT_CLAIM = "scim_tenant"

P = TypeVar("P", covariant=True)


class TokenPolicy(Protocol[P]):
    """What one surface accepts, once the token is known to be the realm's and current."""

    realm: str  # the protection space named in WWW-Authenticate

    def claim_options(self) -> dict[str, Any]:
        """Extra joserfc claim options (``aud``, ``sub``...) checked with ``iss``/``exp``."""
        ...

    def caller(self, claims: Mapping[str, Any]) -> P:
        """The caller the claims stand for; raises :class:`InvalidToken` to refuse."""
        ...

    def static_caller(self, token: str) -> P:
        """The caller of a non-JWT token; raises :class:`InvalidToken` to refuse."""
        ...


@dataclass(frozen=True)
class ScimPolicy:
    """SCIM clients: the bridge audience plus its ``scim`` role, or a hashed static token."""

    audience: str
    static_tokens: tuple[StaticToken, ...] = ()
    realm: str = "SCIM"

    def claim_options(self) -> dict[str, Any]:
        return {"aud": {"essential": True, "value": self.audience}}

    def caller(self, claims: Mapping[str, Any]) -> Subject:
        access = claims.get("resource_access") or {}
        roles = (access.get(self.audience) or {}).get("roles") or []
        if SCIM_ROLE not in roles:
            logger.warning("SCIM token of client %s refused: no %s role for %s",
                           claims.get("azp"), SCIM_ROLE, self.audience)
            raise InvalidToken(f"the token does not grant the {SCIM_ROLE} role of "
                               f"{self.audience}")
        return Subject(str(claims.get("azp") or claims.get("client_id") or "unknown"),
                       claims.get(TENANT_CLAIM) or None)

    def static_caller(self, token: str) -> Subject:
        digest = token_digest(token)
        for static in self.static_tokens:
            if hmac.compare_digest(digest, static.sha256):
                return Subject(f"static:{static.name}", static.tenant)
        logger.warning("SCIM request with an unknown static token refused")
        raise InvalidToken("unknown token")


@dataclass(frozen=True)
class Caller:
    """A person calling ``/api/v1``: only the subject is trusted from the token."""

    subject: str
    username: str | None
    client_id: str


@dataclass(frozen=True)
class PortalPolicy:
    """``/api/v1``: access tokens of people logged into one of ``clients``."""

    clients: frozenset[str]
    realm: str = "bridge"

    def claim_options(self) -> dict[str, Any]:
        return {"sub": {"essential": True}}

    def caller(self, claims: Mapping[str, Any]) -> Caller:
        if str(claims.get("typ", "Bearer")).lower() != "bearer":
            logger.warning("API request with a %s token refused", claims.get("typ"))
            raise InvalidToken("not an access token")
        client_id = str(claims.get("azp") or "")
        if client_id not in self.clients:
            logger.warning("API request with a token of client %s refused", client_id)
            raise InvalidToken("the token is not of a client people log into")
        return Caller(str(claims["sub"]), claims.get("preferred_username"), client_id)

    def static_caller(self, token: str) -> Caller:
        raise InvalidToken("not a JWT access token")
