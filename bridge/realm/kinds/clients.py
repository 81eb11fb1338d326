"""Clients, keyed by clientId, and their sub-resources: roles, protocol mappers and the
exact role set of their service account (each planned as its own kind)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import client_scopes as kc_scopes
from bridge.keycloak import clients as kc_clients
from bridge.keycloak import roles as kc_roles
from bridge.keycloak.client import AdminGateway
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange, diff

BUILTIN_CLIENTS = frozenset({
    "account", "account-console", "admin-cli", "broker", "realm-management",
    "security-admin-console",
    # Made by Keycloak when the realm's adminPermissionsEnabled is turned on; it holds the
    # admin permissions (bridge.realm.kinds.admin_permissions).
    "admin-permissions",
})
SUB_RESOURCES = ("roles", "protocolMappers", "serviceAccountRoles", "serviceAccountPermissions",
                 "authenticationFlowBindingOverrides")
SCOPE_LISTS: dict[str, kc_scopes.ScopeKind] = {"defaultClientScopes": "default",
                                               "optionalClientScopes": "optional"}


def _split(key: str) -> tuple[str, str]:
    client_id, _, name = key.partition("/")
    return client_id, name


def _per_client(ctx: RealmContext, keys: set[str],
                read: Callable[[AdminGateway, str, str], list[dict[str, Any]]]
                ) -> dict[str, dict[str, Any]]:
    """``clientId/name`` → representation, for a sub-resource of the clients ``keys`` name
    (``read(gateway, realm, client)``: one call per client; a client that does not exist
    has none)."""
    found: dict[str, dict[str, Any]] = {}
    for client_id in sorted({_split(k)[0] for k in keys}):
        try:
            uuid = ctx.client_uuid(client_id)
        except NotFound:
            continue
        items = read(ctx.gateway, ctx.realm, uuid)
        found.update({f"{client_id}/{item['name']}": item for item in items})
    return found


class Clients(KindBase):
    name = "client"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        # Keycloak's own clients are hardened field by field: only what the configuration
        # names on them is managed, never the model's defaults.
        return {c.clientId: drop_none(c.model_dump(exclude_unset=c.clientId in BUILTIN_CLIENTS),
                                      ("clientId", *SUB_RESOURCES))
                for c in config.clients}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return {c["clientId"]: c for c in kc_clients.list_all(ctx.gateway, ctx.realm)}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return key in BUILTIN_CLIENTS

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        existing = kc_clients.find(ctx.gateway, ctx.realm, key) if key in BUILTIN_CLIENTS else None
        if existing is not None:
            # Planned before the realm existed: Keycloak made the client with the realm.
            self.update(ctx, key, desired, existing)
            return
        kc_clients.create(ctx.gateway, ctx.realm, {"clientId": key, **desired})
        ctx.forget_client(key)

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = {k: v for k, v in actual.items() if k != "protocolMappers"}
        body.update(desired)
        body["attributes"] = {**actual.get("attributes", {}), **desired.get("attributes", {})}
        kc_clients.update(ctx.gateway, ctx.realm, actual["id"], body)
        # Keycloak ignores scope lists in a client update; they have endpoints of their own.
        for field, kind in SCOPE_LISTS.items():
            if field in desired:
                self._scopes(ctx, actual["id"], kind, desired[field], actual.get(field, []))

    @staticmethod
    def _scopes(ctx: RealmContext, client_uuid: str, kind: kc_scopes.ScopeKind,
                want: list[str], have: list[str]) -> None:
        if set(want) == set(have):
            return
        ids = kc_scopes.ids_by_name(ctx.gateway, ctx.realm)
        for name in sorted(set(have) - set(want)):
            kc_scopes.remove_from_client(ctx.gateway, ctx.realm, client_uuid, ids[name], kind)
        for name in sorted(set(want) - set(have)):
            kc_scopes.add_to_client(ctx.gateway, ctx.realm, client_uuid, ids[name], kind)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        kc_clients.delete(ctx.gateway, ctx.realm, actual["id"])
        ctx.forget_client(key)


class ClientRoles(KindBase):
    name = "client-role"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{c.clientId}/{r.name}": drop_none(r.model_dump(), ("name", "composites"))
                for c in config.clients for r in c.roles}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return _per_client(ctx, keys, lambda gw, realm, client: kc_roles.list_all(
            gw, realm, client=client))

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return _split(key)[0] in BUILTIN_CLIENTS

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        kc_roles.create(ctx.gateway, ctx.realm, {"name": name, **desired},
                        client=ctx.client_uuid(client_id))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        kc_roles.update(ctx.gateway, ctx.realm, name, {**actual, **desired, "name": name},
                        client=ctx.client_uuid(client_id))

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        try:
            kc_roles.delete(ctx.gateway, ctx.realm, name, client=ctx.client_uuid(client_id))
        except NotFound:
            pass  # went with its client


class ProtocolMappers(KindBase):
    name = "mapper"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{c.clientId}/{m.name}": drop_none(m.model_dump(), ("name",))
                for c in config.clients for m in c.protocolMappers}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return _per_client(ctx, keys, kc_clients.mappers)

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        kc_clients.create_mapper(ctx.gateway, ctx.realm, ctx.client_uuid(client_id),
                                 {"name": name, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        client_id, _ = _split(key)
        body = {**actual, **desired,
                "config": {**actual.get("config", {}), **desired.get("config", {})}}
        kc_clients.update_mapper(ctx.gateway, ctx.realm, ctx.client_uuid(client_id),
                                 actual["id"], body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        client_id, _ = _split(key)
        try:
            kc_clients.delete_mapper(ctx.gateway, ctx.realm, ctx.client_uuid(client_id),
                                     actual["id"])
        except NotFound:
            pass


class ServiceAccountRoles(KindBase):
    """The exact roles of a client's service account. Anything else it holds, including the
    realm's default roles, is removed: a service account gets no implicit rights."""

    name = "service-account-roles"
    exact_fields = ("clients",)

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {
            c.clientId: {
                "realm": sorted(c.serviceAccountRoles.realm),
                "clients": {k: sorted(v) for k, v in c.serviceAccountRoles.clients.items()
                            if v},
            }
            for c in config.clients if c.serviceAccountRoles is not None
        }

    @staticmethod
    def _account(ctx: RealmContext, client_id: str) -> dict[str, Any]:
        """The service account's user id and roles; raises NotFound without one."""
        user = kc_clients.service_account_user(ctx.gateway, ctx.realm,
                                               ctx.client_uuid(client_id))
        mappings = kc_roles.mappings(ctx.gateway, ctx.realm, kc_roles.of_user(user["id"]))
        return {"_user": user["id"], "realm": list(mappings.realm),
                "clients": {cid: list(names) for cid, names in mappings.clients.items()}}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for client_id in sorted(keys):
            try:
                found[client_id] = self._account(ctx, client_id)
            except NotFound:
                continue
        return found

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        return diff(desired, actual, exact=self.exact_fields)

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, self._account(ctx, key))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        holder = kc_roles.of_user(actual["_user"])
        ctx.converge_mappings(holder, None, desired.get("realm", []), actual.get("realm", []))
        clients = set(desired.get("clients", {})) | set(actual.get("clients", {}))
        for client_id in sorted(clients):
            ctx.converge_mappings(holder, client_id,
                                  desired.get("clients", {}).get(client_id, []),
                                  actual.get("clients", {}).get(client_id, []))

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        self.update(ctx, key, {"realm": [], "clients": {}}, actual)
