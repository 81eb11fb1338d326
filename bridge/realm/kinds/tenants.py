"""A catalog's seed tenants, keyed by alias: created as organizations when absent, never
updated nor deleted by a plan (at runtime tenants are data: a rename, a cap change or a
suspension made through the API or the CLI is never undone by an apply, and removing a
seed from the catalog never deletes a tenant that users belong to)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import organizations as kc_orgs
from bridge.keycloak import realm as kc_realm
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange
from bridge.tenants.model import TENANT_KEY


class SeedTenants(KindBase):
    name = "tenant"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {t.alias: t.representation for t in config._seed_tenants}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        if not kc_realm.get(ctx.gateway, ctx.realm).get("organizationsEnabled"):
            return {}  # organizations off (this apply turns them on): none exists yet
        found: dict[str, dict[str, Any]] = {}
        for alias in sorted(keys):
            for rep in kc_orgs.page(ctx.gateway, ctx.realm, q=f"{TENANT_KEY}:{alias}",
                                    max=10):
                if rep.get("alias") == alias:
                    found[alias] = rep
                    break
        return found

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        return []  # present: runtime data, never overwritten

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return True  # never deleted by a plan

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        kc_orgs.create(ctx.gateway, ctx.realm, dict(desired))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        raise AssertionError("seed tenants are never updated by a plan")

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        raise AssertionError("seed tenants are never deleted by a plan")
