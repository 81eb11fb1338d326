"""The export of the kinds of role composites, default roles and groups, required actions,
flow overrides, OTP/WebAuthn policies, events, localization texts, keys, components and
LDAP federation: added to the files :func:`bridge.realm.export.export` writes.

Secrets are never written: a value Keycloak masks becomes ``${<NAME>_<FIELD>}``. Components
and LDAP mappers are exported only when the configuration owns them (Keycloak's own
registration policies and default mappers stay Keycloak's).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bridge.keycloak import components as kc_components
from bridge.keycloak import localization as kc_localization
from bridge.keycloak import required_actions as kc_actions
from bridge.realm import model
from bridge.realm.engine import read_owned
from bridge.realm.kinds import RealmContext
from bridge.realm.kinds.components import (
    Components,
    KeyProviders,
    UserFederation,
    UserFederationMappers,
)
from bridge.realm.kinds.composites import (
    SEPARATOR,
    DefaultGroups,
    DefaultRoles,
    RoleComposites,
)
from bridge.realm.kinds.events import Events
from bridge.realm.kinds.flow_overrides import FIELD as OVERRIDES
from bridge.realm.kinds.flow_overrides import FlowOverrides
from bridge.realm.kinds.policies import OtpPolicy, WebAuthnPasswordlessPolicy, WebAuthnPolicy

Files = dict[Path, dict[str, Any]]


def variable(*parts: str) -> str:
    return "${" + re.sub(r"[^A-Z0-9]", "_", "_".join(parts).upper()) + "}"


def add_to(ctx: RealmContext, realm_rep: dict[str, Any], files: Files) -> None:
    owned = read_owned(realm_rep)
    realm_file = files[Path("realm.yaml")]
    _composites(ctx, files)
    default_roles = _role_set(m["member"] for m in DefaultRoles().actual(ctx, {"*"}).values())
    if default_roles:
        realm_file["defaultRoles"] = default_roles
    groups = sorted(DefaultGroups().actual(ctx, {"*"}))
    if groups:
        files[Path("groups.yaml")]["defaultGroups"] = groups
    files[Path("required-actions.yaml")] = {"requiredActions": [
        {k: a[k] for k in ("alias", "name", "enabled", "defaultAction", "priority")}
        | ({"config": a["config"]} if a.get("config") else {})
        for a in kc_actions.list_all(ctx.gateway, ctx.realm)]}
    policies = {}
    for kind, fields in ((OtpPolicy(), model.OtpPolicy.model_fields),
                         (WebAuthnPolicy(), model.WebAuthnPolicy.model_fields),
                         (WebAuthnPasswordlessPolicy(), model.WebAuthnPolicy.model_fields)):
        live = kind.actual(ctx, {kind.key})[kind.key]
        policies[kind.key] = {k: live[k] for k in fields if live.get(k) is not None}
    files[Path("policies.yaml")] = policies
    # Events have one home in an export: events.yaml, not the realm settings.
    events = Events().actual(ctx, {"events"})["events"]
    for field in model.Events.model_fields:
        realm_file["settings"].pop(field, None)
    if not events.get("eventsExpiration"):
        events.pop("eventsExpiration", None)  # kept forever: nothing to configure
    files[Path("events.yaml")] = {"events": {k: events[k] for k in model.Events.model_fields
                                             if events.get(k) is not None}}
    texts = {locale: kc_localization.texts(ctx.gateway, ctx.realm, locale)
             for locale in sorted(kc_localization.locales(ctx.gateway, ctx.realm))}
    if any(texts.values()):
        files[Path("localization.yaml")] = {"localization": {k: v for k, v in texts.items()
                                                             if v}}
    _overrides(ctx, files)
    _components(ctx, owned, files)


def _role_set(members: Any) -> dict[str, Any]:
    realm: list[str] = []
    clients: dict[str, list[str]] = {}
    for client_id, name in members:
        if client_id is None:
            realm.append(name)
        else:
            clients.setdefault(client_id, []).append(name)
    out: dict[str, Any] = {}
    if realm:
        out["realm"] = sorted(realm)
    if clients:
        out["clients"] = {k: sorted(v) for k, v in sorted(clients.items())}
    return out


def _composites(ctx: RealmContext, files: Files) -> None:
    """Each exported role's members, realm roles' and clients' alike."""
    holders: list[tuple[str, dict[str, Any]]] = [
        (r["name"], r) for r in files[Path("realm.yaml")].get("roles", [])]
    for path, content in files.items():
        if path.parts[0] == "clients":
            for client in content.get("clients", []):
                holders += [(f"{client['clientId']}/{r['name']}", r)
                            for r in client.get("roles", [])]
    if not holders:
        return
    found = RoleComposites().actual(ctx, {f"{name}{SEPARATOR}" for name, _ in holders})
    for name, role in holders:
        members = [rep["member"] for key, rep in found.items()
                   if key.split(SEPARATOR, 1)[0] == name]
        if members:
            role["composites"] = _role_set(members)


def _overrides(ctx: RealmContext, files: Files) -> None:
    clients = {c["clientId"]: c for path, content in files.items()
               if path.parts[0] == "clients" for c in content.get("clients", [])}
    for client_id, rep in FlowOverrides().actual(ctx, set(clients)).items():
        if rep["overrides"]:
            clients[client_id][OVERRIDES] = rep["overrides"]


def _config(name: str, config: dict[str, list[str]]) -> dict[str, Any]:
    """A component's config as the configuration writes it: one value as a scalar, a masked
    secret as a variable."""
    out: dict[str, Any] = {}
    for key, values in sorted(config.items()):
        if values == [kc_components.MASKED]:
            out[key] = variable(name, key)
        else:
            out[key] = values[0] if len(values) == 1 else values
    return out


def _components(ctx: RealmContext, owned: dict[str, set[str]], files: Files) -> None:
    keys = [{"name": name, "providerId": rep["providerId"],
             "config": _config(name, rep.get("config") or {})}
            for name, rep in sorted(KeyProviders().actual(ctx, {"*"}).items())]
    mine = owned.get("component", set())
    components = []
    for key, rep in sorted(Components().actual(ctx, mine).items()):
        if key in mine:
            components.append({"name": rep["name"], "providerId": rep["providerId"],
                               "providerType": rep["providerType"],
                               **({"subType": rep["subType"]} if rep.get("subType") else {}),
                               "config": _config(rep["name"], rep.get("config") or {})})
    files[Path("keys.yaml")] = {"keys": keys, **({"components": components}
                                                 if components else {})}
    providers = UserFederation().actual(ctx, {"*"})
    if not providers:
        return
    mappers = UserFederationMappers().actual(ctx, {f"{p}/" for p in providers})
    owned_mappers = owned.get("user-federation-mapper", set())
    files[Path("user-federation.yaml")] = {"userFederation": [
        {"name": name, "providerId": rep["providerId"],
         "config": _config(name, rep.get("config") or {}),
         "mappers": [{"name": key.split("/", 1)[1], "providerId": m["providerId"],
                      "config": _config(key, m.get("config") or {})}
                     for key, m in sorted(mappers.items())
                     if key.startswith(f"{name}/") and key in owned_mappers]}
        for name, rep in sorted(providers.items())]}
