"""Groups, keyed by path ("/bridge/status/client"), with attributes and role mappings.

Groups are fetched by path, never listed: a realm may hold thousands of groups that SCIM or
people created, and only the configured and owned paths matter to a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import groups as kc_groups
from bridge.keycloak import roles as kc_roles
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import Group, RealmConfig


def _flatten(groups: Iterable[Group], parent: str = "") -> Iterable[tuple[str, Group]]:
    for group in groups:
        path = f"{parent}/{group.name}"
        yield path, group
        yield from _flatten(group.subGroups, path)


class Groups(KindBase):
    name = "group"
    exact_fields = ("clientRoles",)

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        wanted: dict[str, dict[str, Any]] = {}
        for path, group in _flatten(config.groups):
            rep: dict[str, Any] = {
                "realmRoles": sorted(group.realmRoles),
                "clientRoles": {k: sorted(v) for k, v in group.clientRoles.items() if v},
            }
            if group.attributes is not None:
                rep["attributes"] = group.attributes
            wanted[path] = rep
        return wanted

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for path in sorted(keys):
            try:
                group = kc_groups.get_by_path(ctx.gateway, ctx.realm, path)
            except NotFound:
                continue
            mappings = kc_roles.mappings(ctx.gateway, ctx.realm, kc_roles.of_group(group["id"]))
            found[path] = {
                "_id": group["id"],
                "_subGroupCount": group.get("subGroupCount", 0),
                "attributes": group.get("attributes") or {},
                "realmRoles": list(mappings.realm),
                "clientRoles": {cid: list(names) for cid, names in mappings.clients.items()},
            }
        return found

    def delete_blocker(self, ctx: RealmContext, key: str, actual: Mapping[str, Any],
                       deleting: set[str]) -> str | None:
        """A managed group holding groups the configuration does not manage is kept."""
        if not actual.get("_subGroupCount"):
            return None
        children = kc_groups.all_children(ctx.gateway, ctx.realm, actual["_id"])
        foreign = [c["name"] for c in children if f"{key}/{c['name']}" not in deleting]
        if foreign:
            return (f"group {key} is kept: it holds groups the configuration does not "
                    f"manage ({', '.join(sorted(foreign)[:5])})")
        return None

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        parent, _, name = key.rpartition("/")
        body = {"name": name, "attributes": desired.get("attributes", {})}
        if parent:
            parent_id = kc_groups.get_by_path(ctx.gateway, ctx.realm, parent)["id"]
            group_id = kc_groups.create_child(ctx.gateway, ctx.realm, parent_id, body)
        else:
            group_id = kc_groups.create_top_level(ctx.gateway, ctx.realm, body)
        self._roles(ctx, group_id, desired, {"realmRoles": [], "clientRoles": {}})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        group_id = actual["_id"]
        if "attributes" in desired and desired["attributes"] != actual.get("attributes"):
            kc_groups.update(ctx.gateway, ctx.realm, group_id,
                             {"name": key.rsplit("/", 1)[-1],
                              "attributes": {**actual.get("attributes", {}),
                                             **desired["attributes"]}})
        self._roles(ctx, group_id, desired, actual)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        try:
            kc_groups.delete(ctx.gateway, ctx.realm, actual["_id"])
        except NotFound:
            pass  # went with its parent

    @staticmethod
    def _roles(ctx: RealmContext, group_id: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        holder = kc_roles.of_group(group_id)
        ctx.converge_mappings(holder, None, desired.get("realmRoles", []),
                              actual.get("realmRoles", []))
        clients = set(desired.get("clientRoles", {})) | set(actual.get("clientRoles", {}))
        for client_id in sorted(clients):
            ctx.converge_mappings(holder, client_id,
                                  desired.get("clientRoles", {}).get(client_id, []),
                                  actual.get("clientRoles", {}).get(client_id, []))
