"""Clients, keyed by clientId, and their sub-resources: roles, protocol mappers and the
exact role set of their service account (each planned as its own kind)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak.errors import NotFound
from bridge.realm.desired import RealmConfig
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.plan import FieldChange, diff

BUILTIN_CLIENTS = frozenset({
    "account", "account-console", "admin-cli", "broker", "realm-management",
    "security-admin-console",
})
SUB_RESOURCES = ("roles", "protocolMappers", "serviceAccountRoles")
SCOPE_LISTS = {"defaultClientScopes": "default-client-scopes",
               "optionalClientScopes": "optional-client-scopes"}


def _split(key: str) -> tuple[str, str]:
    client_id, _, name = key.partition("/")
    return client_id, name


def _per_client(ctx: RealmContext, keys: set[str], endpoint: str,
                **params: Any) -> dict[str, dict[str, Any]]:
    """``clientId/name`` → representation, for a sub-resource of the clients ``keys`` name
    (one call per client; a client that does not exist has none)."""
    found: dict[str, dict[str, Any]] = {}
    for client_id in sorted({_split(k)[0] for k in keys}):
        try:
            uuid = ctx.client_uuid(client_id)
        except NotFound:
            continue
        items = ctx.gateway.get(f"{ctx.base}/clients/{uuid}/{endpoint}", **params)
        found.update({f"{client_id}/{item['name']}": item for item in items})
    return found


class Clients(KindBase):
    name = "client"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {c.clientId: drop_none(c.model_dump(), ("clientId", *SUB_RESOURCES))
                for c in config.clients}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        clients = ctx.gateway.get(f"{ctx.base}/clients", max=-1)
        return {c["clientId"]: c for c in clients}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return key in BUILTIN_CLIENTS

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        ctx.gateway.post(f"{ctx.base}/clients", {"clientId": key, **desired})
        ctx.forget_client(key)

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = {k: v for k, v in actual.items() if k != "protocolMappers"}
        body.update(desired)
        body["attributes"] = {**actual.get("attributes", {}), **desired.get("attributes", {})}
        ctx.gateway.put(f"{ctx.base}/clients/{actual['id']}", body)
        # Keycloak ignores scope lists in a client update; they have endpoints of their own.
        for field, endpoint in SCOPE_LISTS.items():
            if field in desired:
                self._scopes(ctx, actual["id"], endpoint, desired[field], actual.get(field, []))

    @staticmethod
    def _scopes(ctx: RealmContext, client_uuid: str, endpoint: str, want: list[str],
                have: list[str]) -> None:
        if set(want) == set(have):
            return
        ids = {s["name"]: s["id"] for s in ctx.gateway.get(f"{ctx.base}/client-scopes")}
        base = f"{ctx.base}/clients/{client_uuid}/{endpoint}"
        for name in sorted(set(have) - set(want)):
            ctx.gateway.delete(f"{base}/{ids[name]}")
        for name in sorted(set(want) - set(have)):
            ctx.gateway.put(f"{base}/{ids[name]}")

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        ctx.gateway.delete(f"{ctx.base}/clients/{actual['id']}")
        ctx.forget_client(key)


class ClientRoles(KindBase):
    name = "client-role"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{c.clientId}/{r.name}": drop_none(r.model_dump(), ("name",))
                for c in config.clients for r in c.roles}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return _per_client(ctx, keys, "roles", briefRepresentation="false")

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return _split(key)[0] in BUILTIN_CLIENTS

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        ctx.gateway.post(f"{ctx.base}/clients/{ctx.client_uuid(client_id)}/roles",
                         {"name": name, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        ctx.gateway.put(f"{ctx.base}/clients/{ctx.client_uuid(client_id)}/roles/{name}",
                        {**actual, **desired, "name": name})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        try:
            ctx.gateway.delete(f"{ctx.base}/clients/{ctx.client_uuid(client_id)}/roles/{name}")
        except NotFound:
            pass  # went with its client


class ProtocolMappers(KindBase):
    name = "mapper"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{c.clientId}/{m.name}": drop_none(m.model_dump(), ("name",))
                for c in config.clients for m in c.protocolMappers}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return _per_client(ctx, keys, "protocol-mappers/models")

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        client_id, name = _split(key)
        ctx.gateway.post(
            f"{ctx.base}/clients/{ctx.client_uuid(client_id)}/protocol-mappers/models",
            {"name": name, **desired},
        )

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        client_id, _ = _split(key)
        body = {**actual, **desired,
                "config": {**actual.get("config", {}), **desired.get("config", {})}}
        ctx.gateway.put(f"{ctx.base}/clients/{ctx.client_uuid(client_id)}/protocol-mappers/"
                        f"models/{actual['id']}", body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        client_id, _ = _split(key)
        try:
            ctx.gateway.delete(f"{ctx.base}/clients/{ctx.client_uuid(client_id)}/"
                               f"protocol-mappers/models/{actual['id']}")
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

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for client_id in sorted(keys):
            try:
                uuid = ctx.client_uuid(client_id)
                user = ctx.gateway.get(f"{ctx.base}/clients/{uuid}/service-account-user")
            except NotFound:
                continue
            mappings = ctx.gateway.get(f"{ctx.base}/users/{user['id']}/role-mappings")
            found[client_id] = {
                "_user": user["id"],
                "realm": sorted(r["name"] for r in mappings.get("realmMappings", [])),
                "clients": {
                    cid: sorted(r["name"] for r in m.get("mappings", []))
                    for cid, m in (mappings.get("clientMappings") or {}).items()
                },
            }
        return found

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        return diff(desired, actual, exact=self.exact_fields)

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        uuid = ctx.client_uuid(key)
        user = ctx.gateway.get(f"{ctx.base}/clients/{uuid}/service-account-user")
        mappings = ctx.gateway.get(f"{ctx.base}/users/{user['id']}/role-mappings")
        actual = {
            "_user": user["id"],
            "realm": [r["name"] for r in mappings.get("realmMappings", [])],
            "clients": {cid: [r["name"] for r in m.get("mappings", [])]
                        for cid, m in (mappings.get("clientMappings") or {}).items()},
        }
        self.update(ctx, key, desired, actual)

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        users = f"{ctx.base}/users/{actual['_user']}/role-mappings"
        self._converge(ctx, f"{users}/realm", None, desired.get("realm", []),
                       actual.get("realm", []))
        clients = set(desired.get("clients", {})) | set(actual.get("clients", {}))
        for client_id in sorted(clients):
            self._converge(ctx, f"{users}/clients/{ctx.client_uuid(client_id)}", client_id,
                           desired.get("clients", {}).get(client_id, []),
                           actual.get("clients", {}).get(client_id, []))

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        self.update(ctx, key, {"realm": [], "clients": {}}, actual)

    @staticmethod
    def _converge(ctx: RealmContext, path: str, client_id: str | None, want: list[str],
                  have: list[str]) -> None:
        add = [ctx.role(client_id, n) for n in sorted(set(want) - set(have))]
        remove = [ctx.role(client_id, n) for n in sorted(set(have) - set(want))]
        if add:
            ctx.gateway.post(path, add)
        if remove:
            ctx.gateway.delete(path, remove)
