"""Role composites, the realm's default roles and its default groups: memberships, one key
per member, so that only the members a configuration named are ever removed.

A composite role's members are keyed ``<role> > <member>``; the default roles (the members
of the realm's ``default-roles-<realm>`` composite) by ``<member>``; default groups by path.
A role is written ``name`` for a realm role and ``clientId/name`` for a client's. A member
added by hand is not owned, so it is kept; a managed member removed by hand is planned as a
create and put back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import clients as kc_clients
from bridge.keycloak import groups as kc_groups
from bridge.keycloak import realm as kc_realm
from bridge.keycloak import roles as kc_roles
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import RealmConfig, RoleSet

SEPARATOR = " > "

RoleRef = tuple[str | None, str]  # (clientId or None for the realm, role name)


def ref(role: RoleRef) -> str:
    client_id, name = role
    return name if client_id is None else f"{client_id}/{name}"


def members(roles: RoleSet) -> list[RoleRef]:
    return [(None, n) for n in roles.realm] + [
        (client_id, n) for client_id, names in roles.clients.items() for n in names]


def _parse(text: str, client_ids: Iterable[str]) -> RoleRef:
    """``clientId/name`` when the part before the first ``/`` is a client of the realm,
    else a realm role's name."""
    client_id, slash, name = text.partition("/")
    if slash and client_id in set(client_ids):
        return client_id, name
    return None, text


class _Memberships(KindBase):
    """Members of role composites, read with one call per composite."""

    def _client_ids(self, ctx: RealmContext) -> dict[str, str]:
        """Client internal id → clientId."""
        return {c["id"]: c["clientId"] for c in kc_clients.list_all(ctx.gateway, ctx.realm)}

    def _composite_members(self, ctx: RealmContext, role_id: str,
                           client_ids: Mapping[str, str]) -> dict[str, RoleRef]:
        found = {}
        for member in kc_roles.composites(ctx.gateway, ctx.realm, role_id):
            role: RoleRef = ((client_ids.get(member["containerId"], member["containerId"]),
                              member["name"]) if member.get("clientRole")
                             else (None, member["name"]))
            found[ref(role)] = role
        return found

    def _add(self, ctx: RealmContext, owner_id: str, member: RoleRef) -> None:
        kc_roles.add_composites(ctx.gateway, ctx.realm, owner_id, [ctx.role(*member)])

    def _remove(self, ctx: RealmContext, owner_id: str, member: RoleRef) -> None:
        try:
            kc_roles.remove_composites(ctx.gateway, ctx.realm, owner_id,
                                       [ctx.role(*member)])
        except NotFound:
            pass  # the member or the composite went already

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        raise AssertionError("a membership is only added or removed")


class RoleComposites(_Memberships):
    name = "role-composite"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        owners: list[tuple[RoleRef, RoleSet]] = [
            ((None, r.name), r.composites) for r in config.roles if r.composites]
        owners += [((c.clientId, r.name), r.composites)
                   for c in config.clients for r in c.roles if r.composites]
        return {f"{ref(owner)}{SEPARATOR}{ref(member)}": {"role": list(owner),
                                                         "member": list(member)}
                for owner, roles in owners for member in members(roles)}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        client_ids = self._client_ids(ctx)
        owners = {_parse(k.split(SEPARATOR, 1)[0], client_ids.values()) for k in keys}
        found: dict[str, dict[str, Any]] = {}
        for owner in sorted(owners, key=ref):
            try:
                owner_id = ctx.role(*owner)["id"]
            except NotFound:
                continue
            for text, member in self._composite_members(ctx, owner_id, client_ids).items():
                found[f"{ref(owner)}{SEPARATOR}{text}"] = {
                    "role": list(owner), "member": list(member), "_owner": owner_id}
        return found

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        owner = ctx.role(*desired["role"])["id"]
        self._add(ctx, owner, tuple(desired["member"]))  # type: ignore[arg-type]

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        self._remove(ctx, actual["_owner"], tuple(actual["member"]))  # type: ignore[arg-type]


class DefaultRoles(_Memberships):
    """The members of ``default-roles-<realm>``: every user of the realm holds them."""

    name = "default-role"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        if config.defaultRoles is None:
            return {}
        return {ref(m): {"member": list(m)} for m in members(config.defaultRoles)}

    @staticmethod
    def _owner(ctx: RealmContext) -> str:
        return str(kc_realm.get(ctx.gateway, ctx.realm)["defaultRole"]["id"])

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        owner = self._owner(ctx)
        return {text: {"member": list(member)} for text, member in
                self._composite_members(ctx, owner, self._client_ids(ctx)).items()}

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self._add(ctx, self._owner(ctx), tuple(desired["member"]))  # type: ignore[arg-type]

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        self._remove(ctx, self._owner(ctx), tuple(actual["member"]))  # type: ignore[arg-type]


class DefaultGroups(KindBase):
    """Groups every new user joins, by path."""

    name = "default-group"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {path: {} for path in config.defaultGroups}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        return {g["path"]: {"_id": g["id"]}
                for g in kc_groups.default_groups(ctx.gateway, ctx.realm)}

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        group = kc_groups.get_by_path(ctx.gateway, ctx.realm, key)
        kc_groups.add_default(ctx.gateway, ctx.realm, group["id"])

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        raise AssertionError("a default group is only added or removed")

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        try:
            kc_groups.remove_default(ctx.gateway, ctx.realm, actual["_id"])
        except NotFound:
            pass  # the group went already
