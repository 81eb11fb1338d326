"""Client scopes the realm must not have (``settings.removedClientScopes``), keyed by name.

Removing a client scope unlinks it from every client at once, Keycloak's own included:
``realm-management`` cannot be edited by anyone (Keycloak answers 403), so this is the only
way to take ``offline_access`` from it. Planned before clients, so no client the
configuration creates starts with a scope about to go. Never re-created: a name left out
of the list is left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import client_scopes as kc_scopes
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import RealmConfig

# The client scopes Keycloak 26 makes in every realm: one missing was removed.
KEYCLOAK_SCOPES = frozenset({
    "AuthnContextClassRef", "acr", "address", "basic", "email", "microprofile-jwt",
    "offline_access", "organization", "phone", "profile", "role_list", "roles",
    "saml_organization", "service_account", "web-origins",
})


def removed(ctx: RealmContext) -> list[str]:
    """Keycloak's own client scopes the live realm no longer has."""
    return sorted(KEYCLOAK_SCOPES - set(kc_scopes.ids_by_name(ctx.gateway, ctx.realm)))


class RemovedClientScopes(KindBase):
    name = "removed-client-scope"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {name: {"present": False}
                for name in config.settings.removedClientScopes or ()}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        ids = kc_scopes.ids_by_name(ctx.gateway, ctx.realm) if keys else {}
        return {name: {"present": name in ids, "_id": ids.get(name)} for name in keys}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        # Planned before the realm existed: Keycloak made the scope with the realm.
        self.update(ctx, key, desired, self.actual(ctx, {key})[key])

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        if not actual.get("present"):
            return
        # Unlinked from the realm's defaults first: new clients must not start with it.
        for kind in ("default", "optional"):
            if any(s["id"] == actual["_id"]
                   for s in kc_scopes.realm_defaults(ctx.gateway, ctx.realm, kind)):
                kc_scopes.remove_realm_default(ctx.gateway, ctx.realm, actual["_id"], kind)
        try:
            kc_scopes.delete(ctx.gateway, ctx.realm, actual["_id"])
        except NotFound:
            pass  # removed meanwhile

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("a removed client scope is never re-created")
