"""Header → caller: the bridge's one bearer-token validator (authlib ResourceProtector style)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Generic, TypeVar

from joserfc import jws, jwt
from joserfc.errors import JoseError

from bridge.auth.faults import AuthFault, InvalidToken, KeysUnavailable, MissingToken
from bridge.auth.keys import RealmKeys
from bridge.auth.policies import (
    Caller,
    PortalPolicy,
    ScimPolicy,
    StaticToken,
    TokenPolicy,
)
from scim import errors as scim_errors
from scim.backend import Subject

logger = logging.getLogger(__name__)

CLOCK_LEEWAY_SECONDS = 5
"""Clock skew tolerated on ``exp``/``nbf``/``iat`` between Keycloak nodes and replicas."""
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
              "ES512"]  # the realm's asymmetric keys only: never "none" nor HMAC

P = TypeVar("P")


def bearer_token(header: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; :class:`MissingToken` otherwise."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise MissingToken("a bearer token is required")
    return token


class BearerValidator(Generic[P]):
    """Header → caller for one surface: :meth:`authenticate` raises an :class:`AuthFault`;
    calling it returns ``None`` instead for 401 faults (and still raises
    :class:`KeysUnavailable`)."""

    def __init__(self, keys: RealmKeys, policy: TokenPolicy[P]) -> None:
        self.jwks = keys
        self.policy = policy

    def __call__(self, header: str | None) -> P | None:
        try:
            return self.authenticate(header)
        except (MissingToken, InvalidToken):
            return None

    def authenticate(self, header: str | None) -> P:
        token = bearer_token(header)
        if token.count(".") != 2:
            return self.policy.static_caller(token)
        try:
            kid = jws.extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError) as exc:
            raise self._invalid(exc, "the token is not a signed JWT") from None
        keys = self.jwks.key_set(kid if isinstance(kid, str) else None)
        try:
            decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise self._invalid(exc, "the token's signature does not verify") from None
        registry = jwt.JWTClaimsRegistry(
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "values": list(self.jwks.issuers())},
            exp={"essential": True},
            **self.policy.claim_options())
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise self._invalid(exc, f"the token's claims are not accepted here "
                                     f"({exc.error})") from None
        return self.policy.caller(decoded.claims)

    def _invalid(self, exc: Exception, description: str) -> InvalidToken:
        logger.warning("%s request with an invalid token refused: %s", self.policy.realm,
                       type(exc).__name__)
        return InvalidToken(description)


class ScimAuthenticator(BearerValidator[Subject]):
    """The SCIM surface: ``ScimAuthenticator(issuer(s), audience, static_tokens)``; ``issuer``
    may be None when ``jwks`` (the replica's shared :class:`RealmKeys`) is given."""

    def __init__(self, issuer: str | Sequence[str] | None, audience: str,
                 static_tokens: tuple[StaticToken, ...] = (),
                 jwks: RealmKeys | None = None) -> None:
        keys = jwks or RealmKeys.for_issuer(issuer or ())
        super().__init__(keys, ScimPolicy(audience, static_tokens))

    def scim(self, header: str | None) -> Subject:
        """The authenticator the SCIM blueprint calls: faults as SCIM errors."""
        try:
            return self.authenticate(header)
        except AuthFault as fault:
            raise as_scim_error(fault, self.policy.realm) from None


class ActorAuthenticator(BearerValidator[Caller]):
    """The API surface: ``ActorAuthenticator(issuer(s), clients)``."""

    def __init__(self, issuer: str | Sequence[str] | None, clients: Iterable[str],
                 jwks: RealmKeys | None = None) -> None:
        keys = jwks or RealmKeys.for_issuer(issuer or ())
        super().__init__(keys, PortalPolicy(frozenset(clients)))


class _ScimChallenge(scim_errors.Unauthorized):
    def __init__(self, fault: AuthFault, realm: str) -> None:
        super().__init__(f"Authorization failure: {fault.description}")
        self._headers = fault.headers(realm)

    def headers(self) -> dict[str, str]:
        return self._headers


def as_scim_error(fault: AuthFault, realm: str = "SCIM") -> scim_errors.ScimError:
    """A fault as the SCIM layer answers it: same status and headers, SCIM Error body."""
    if isinstance(fault, KeysUnavailable):
        return scim_errors.BackendUnavailable(fault.description,
                                              retry_after=fault.retry_after)
    return _ScimChallenge(fault, realm)
