"""Identity providers, keyed by alias, and their mappers (``alias/mapper``).

Staff sign in through their company's IdP (Entra ID, Okta, Google, another Keycloak): the
IdP, the flows a first and every later brokered login go through
(``firstBrokerLoginFlowAlias``, ``postBrokerLoginFlowAlias``) and its mappers are kept as
code. A hand-made IdP is never owned, so never pruned.

The client secret is write-only: Keycloak answers a mask in its place, so a secret changed
by hand cannot be seen by a plan; it is written again with every update of its IdP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import identity_providers as kc_idps
from bridge.realm.kinds.base import KindBase, RealmContext, drop_none
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange, diff

SECRET_CONFIG = frozenset({"clientSecret"})
FLOW_BINDINGS = ("firstBrokerLoginFlowAlias", "postBrokerLoginFlowAlias")
_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")


def literal_secrets(value: Any, where: str) -> list[str]:
    """Problems for an IdP secret written in clear in a file (before ``${VAR}`` substitution):
    ``value`` is the raw ``identityProviders`` list, ``where`` its file."""
    problems = []
    for index, item in enumerate(value if isinstance(value, list) else ()):
        config = item.get("config") if isinstance(item, dict) else None
        for key in sorted(SECRET_CONFIG & set(config or ())):
            if not (isinstance(config[key], str) and _REFERENCE.fullmatch(config[key])):
                problems.append(f"{where}: identityProviders[{index}].config.{key}: must be "
                                "a ${VAR} reference, never the secret itself")
    return problems


def _split(key: str) -> tuple[str, str]:
    alias, _, name = key.partition("/")
    return alias, name


class IdentityProviders(KindBase):
    name = "identity-provider"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {p.alias: drop_none(p.model_dump(), ("alias", "mappers"))
                for p in config.identityProviders}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        return {p["alias"]: p for p in kc_idps.list_all(ctx.gateway, ctx.realm)}

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        # A secret Keycloak masks cannot be compared.
        return [c for c in diff(desired, actual)
                if not (c.path.startswith("config.")
                        and c.path.removeprefix("config.") in SECRET_CONFIG
                        and c.before == kc_idps.MASKED)]

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        kc_idps.create(ctx.gateway, ctx.realm, {"alias": key, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        body = {**actual, **desired,
                "config": {**actual.get("config", {}), **desired.get("config", {})}}
        kc_idps.update(ctx.gateway, ctx.realm, key, body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        try:
            kc_idps.delete(ctx.gateway, ctx.realm, key)
        except NotFound:
            pass


def rebind_flow(ctx: RealmContext, old_alias: str, new_alias: str) -> None:
    """Point every IdP bound to flow ``old_alias`` (first or post broker login) at
    ``new_alias``: Keycloak refuses to delete a flow an IdP uses, and a flow is rebuilt
    beside the old one when it changes (:mod:`bridge.realm.kinds.flows`)."""
    for idp in kc_idps.list_all(ctx.gateway, ctx.realm):
        rebound = {b: new_alias for b in FLOW_BINDINGS if idp.get(b) == old_alias}
        if rebound:
            kc_idps.update(ctx.gateway, ctx.realm, idp["alias"], {**idp, **rebound})


class IdentityProviderMappers(KindBase):
    name = "identity-provider-mapper"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f"{p.alias}/{m.name}": drop_none(m.model_dump(), ("name",))
                for p in config.identityProviders for m in p.mappers}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for alias in sorted({_split(k)[0] for k in keys}):
            try:
                mappers = kc_idps.mappers(ctx.gateway, ctx.realm, alias)
            except NotFound:
                continue  # no such IdP (yet)
            found.update({f"{alias}/{m['name']}": m for m in mappers})
        return found

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        alias, name = _split(key)
        kc_idps.create_mapper(ctx.gateway, ctx.realm, alias,
                              {"name": name, "identityProviderAlias": alias, **desired})

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        alias, _ = _split(key)
        body = {**actual, **desired,
                "config": {**actual.get("config", {}), **desired.get("config", {})}}
        kc_idps.update_mapper(ctx.gateway, ctx.realm, alias, actual["id"], body)

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        alias, _ = _split(key)
        try:
            kc_idps.delete_mapper(ctx.gateway, ctx.realm, alias, actual["id"])
        except NotFound:
            pass  # went with its IdP


def secret_variable(alias: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", alias.upper()) + "_IDP_CLIENT_SECRET"


EXPORTED_FIELDS = ("displayName", "providerId", "enabled", "trustEmail", "storeToken",
                   "addReadTokenRoleOnCreate", "linkOnly", "hideOnLogin",
                   "firstBrokerLoginFlowAlias", "postBrokerLoginFlowAlias")


def export(ctx: RealmContext) -> list[dict[str, Any]]:
    """Every IdP of the realm in the configuration's shape, with its mappers; a client
    secret becomes ``${<ALIAS>_IDP_CLIENT_SECRET}`` (Keycloak never shows it anyway)."""
    out = []
    for rep in sorted(kc_idps.list_all(ctx.gateway, ctx.realm), key=lambda p: p["alias"]):
        idp: dict[str, Any] = {"alias": rep["alias"]}
        idp.update({k: rep[k] for k in EXPORTED_FIELDS if rep.get(k) not in (None, "")})
        config = dict(sorted((rep.get("config") or {}).items()))
        for key in SECRET_CONFIG & set(config):
            config[key] = "${" + secret_variable(rep["alias"]) + "}"
        idp["config"] = config
        mappers = kc_idps.mappers(ctx.gateway, ctx.realm, rep["alias"])
        if mappers:
            idp["mappers"] = [{"name": m["name"],
                               "identityProviderMapper": m["identityProviderMapper"],
                               "config": dict(sorted((m.get("config") or {}).items()))}
                              for m in sorted(mappers, key=lambda m: m["name"])]
        out.append(idp)
    return out
