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

Modules: ``faults`` (the three refusals and their answers), ``keys`` (:class:`RealmKeys`),
``policies`` (per surface), ``validator`` (:class:`BearerValidator` and the two surfaces'
authenticators). JOSE is done by joserfc, the library authlib delegates JOSE to since
authlib 1.6. Tokens are never logged.
"""

from bridge.auth.faults import (
    RETRY_AFTER_SECONDS,
    AuthFault,
    InvalidToken,
    KeysUnavailable,
    MissingToken,
)
from bridge.auth.keys import (
    FETCH_FAILURE_BACKOFF,
    JWKS_MAX_AGE,
    JWKS_REFETCH_INTERVAL,
    RealmKeys,
)
from bridge.auth.policies import (
    SCIM_ROLE,
    TENANT_CLAIM,
    Caller,
    PortalPolicy,
    ScimPolicy,
    StaticToken,
    TokenPolicy,
    parse_static_tokens,
    static_token_entry,
    token_digest,
)
from bridge.auth.validator import (
    ActorAuthenticator,
    BearerValidator,
    ScimAuthenticator,
    as_scim_error,
    bearer_token,
)

__all__ = [
    "FETCH_FAILURE_BACKOFF",
    "JWKS_MAX_AGE",
    "JWKS_REFETCH_INTERVAL",
    "RETRY_AFTER_SECONDS",
    "SCIM_ROLE",
    "TENANT_CLAIM",
    "ActorAuthenticator",
    "AuthFault",
    "BearerValidator",
    "Caller",
    "InvalidToken",
    "KeysUnavailable",
    "MissingToken",
    "PortalPolicy",
    "RealmKeys",
    "ScimAuthenticator",
    "ScimPolicy",
    "StaticToken",
    "TokenPolicy",
    "as_scim_error",
    "bearer_token",
    "parse_static_tokens",
    "static_token_entry",
    "token_digest",
]
