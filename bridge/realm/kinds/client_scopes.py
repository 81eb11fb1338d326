"""Client scopes as resources, keyed by name, with their protocol mappers (``scope/mapper``);
the realm's default and optional scopes (what every new client starts with); and the client
scopes the realm must not have (``settings.removedClientScopes``).

A client's own default and optional scopes are fields of the client
(:mod:`bridge.realm.kinds.clients`). Keycloak's own scopes may be declared to manage some of
their fields or to add mappers to them; they are never deleted, and their own mappers are
never owned, so never pruned.

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
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.kinds.clients import _split
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange, diff

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
        _delete_scope(ctx, actual["_id"])

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("a removed client scope is never re-created")


def _delete_scope(ctx: RealmContext, scope_id: str) -> None:
    # Unlinked from the realm's defaults first: new clients must not start with it (and
    # Keycloak refuses to delete a scope that is a realm default).
    for kind in SCOPE_KINDS:
        if any(s["id"] == scope_id
               for s in kc_scopes.realm_defaults(ctx.gateway, ctx.realm, kind)):
            kc_scopes.remove_realm_default(ctx.gateway, ctx.realm, scope_id, kind)
    try:
        kc_scopes.delete(ctx.gateway, ctx.realm, scope_id)
    except NotFound:
        pass  # removed meanwhile


SCOPE_KINDS: tuple[kc_scopes.ScopeKind, ...] = ("default", "optional")
SCOPE_FIELDS = ("protocolMappers",)


class ClientScopes(KindBase):
    name = "client-scope"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        # Keycloak's own scopes are managed field by field: only what is named on them.
        return {s.name: drop_none(s.model_dump(exclude_unset=s.name in KEYCLOAK_SCOPES),
                                  ("name", *SCOPE_FIELDS))
                for s in config.clientScopes}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return {s["name"]: s for s in kc_scopes.list_all(ctx.gateway, ctx.realm)}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return key in KEYCLOAK_SCOPES

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        if key in KEYCLOAK_SCOPES:
            existing = self.actual(ctx, {key}).get(key)
            if existing is not None:
                # Planned before the realm existed: Keycloak made it with the realm.
                self.update(ctx, key, desired, existing)
                return
        kc_scopes.create(ctx.gateway, ctx.realm, {"name": key, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = {k: v for k, v in actual.items() if k not in SCOPE_FIELDS}
        body.update(desired)
        body["attributes"] = {**actual.get("attributes", {}), **desired.get("attributes", {})}
        kc_scopes.update(ctx.gateway, ctx.realm, actual["id"], body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        _delete_scope(ctx, actual["id"])


class ClientScopeMappers(KindBase):
    """Protocol mappers of client scopes, keyed ``scope/mapper``."""

    name = "client-scope-mapper"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{s.name}/{m.name}": drop_none(m.model_dump(), ("name",))
                for s in config.clientScopes for m in s.protocolMappers}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        scopes = {_split(k)[0] for k in keys}
        found: dict[str, dict[str, Any]] = {}
        # The listing carries every scope's mappers: one call for all of them.
        for scope in kc_scopes.list_all(ctx.gateway, ctx.realm):
            if scope["name"] in scopes:
                for mapper in scope.get("protocolMappers") or ():
                    found[f"{scope['name']}/{mapper['name']}"] = {**mapper,
                                                                  "_scope": scope["id"]}
        return found

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        scope, name = _split(key)
        scope_id = kc_scopes.ids_by_name(ctx.gateway, ctx.realm)[scope]
        kc_scopes.create_mapper(ctx.gateway, ctx.realm, scope_id, {"name": name, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = {k: v for k, v in actual.items() if not k.startswith("_")}
        body.update(desired)
        body["config"] = {**actual.get("config", {}), **desired.get("config", {})}
        kc_scopes.update_mapper(ctx.gateway, ctx.realm, actual["_scope"], actual["id"], body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        try:
            kc_scopes.delete_mapper(ctx.gateway, ctx.realm, actual["_scope"], actual["id"])
        except NotFound:
            pass  # went with its scope


class RealmDefaultScopes(KindBase):
    """The exact client scopes every new client of the realm starts with, keyed
    ``default`` and ``optional`` (``settings.defaultDefaultClientScopes`` and
    ``defaultOptionalClientScopes``). Left alone when the configuration names none."""

    name = "realm-default-scopes"
    FIELDS: Mapping[str, kc_scopes.ScopeKind] = {
        "defaultDefaultClientScopes": "default", "defaultOptionalClientScopes": "optional"}

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        settings = config.settings
        return {kind: {"scopes": sorted(getattr(settings, field))}
                for field, kind in self.FIELDS.items() if getattr(settings, field) is not None}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return {kind: {"scopes": sorted(s["name"] for s in kc_scopes.realm_defaults(
                    ctx.gateway, ctx.realm, kind))}
                for kind in SCOPE_KINDS if kind in keys}

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        return diff(desired, actual)

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, self.actual(ctx, {key})[key])

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        kind: kc_scopes.ScopeKind = "optional" if key == "optional" else "default"
        want, have = set(desired["scopes"]), set(actual.get("scopes", ()))
        ids = kc_scopes.ids_by_name(ctx.gateway, ctx.realm)
        # A scope is default or optional, never both: removals first.
        for name in sorted(have - want):
            kc_scopes.remove_realm_default(ctx.gateway, ctx.realm, ids[name], kind)
        for name in sorted(want - have):
            kc_scopes.add_realm_default(ctx.gateway, ctx.realm, ids[name], kind)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("the realm's default scopes are never deleted")


def export(ctx: RealmContext) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """The realm's own client scopes (not Keycloak's) with their mappers, and the realm's
    default and optional scopes as ``settings`` fields."""
    scopes = []
    for rep in sorted(kc_scopes.list_all(ctx.gateway, ctx.realm), key=lambda s: s["name"]):
        if rep["name"] in KEYCLOAK_SCOPES:
            continue
        scope: dict[str, Any] = {"name": rep["name"]}
        scope.update({k: rep[k] for k in ("description", "protocol", "attributes")
                      if rep.get(k) not in (None, "", {})})
        mappers = sorted(rep.get("protocolMappers") or (), key=lambda m: m["name"])
        if mappers:
            scope["protocolMappers"] = [
                {"name": m["name"], "protocol": m.get("protocol", "openid-connect"),
                 "protocolMapper": m["protocolMapper"], "config": m.get("config") or {}}
                for m in mappers]
        scopes.append(scope)
    defaults = {field: sorted(s["name"] for s in kc_scopes.realm_defaults(
                    ctx.gateway, ctx.realm, kind))
                for field, kind in RealmDefaultScopes.FIELDS.items()}
    return scopes, defaults
