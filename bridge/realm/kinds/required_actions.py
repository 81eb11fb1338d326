"""Required actions, keyed by alias: enabled, default for new users, priority, config.

Keycloak registers its own required actions in every realm; they are never deleted, only
set as configured. One the realm has not registered yet (a provider of the server) is
registered by a create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import required_actions as kc_actions
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig


class RequiredActions(KindBase):
    name = "required-action"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {a.alias: drop_none(a.model_dump(), ("alias",)) for a in config.requiredActions}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        return {a["alias"]: a for a in kc_actions.list_all(ctx.gateway, ctx.realm)}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        live = self.actual(ctx, {key}).get(key)
        if live is None:
            provider = next((p for p in kc_actions.unregistered(ctx.gateway, ctx.realm)
                             if p["providerId"] == key), None)
            kc_actions.register(ctx.gateway, ctx.realm, key,
                                desired.get("name") or (provider or {}).get("name") or key)
            live = self.actual(ctx, {key})[key]
        self.update(ctx, key, desired, live)

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = {**actual, **desired,
                "config": {**(actual.get("config") or {}), **(desired.get("config") or {})}}
        kc_actions.update(ctx.gateway, ctx.realm, key, body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("required actions are never deleted")
