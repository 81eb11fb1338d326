"""Groups, keyed by path ("/bridge/status/client"), with attributes and role mappings.

Groups are fetched by path, never listed: a realm may hold thousands of groups that SCIM or
people created, and only the configured and owned paths matter to a plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from bridge.keycloak.errors import NotFound
from bridge.realm.desired import Group, RealmConfig
from bridge.realm.kinds.base import KindBase, RealmContext


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
                group = ctx.gateway.get(f"{ctx.base}/group-by-path/{quote(path.lstrip('/'))}")
            except NotFound:
                continue
            mappings = ctx.gateway.get(f"{ctx.base}/groups/{group['id']}/role-mappings")
            found[path] = {
                "_id": group["id"],
                "_subGroupCount": group.get("subGroupCount", 0),
                "attributes": group.get("attributes") or {},
                "realmRoles": sorted(r["name"] for r in mappings.get("realmMappings", [])),
                "clientRoles": {
                    cid: sorted(r["name"] for r in m.get("mappings", []))
                    for cid, m in (mappings.get("clientMappings") or {}).items()
                },
            }
        return found

    def delete_blocker(self, ctx: RealmContext, key: str, actual: Mapping[str, Any],
                       deleting: set[str]) -> str | None:
        """A managed group holding groups the configuration does not manage is kept."""
        if not actual.get("_subGroupCount"):
            return None
        children = ctx.gateway.get(f"{ctx.base}/groups/{actual['_id']}/children",
                                   briefRepresentation="true", max=1000)
        foreign = [c["name"] for c in children if f"{key}/{c['name']}" not in deleting]
        if foreign:
            return (f"group {key} is kept: it holds groups the configuration does not "
                    f"manage ({', '.join(sorted(foreign)[:5])})")
        return None

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        parent, _, name = key.rpartition("/")
        body = {"name": name, "attributes": desired.get("attributes", {})}
        if parent:
            parent_id = ctx.gateway.get(
                f"{ctx.base}/group-by-path/{quote(parent.lstrip('/'))}")["id"]
            group_id = ctx.gateway.post(f"{ctx.base}/groups/{parent_id}/children", body)
        else:
            group_id = ctx.gateway.post(f"{ctx.base}/groups", body)
        self._roles(ctx, str(group_id), desired, {"realmRoles": [], "clientRoles": {}})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        group_id = actual["_id"]
        if "attributes" in desired and desired["attributes"] != actual.get("attributes"):
            ctx.gateway.put(f"{ctx.base}/groups/{group_id}",
                            {"name": key.rsplit("/", 1)[-1],
                             "attributes": {**actual.get("attributes", {}),
                                            **desired["attributes"]}})
        self._roles(ctx, group_id, desired, actual)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        try:
            ctx.gateway.delete(f"{ctx.base}/groups/{actual['_id']}")
        except NotFound:
            pass  # went with its parent

    @staticmethod
    def _roles(ctx: RealmContext, group_id: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        base = f"{ctx.base}/groups/{group_id}/role-mappings"
        want, have = set(desired.get("realmRoles", [])), set(actual.get("realmRoles", []))
        if want - have:
            ctx.gateway.post(f"{base}/realm", [ctx.role(None, n) for n in sorted(want - have)])
        if have - want:
            ctx.gateway.delete(f"{base}/realm", [ctx.role(None, n) for n in sorted(have - want)])
        clients = set(desired.get("clientRoles", {})) | set(actual.get("clientRoles", {}))
        for client_id in sorted(clients):
            want = set(desired.get("clientRoles", {}).get(client_id, []))
            have = set(actual.get("clientRoles", {}).get(client_id, []))
            path = f"{base}/clients/{ctx.client_uuid(client_id)}"
            if want - have:
                ctx.gateway.post(path, [ctx.role(client_id, n) for n in sorted(want - have)])
            if have - want:
                ctx.gateway.delete(path, [ctx.role(client_id, n) for n in sorted(have - want)])
