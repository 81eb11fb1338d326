"""The realm's events configuration: listeners, login events (which, how long kept) and
admin events. One resource, only updated, never deleted.

Written through Keycloak's events config, which resets what a body leaves out, so an update
sends the live configuration with the configured fields laid over it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import events as kc_events
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig

KEY = "events"


class Events(KindBase):
    name = "events"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {} if config.events is None else {KEY: drop_none(config.events.model_dump())}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if KEY not in keys:
            return {}
        return {KEY: kc_events.get_config(ctx.gateway, ctx.realm)}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, kc_events.get_config(ctx.gateway, ctx.realm))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        kc_events.update_config(ctx.gateway, ctx.realm, {**actual, **desired})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("the events configuration is never deleted")
