"""Keycloak's user profile: one resource per realm, updated in place, never deleted.

Keycloak silently drops user attributes its profile does not declare, unless the unmanaged
attribute policy keeps them; ``ADMIN_EDIT`` keeps them editable by administrators only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import user_profile as kc_user_profile
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import RealmConfig

KEY = "userProfile"


def _by_name(attributes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in attributes}


class UserProfile(KindBase):
    name = "user-profile"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        if config.userProfile is None:
            return {}
        rep: dict[str, Any] = {"attributes": _by_name(config.userProfile.attributes)}
        if config.userProfile.unmanagedAttributePolicy:
            rep["unmanagedAttributePolicy"] = config.userProfile.unmanagedAttributePolicy
        return {KEY: rep}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if KEY not in keys:
            return {}
        profile = kc_user_profile.get(ctx.gateway, ctx.realm)
        return {KEY: {**profile, "attributes": _by_name(profile.get("attributes", []))}}

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, self.actual(ctx, {KEY})[KEY])

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        attributes = {**actual.get("attributes", {}), **desired.get("attributes", {})}
        body = {**actual, **desired, "attributes": list(attributes.values())}
        kc_user_profile.update(ctx.gateway, ctx.realm, body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("the user profile is never deleted")
