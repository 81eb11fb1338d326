"""Who calls ``/api/v1``: a user of the product, with a Keycloak access token of the realm.

Validated by the bridge's one bearer-token validator (:mod:`bridge.auth`, the same as SCIM's,
with the same answer per fault) under :class:`bridge.auth.PortalPolicy`: signature, issuer,
expiry, ``typ`` Bearer, and ``azp`` one of the clients people log into (the catalog's
client, ``portal``). Only the subject is taken from it: the actor's facts are read from its
Keycloak user by :meth:`bridge.invitations.AccessAdministration.actor_for_user`, so a profile
removed or an account deactivated a minute ago already counts. Tokens are never logged.
"""

from __future__ import annotations

from bridge.auth import ActorAuthenticator, AuthFault, Caller, KeysUnavailable

AuthUnavailable = KeysUnavailable
"""The realm's keys cannot be fetched: the caller may retry (503 with Retry-After)."""

__all__ = ["ActorAuthenticator", "AuthFault", "AuthUnavailable", "Caller"]
