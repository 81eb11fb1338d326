"""Realm components: key providers (by name), other components (by type, sub-type and
name), and LDAP user federation with its mappers.

Keycloak keeps a component's config as lists of strings, so configured values are written
that way. A secret value (private key, keystore password, bind credential) is never read
back: Keycloak shows a mask, which cannot be compared, so such a value is written on every
real change of its component and never reported as drift by itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.keycloak import components as kc_components
from bridge.keycloak import realm as kc_realm
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import ConfigValue, RealmConfig
from bridge.realm.plan import FieldChange, diff

NO_SUBTYPE = "-"


def config_lists(config: Mapping[str, ConfigValue]) -> dict[str, list[str]]:
    """Configured values as Keycloak stores them: every value a list of strings."""
    def text(value: str | int | bool) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    return {k: [text(x) for x in v] if isinstance(v, list) else [text(v)]
            for k, v in config.items()}


def _realm_id(ctx: RealmContext) -> str:
    return str(kc_realm.get(ctx.gateway, ctx.realm)["id"])


class _Components(KindBase):
    """Components of one ``provider_type`` whose parent is the realm, keyed by name."""

    provider_type = ""

    def key_of(self, rep: Mapping[str, Any]) -> str:
        return str(rep["name"])

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        return [c for c in diff(desired, actual)
                if not (c.path.startswith("config.")
                        and c.before == [kc_components.MASKED])]

    def _live(self, ctx: RealmContext, provider_type: str,
              parent: str | None = None) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for rep in kc_components.list_all(ctx.gateway, ctx.realm,
                                          provider_type=provider_type, parent=parent):
            found.setdefault(self.key_of(rep), rep)  # the first of two namesakes
        return found

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return self._live(ctx, self.provider_type) if keys else {}

    def _body(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> dict[str, Any]:
        return {"name": desired.get("name", key), "providerId": desired["providerId"],
                "providerType": self.provider_type, "parentId": _realm_id(ctx),
                "config": desired["config"]}

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        made = self.actual(ctx, {key}).get(key)
        if made is not None:
            # Planned before the realm existed: Keycloak made one of this name with it
            # (rsa-generated, its registration policies...). Updated, never duplicated.
            self.update(ctx, key, desired, made)
            return
        kc_components.create(ctx.gateway, ctx.realm, self._body(ctx, key, desired))

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        if desired["providerId"] != actual.get("providerId"):
            # A component's provider cannot change: the old one makes way for the new one.
            kc_components.delete(ctx.gateway, ctx.realm, actual["id"])
            self.create(ctx, key, desired)
            return
        body = {**actual, "config": {**(actual.get("config") or {}), **desired["config"]}}
        kc_components.update(ctx.gateway, ctx.realm, actual["id"], body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        kc_components.delete(ctx.gateway, ctx.realm, actual["id"])


class KeyProviders(_Components):
    """The realm's signing and encryption keys (``rsa-generated``, ``hmac-generated``...)."""

    name = "key-provider"
    provider_type = kc_components.KEY_PROVIDER

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {k.name: {"providerId": k.providerId, "config": config_lists(k.config)}
                for k in config.keys}


def component_key(provider_type: str, sub_type: str | None, name: str) -> str:
    return f"{provider_type}/{sub_type or NO_SUBTYPE}/{name}"


class Components(_Components):
    """Any other component of the realm (client registration policies...), keyed
    ``<providerType>/<subType or ->/<name>``."""

    name = "component"

    def key_of(self, rep: Mapping[str, Any]) -> str:
        return component_key(rep["providerType"], rep.get("subType"), rep["name"])

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {component_key(c.providerType, c.subType, c.name): {
            "name": c.name, "providerId": c.providerId, "config": config_lists(c.config)}
            for c in config.components}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for provider_type in sorted({k.split("/", 1)[0] for k in keys}):
            found.update(self._live(ctx, provider_type))
        return found

    def _body(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> dict[str, Any]:
        provider_type, sub_type, _ = key.split("/", 2)
        body = {**super()._body(ctx, key, desired), "providerType": provider_type}
        if sub_type != NO_SUBTYPE:
            body["subType"] = sub_type
        return body


class UserFederation(_Components):
    """LDAP user federation providers, by name. Nothing here syncs users or tests the
    connection: that is the operator's call, in the admin console or its API. A provider
    is never deleted by an apply (its imported users would go with it)."""

    name = "user-federation"
    provider_type = kc_components.USER_STORAGE

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f.name: {"providerId": f.providerId, "config": config_lists(f.config)}
                for f in config.userFederation}

    def delete_blocker(self, ctx: RealmContext, key: str, actual: Mapping[str, Any],
                       deleting: set[str]) -> str | None:
        return (f"user federation {key} is kept: removing it deletes the users it imported "
                "(remove it in the admin console if that is meant)")


class UserFederationMappers(_Components):
    """The mappers of the configured LDAP providers, keyed ``<provider>/<mapper>``.
    Keycloak makes default mappers with a new provider: those not configured are left as
    they are, and a configured one of the same name is updated, not duplicated."""

    name = "user-federation-mapper"
    provider_type = kc_components.LDAP_MAPPER

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{f.name}/{m.name}": {"providerId": m.providerId,
                                       "config": config_lists(m.config)}
                for f in config.userFederation for m in f.mappers}

    def _providers(self, ctx: RealmContext) -> dict[str, str]:
        return {name: rep["id"] for name, rep in
                self._live(ctx, kc_components.USER_STORAGE).items()}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        providers = self._providers(ctx)
        found: dict[str, dict[str, Any]] = {}
        for provider in sorted({k.split("/", 1)[0] for k in keys}):
            if provider not in providers:
                continue
            for name, rep in self._live(ctx, self.provider_type,
                                        parent=providers[provider]).items():
                found[f"{provider}/{name}"] = rep
        return found

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        provider, _, name = key.partition("/")
        parent = self._providers(ctx)[provider]
        made = self._live(ctx, self.provider_type, parent=parent).get(name)
        if made is not None:  # one of the provider's default mappers
            self.update(ctx, key, desired, made)
            return
        kc_components.create(ctx.gateway, ctx.realm, {
            "name": name, "providerId": desired["providerId"],
            "providerType": self.provider_type, "parentId": parent,
            "config": desired["config"]})
