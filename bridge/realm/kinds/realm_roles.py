"""Realm roles, keyed by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.realm.desired import RealmConfig
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none

# Keycloak creates these in every realm.
BUILTIN = frozenset({"offline_access", "uma_authorization"})


class RealmRoles(KindBase):
    name = "realm-role"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {r.name: drop_none(r.model_dump(), ("name",)) for r in config.roles}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        roles = ctx.gateway.get(f"{ctx.base}/roles", briefRepresentation="false", max=-1)
        return {r["name"]: r for r in roles}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return key in BUILTIN or key.startswith("default-roles-")

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        ctx.gateway.post(f"{ctx.base}/roles", {"name": key, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        ctx.gateway.put(f"{ctx.base}/roles/{key}", {**actual, **desired, "name": key})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        ctx.gateway.delete(f"{ctx.base}/roles/{key}")
