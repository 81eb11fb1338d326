"""The one bearer-token validator of the bridge, for SCIM and for ``/api/v1``.

Shaped like authlib's ``ResourceProtector``: :class:`BearerValidator` reads the
``Authorization`` header, authenticates the token (a realm JWT checked by joserfc, or a
hashed static token) and hands the claims to the surface's policy, which returns the caller
or refuses. Every refusal is one of three faults, answered alike on every surface (README,
"Bearer tokens"):

======================================================  ==================================
fault                                                   answer
======================================================  ==================================
no bearer credentials (no header, other scheme, empty)  401, ``WWW-Authenticate: Bearer
                                                        realm="..."`` (RFC 6750 §3.1: no
                                                        error code)
a token that is not valid here (malformed, bad          401, ``WWW-Authenticate: Bearer
signature, unknown key, expired or not yet valid,       realm="...", error="invalid_token",
issuer not accepted, wrong audience/role/client,        error_description="..."``
unknown static token)
the realm's keys or issuer cannot be fetched            503, ``Retry-After``
======================================================  ==================================

Policies (per surface):

- SCIM (:class:`ScimPolicy`): a confidential client's token with audience the bridge
  client and its ``scim`` client role; a ``scim_tenant`` claim (a hardcoded-claim mapper on
  that client) binds the client to one tenant. Or a static bearer secret, for IdPs that
  support nothing else, configured only as its SHA-256 digest:
  ``BRIDGE_SCIM_STATIC_TOKENS="entra=<sha256 hex>[@tenant],okta=<...>"``.
- API (:class:`PortalPolicy`): an access token (``typ`` Bearer) of a person logged into one
  of the catalog's clients (``azp``), with a subject.

Keys and issuers (:class:`RealmKeys`): the JWKS is fetched from the realm at the URL the
bridge reaches Keycloak at (``KEYCLOAK_URL``), held at most ``JWKS_MAX_AGE`` seconds (so a
removed realm key stops verifying within that bound), and fetched again at once for a key
id it does not hold, at most once per ``JWKS_REFETCH_INTERVAL`` (so made-up key ids cannot
flood Keycloak). The accepted issuers are configured (``BRIDGE_TOKEN_ISSUERS``) or, when
none is, the ``issuer`` of the realm's OpenID discovery document, refreshed with the keys.

JOSE is done by joserfc, the library authlib delegates JOSE to since authlib 1.6. Tokens
are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import requests
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from scim import errors as scim_errors
from scim.backend import Subject

logger = logging.getLogger(__name__)

SCIM_ROLE = "scim"
TENANT_CLAIM = "scim_tenant"

JWKS_MAX_AGE = 300.0
"""Seconds a fetched JWKS (and a discovered issuer) is trusted; ``BRIDGE_JWKS_MAX_AGE``."""
JWKS_REFETCH_INTERVAL = 10.0
"""At most one fetch per this many seconds for key ids the cache does not hold (the default
of Keycloak's own adapters, ``min-time-between-jwks-requests``)."""
FETCH_FAILURE_BACKOFF = 2.0
"""After a failed fetch, callers get 503 at once for this long instead of each waiting on
an unreachable Keycloak."""
RETRY_AFTER_SECONDS = 5
CLOCK_LEEWAY_SECONDS = 5
"""Clock skew tolerated on ``exp``/``nbf``/``iat`` between Keycloak nodes and replicas."""
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
              "ES512"]  # the realm's asymmetric keys only: never "none" nor HMAC

P = TypeVar("P", covariant=True)


# -- faults ----------------------------------------------------------------------------------

class AuthFault(Exception):
    """A refused request; ``status`` and :meth:`headers` are its answer on every surface."""

    status = 401
    error: str | None = None

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description

    def headers(self, realm: str) -> dict[str, str]:
        params = [f'realm="{realm}"']
        if self.error:
            # RFC 6750 §3: error_description is printable ASCII without '"' and '\'.
            text = "".join(c for c in self.description if " " <= c <= "~" and c not in '"\\')
            params += [f'error="{self.error}"', f'error_description="{text}"']
        return {"WWW-Authenticate": "Bearer " + ", ".join(params)}


class MissingToken(AuthFault):
    """No bearer credentials at all (RFC 6750 §3.1: the challenge carries no error code)."""


class InvalidToken(AuthFault):
    """A bearer token was given and is not valid here."""

    error = "invalid_token"


class KeysUnavailable(AuthFault):
    """The realm's signing keys (or its discovery document) cannot be fetched: retry later."""

    status = 503

    def __init__(self, description: str, retry_after: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(description)
        self.retry_after = retry_after

    def headers(self, realm: str) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


# -- the realm's keys and issuers -----------------------------------------------------------

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


# -- policies ---------------------------------------------------------------------------------

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
        digest = hashlib.sha256(token.encode()).hexdigest()
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


# -- the validator ------------------------------------------------------------------------

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
