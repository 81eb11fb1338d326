"""``bridge realm export``: the live realm written back in ``realm-config/``'s YAML shape.

Secrets are never written: a client secret becomes ``${<CLIENT>_CLIENT_SECRET}``, an
identity provider's ``${<ALIAS>_IDP_CLIENT_SECRET}`` and the SMTP password
``${SMTP_PASSWORD}``, so an export can be committed and applied elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bridge.keycloak import clients as kc_clients
from bridge.keycloak import groups as kc_groups
from bridge.keycloak import realm as kc_realm
from bridge.keycloak import roles as kc_roles
from bridge.keycloak.client import AdminGateway
from bridge.realm import export_kinds, export_owned, model
from bridge.realm.engine import read_owned, read_variables
from bridge.realm.kinds import RealmContext, client_scopes, identity_providers
from bridge.realm.kinds.admin_permissions import AdminPermissions
from bridge.realm.kinds.clients import (
    BUILTIN_CLIENTS,
    SUB_RESOURCES,
    ClientRoles,
    ProtocolMappers,
    ServiceAccountRoles,
)
from bridge.realm.kinds.flows import Flows
from bridge.realm.kinds.realm_roles import RealmRoles

# Client attributes Keycloak stamps by itself; exporting them would only add noise.
VOLATILE_ATTRIBUTES = frozenset({"client.secret.creation.time"})
# The attributes of Keycloak's own clients that realm-config hardens (clients/keycloak.yaml).
HARDENED_ATTRIBUTES = frozenset({"pkce.code.challenge.method"})
UNEXPORTED_CLIENTS = frozenset({"realm-management", "admin-permissions"})


def secret_variable(client_id: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", client_id.upper()) + "_CLIENT_SECRET"


def export(gateway: AdminGateway, realm: str, directory: Path, *,
           unmanaged: bool = False) -> list[Path]:
    """Write realm.yaml, clients/*.yaml, groups.yaml, flows.yaml and a file per other kind;
    return the paths. Only what the realm's ownership record owns is written (objects made
    by hand are not adopted) unless ``unmanaged``; secrets keep the variable names the
    configuration gave them."""
    ctx = RealmContext(gateway, realm)
    realm_rep = kc_realm.get(gateway, realm)
    settings = _settings(realm_rep)
    if gone := client_scopes.removed(ctx):
        settings["removedClientScopes"] = gone
    scopes, realm_defaults = client_scopes.export(ctx)
    settings.update(realm_defaults)
    files: dict[Path, dict[str, Any]] = {
        Path("realm.yaml"): {"realm": realm, "settings": settings, "roles": _roles(ctx)},
        Path("groups.yaml"): {"groups": _groups(ctx)},
        Path("flows.yaml"): {"flows": _flows(ctx)},
    }
    if scopes:
        files[Path("client-scopes.yaml")] = {"clientScopes": scopes}
    if idps := identity_providers.export(ctx):
        files[Path("identity-providers.yaml")] = {"identityProviders": idps}
    clients, builtin = _clients(ctx)
    for client in clients:
        files[Path("clients") / f"{client['clientId']}.yaml"] = {"clients": [client]}
    if builtin:
        files[Path("clients") / "keycloak.yaml"] = {"clients": builtin}
    export_kinds.add_to(ctx, realm_rep, files)
    files[Path("user-profile.yaml")] = {"userProfile": export_owned.user_profile(ctx)}
    if not unmanaged:
        export_owned.only_owned(files, read_owned(realm_rep))
    export_owned.rename_variables(files, read_variables(realm_rep))
    written = []
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(content, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
        written.append(path)
    return written


def _pick(rep: dict[str, Any], fields: Any) -> dict[str, Any]:
    return {k: rep[k] for k in fields if rep.get(k) not in (None, {}, [])}


def _settings(realm_rep: dict[str, Any]) -> dict[str, Any]:
    settings = _pick(realm_rep, model.Settings.model_fields)
    smtp = settings.get("smtpServer")
    if smtp and "password" in smtp:
        smtp["password"] = "${SMTP_PASSWORD}"  # noqa: S105 - a placeholder, not a secret
    return settings


def _roles(ctx: RealmContext) -> list[dict[str, Any]]:
    kind = RealmRoles()
    roles = kind.actual(ctx, set())
    return [_pick(rep, ("name", "description", "attributes"))
            for name, rep in sorted(roles.items()) if not kind.builtin(name, rep)]


def _hardening(rep: dict[str, Any]) -> dict[str, Any]:
    """What the configuration may manage on one of Keycloak's own clients."""
    client: dict[str, Any] = {"clientId": rep["clientId"]}
    if "directAccessGrantsEnabled" in rep:
        client["directAccessGrantsEnabled"] = rep["directAccessGrantsEnabled"]
    attributes = {k: v for k, v in (rep.get("attributes") or {}).items()
                  if k in HARDENED_ATTRIBUTES}
    if attributes:
        client["attributes"] = attributes
    return client


def _clients(ctx: RealmContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The product's clients, whole; Keycloak's own, only as far as they are hardened
    (``realm-management`` and ``admin-permissions`` not at all: Keycloak lets no one edit
    the first and makes the second itself)."""
    clients = kc_clients.list_all(ctx.gateway, ctx.realm)
    permissions = _permissions(ctx)
    out, builtin = [], []
    for rep in sorted(clients, key=lambda c: c["clientId"]):
        client_id = rep["clientId"]
        if client_id in BUILTIN_CLIENTS:
            if client_id not in UNEXPORTED_CLIENTS:
                builtin.append(_hardening(rep))
            continue
        fields = [f for f in model.Client.model_fields if f not in SUB_RESOURCES]
        client = _pick(rep, fields)
        if "attributes" in client:
            client["attributes"] = {k: v for k, v in sorted(client["attributes"].items())
                                    if k not in VOLATILE_ATTRIBUTES}
        if client.get("publicClient"):
            client.pop("secret", None)
        elif "secret" in client:
            client["secret"] = "${" + secret_variable(client_id) + "}"
        roles = ClientRoles().actual(ctx, {f"{client_id}/"})
        if roles:
            client["roles"] = [_pick(r, ("name", "description", "attributes"))
                               for _, r in sorted(roles.items())]
        mappers = ProtocolMappers().actual(ctx, {f"{client_id}/"})
        if mappers:
            client["protocolMappers"] = [
                _pick(m, ("name", "protocol", "protocolMapper", "config"))
                for _, m in sorted(mappers.items())]
        if rep.get("serviceAccountsEnabled"):
            account = ServiceAccountRoles().actual(ctx, {client_id}).get(client_id)
            if account:
                client["serviceAccountRoles"] = {"realm": account["realm"],
                                                 "clients": account["clients"]}
            if permissions.get(client_id):
                client["serviceAccountPermissions"] = permissions[client_id]
        out.append(client)
    return out, builtin


def _permissions(ctx: RealmContext) -> dict[str, list[dict[str, Any]]]:
    """The admin permissions granted to exactly one client, by that client's clientId (one
    granted otherwise was made by hand, not by a configuration, and is not exported)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for name, rep in sorted(AdminPermissions().read(ctx).items()):
        if rep["client"] and "," not in rep["client"] and ":" not in rep["client"]:
            found.setdefault(rep["client"], []).append({
                "name": name, **_pick(rep, ("description", "resourceType", "scopes",
                                            "resources"))})
    return found


def _groups(ctx: RealmContext) -> list[dict[str, Any]]:
    top = kc_groups.top_level(ctx.gateway, ctx.realm)
    return [_group(ctx, g) for g in sorted(top, key=lambda g: g["name"])]


def _group(ctx: RealmContext, rep: dict[str, Any]) -> dict[str, Any]:
    mappings = kc_roles.mappings(ctx.gateway, ctx.realm, kc_roles.of_group(rep["id"]))
    group: dict[str, Any] = {"name": rep["name"]}
    if rep.get("attributes"):
        group["attributes"] = rep["attributes"]
    if mappings.realm:
        group["realmRoles"] = list(mappings.realm)
    client_roles = {cid: list(names) for cid, names in mappings.clients.items() if names}
    if client_roles:
        group["clientRoles"] = client_roles
    if rep.get("subGroupCount"):
        children = kc_groups.all_children(ctx.gateway, ctx.realm, rep["id"])
        group["subGroups"] = [_group(ctx, c) for c in sorted(children, key=lambda c: c["name"])]
    return group


def _flows(ctx: RealmContext) -> list[dict[str, Any]]:
    kind = Flows()
    every = kind.actual(ctx, set())
    custom = {alias for alias, rep in every.items() if not kind.builtin(alias, rep)}
    flows = kind.actual(ctx, custom)
    return [{"alias": alias, "description": flows[alias]["description"],
             **({"providerId": flows[alias]["providerId"]}
                if flows[alias].get("providerId", "basic-flow") != "basic-flow" else {}),
             "executions": _executions(flows[alias]["executions"])}
            for alias in sorted(custom)]


def _executions(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in nodes:
        item: dict[str, Any] = {}
        if "flow" in node:
            item["flow"] = node["flow"]
            if node.get("authenticator"):  # a form flow's form
                item["authenticator"] = node["authenticator"]
        else:
            item["authenticator"] = node["authenticator"]
        item["requirement"] = node["requirement"]
        if "config" in node:
            item["config"] = node["config"]
        if node.get("executions"):
            item["executions"] = _executions(node["executions"])
        out.append(item)
    return out
