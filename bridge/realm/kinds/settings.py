"""Realm settings: one resource, never created or deleted by a plan, only updated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import realm as kc_realm
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange, diff

KEY = "settings"
# Keycloak never returns a stored SMTP password; it shows this mask instead.
MASKED = "**********"
# Settings of the configuration that are not fields of the realm representation Keycloak
# takes in an update; each is planned by its own kind (bridge.realm.kinds.client_scopes).
PLANNED_ELSEWHERE = ("removedClientScopes", "defaultDefaultClientScopes",
                     "defaultOptionalClientScopes")


class Settings(KindBase):
    name = "realm"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {KEY: drop_none(config.settings.model_dump(), PLANNED_ELSEWHERE)}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return {KEY: kc_realm.get(ctx.gateway, ctx.realm)}

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        changes = diff(desired, actual)
        # A password Keycloak masks cannot be compared; it is written on every real change.
        return [c for c in changes
                if not (c.path == "smtpServer.password" and c.before == MASKED)]

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, kc_realm.get(ctx.gateway, ctx.realm))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = dict(desired)
        if "smtpServer" in desired:
            body["smtpServer"] = {**(actual.get("smtpServer") or {}), **desired["smtpServer"]}
        kc_realm.update(ctx.gateway, ctx.realm, body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("realm settings are never deleted")
