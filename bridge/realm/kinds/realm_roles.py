"""Realm roles, keyed by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import roles as kc_roles
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig

# Keycloak creates these in every realm.
BUILTIN = frozenset({"offline_access", "uma_authorization"})


class RealmRoles(KindBase):
    name = "realm-role"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        # Composites are a kind of their own (bridge.realm.kinds.composites).
        return {r.name: drop_none(r.model_dump(), ("name", "composites"))
                for r in config.roles}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return {r["name"]: r for r in kc_roles.list_all(ctx.gateway, ctx.realm)}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return key in BUILTIN or key.startswith("default-roles-")

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        kc_roles.create(ctx.gateway, ctx.realm, {"name": key, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        kc_roles.update(ctx.gateway, ctx.realm, key, {**actual, **desired, "name": key})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        kc_roles.delete(ctx.gateway, ctx.realm, key)
