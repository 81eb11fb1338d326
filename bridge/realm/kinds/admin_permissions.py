"""Fine-Grained Admin Permissions (v2) granted to clients' service accounts, keyed by the
permission's name (unique in the realm).

Each permission is granted by one client policy of its own, named
:func:`policy_name`, naming the client whose service account gets it. Keycloak keeps both in
its ``admin-permissions`` client, which exists only once the realm's
``adminPermissionsEnabled`` is on: the realm settings kind turns it on first, so this kind
comes after it (and a plan against a realm without it sees nothing to compare: everything
is a create).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import admin_permissions as kc_perms
from bridge.keycloak import clients as kc_clients
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig


def policy_name(permission: str) -> str:
    """The client policy that grants ``permission`` (policies and permissions share one
    namespace in Keycloak, hence a name of its own)."""
    return f"{permission} (grantee)"


def _server(ctx: RealmContext) -> str:
    found = kc_perms.server(ctx.gateway, ctx.realm)
    if found is None:
        raise NotFound(f"realm {ctx.realm} has no {kc_perms.SERVER_CLIENT} client: turn on "
                       "settings.adminPermissionsEnabled")
    return found


class AdminPermissions(KindBase):
    name = "admin-permission"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {
            p.name: drop_none({"client": c.clientId, "description": p.description,
                               "resourceType": p.resourceType, "scopes": sorted(p.scopes),
                               "resources": sorted(p.resources)})
            for c in config.clients for p in c.serviceAccountPermissions
        }

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return self.read(ctx, keys)

    def read(self, ctx: RealmContext, keys: set[str] | None = None
             ) -> dict[str, dict[str, Any]]:
        """What each permission named in ``keys`` (None: every one) grants, read back: its
        resources' and its grantees' clientIds, its scopes' names. 2 calls, then 1 for the
        clients and 3 per permission read."""
        server = kc_perms.server(ctx.gateway, ctx.realm)
        if server is None:
            return {}
        wanted = [p for p in kc_perms.permissions(ctx.gateway, ctx.realm, server)
                  if keys is None or p["name"] in keys]
        if not wanted:
            return {}
        grantees = {p["id"]: json.loads((p.get("config") or {}).get("clients") or "[]")
                    for p in kc_perms.client_policies(ctx.gateway, ctx.realm, server)}
        names = {c["id"]: c["clientId"] for c in kc_clients.list_all(ctx.gateway, ctx.realm)}
        found: dict[str, dict[str, Any]] = {}
        for permission in wanted:
            pid = permission["id"]
            policies = kc_perms.associated_policies(ctx.gateway, ctx.realm, server, pid)
            holders = sorted(
                names.get(uuid, uuid) for p in policies for uuid in grantees.get(p["id"], [])
            ) + sorted(f"policy:{p['name']}" for p in policies if p["id"] not in grantees)
            found[permission["name"]] = {
                "_id": pid, "_policies": [p["id"] for p in policies],
                "client": ",".join(holders) or None,
                "description": permission.get("description"),
                "resourceType": permission.get("resourceType"),
                "scopes": sorted(kc_perms.scopes(ctx.gateway, ctx.realm, server, pid)),
                "resources": sorted(r.get("displayName") or r["name"] for r in
                                    kc_perms.resources(ctx.gateway, ctx.realm, server, pid)),
            }
        return found

    def _body(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
              policy: str) -> dict[str, Any]:
        return drop_none({
            "name": key, "description": desired.get("description"),
            "resourceType": desired["resourceType"], "scopes": list(desired["scopes"]),
            "resources": [ctx.client_uuid(c) for c in desired["resources"]],
            "policies": [policy],
        })

    def _grantee_policy(self, ctx: RealmContext, server: str, key: str, client_id: str,
                        existing: str | None = None) -> str:
        """The permission's own client policy, made or corrected to name ``client_id``
        (found by name if an apply cut short left one behind)."""
        name = policy_name(key)
        if existing is None:
            existing = next((p["id"] for p in kc_perms.client_policies(
                ctx.gateway, ctx.realm, server) if p["name"] == name), None)
        grantee = [ctx.client_uuid(client_id)]
        if existing is None:
            return kc_perms.create_client_policy(ctx.gateway, ctx.realm, server, name, grantee)
        kc_perms.update_client_policy(ctx.gateway, ctx.realm, server, existing, name, grantee)
        return existing

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        server = _server(ctx)
        policy = self._grantee_policy(ctx, server, key, desired["client"])
        kc_perms.create_permission(ctx.gateway, ctx.realm, server,
                                   self._body(ctx, key, desired, policy))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        server = _server(ctx)
        policy = self._grantee_policy(ctx, server, key, desired["client"])
        # The whole permission is written: any other policy that granted it (not the
        # configuration's, so left in place) no longer does.
        kc_perms.update_permission(ctx.gateway, ctx.realm, server, actual["_id"],
                                   self._body(ctx, key, desired, policy))

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        server = _server(ctx)
        own = [p["id"] for p in kc_perms.client_policies(ctx.gateway, ctx.realm, server)
               if p["name"] == policy_name(key)]
        for policy in (actual["_id"], *own):
            try:
                kc_perms.delete_policy(ctx.gateway, ctx.realm, server, policy)
            except NotFound:
                pass  # Keycloak drops a permission whose last policy goes
