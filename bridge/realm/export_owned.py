"""What makes an export round-trip: only what the ownership record owns (hand-made objects
are not adopted), the user profile, and secrets under the variable names the configuration
used (recorded in the realm by apply, :data:`bridge.realm.engine.VARIABLES_ATTRIBUTE`).

Applied to the files :func:`bridge.realm.export.export` built, before they are written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bridge.keycloak import user_profile as kc_user_profile
from bridge.realm.kinds import RealmContext
from bridge.realm.kinds.composites import SEPARATOR

Files = dict[Path, dict[str, Any]]
Owned = Mapping[str, set[str]]


def literal(value: Any) -> Any:
    """Text written as is, not read as a variable: Keycloak's own ``${username}`` message
    keys become ``$${username}`` (the configuration's escape)."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, list):
        return [literal(v) for v in value]
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}
    return value


def user_profile(ctx: RealmContext) -> dict[str, Any]:
    profile = kc_user_profile.get(ctx.gateway, ctx.realm)
    out: dict[str, Any] = {}
    if profile.get("unmanagedAttributePolicy"):
        out["unmanagedAttributePolicy"] = profile["unmanagedAttributePolicy"]
    out["attributes"] = literal(profile.get("attributes") or [])
    return out


def _keep(items: list[dict[str, Any]], owned: set[str],
          key: Callable[[dict[str, Any]], str]) -> list[dict[str, Any]]:
    return [item for item in items if key(item) in owned]


def _groups(groups: list[dict[str, Any]], owned: set[str], parent: str = ""
            ) -> list[dict[str, Any]]:
    kept = []
    for group in groups:
        path = f"{parent}/{group['name']}"
        if path not in owned:
            continue
        if "subGroups" in group:
            group["subGroups"] = _groups(group["subGroups"], owned, path)
            if not group["subGroups"]:
                del group["subGroups"]
        kept.append(group)
    return kept


def _role_set_owned(roles: dict[str, Any], owned: set[str], prefix: str) -> dict[str, Any]:
    """A role set (``realm``, ``clients``) keeping members whose ``prefix + ref`` is owned."""
    out: dict[str, Any] = {}
    realm = [n for n in roles.get("realm", []) if f"{prefix}{n}" in owned]
    if realm:
        out["realm"] = realm
    clients = {cid: [n for n in names if f"{prefix}{cid}/{n}" in owned]
               for cid, names in (roles.get("clients") or {}).items()}
    if any(clients.values()):
        out["clients"] = {cid: names for cid, names in clients.items() if names}
    return out


def _composites(role: dict[str, Any], name: str, owned: Owned) -> None:
    if "composites" in role:
        kept = _role_set_owned(role["composites"], owned.get("role-composite", set()),
                               f"{name}{SEPARATOR}")
        if kept:
            role["composites"] = kept
        else:
            del role["composites"]


def only_owned(files: Files, owned: Owned) -> None:
    """Drop from ``files`` every object and member the ownership record does not own."""
    def mine(kind: str) -> set[str]:
        return owned.get(kind, set())

    for path in list(files):
        content = files[path]
        if path == Path("realm.yaml"):
            content["roles"] = _keep(content.get("roles", []), mine("realm-role"),
                                     lambda r: r["name"])
            for role in content["roles"]:
                _composites(role, role["name"], owned)
            # A scope of Keycloak's this realm lacks is exported as removed only when the
            # configuration removed it: an older Keycloak never made some of them (26.4
            # has no AuthnContextClassRef), and a scope deleted by hand is not adopted.
            settings = content.get("settings", {})
            if "removedClientScopes" in settings:
                kept = [s for s in settings["removedClientScopes"]
                        if s in mine("removed-client-scope")]
                if kept:
                    settings["removedClientScopes"] = kept
                else:
                    del settings["removedClientScopes"]
            if "defaultRoles" in content:
                kept = _role_set_owned(content["defaultRoles"], mine("default-role"), "")
                if kept:
                    content["defaultRoles"] = kept
                else:
                    del content["defaultRoles"]
        elif path == Path("groups.yaml"):
            content["groups"] = _groups(content.get("groups", []), mine("group"))
            if "defaultGroups" in content:
                content["defaultGroups"] = [g for g in content["defaultGroups"]
                                            if g in mine("default-group")]
        elif path == Path("flows.yaml"):
            content["flows"] = _keep(content["flows"], mine("flow"), lambda f: f["alias"])
        elif path == Path("client-scopes.yaml"):
            content["clientScopes"] = _keep(content["clientScopes"], mine("client-scope"),
                                            lambda s: s["name"])
            for scope in content["clientScopes"]:
                _sub(scope, "protocolMappers", scope["name"], mine("client-scope-mapper"))
        elif path == Path("identity-providers.yaml"):
            content["identityProviders"] = _keep(content["identityProviders"],
                                                 mine("identity-provider"),
                                                 lambda p: p["alias"])
            for idp in content["identityProviders"]:
                _sub(idp, "mappers", idp["alias"], mine("identity-provider-mapper"))
        elif path.parts[0] == "clients":
            content["clients"] = _keep(content["clients"], mine("client"),
                                       lambda c: c["clientId"])
            for client in content["clients"]:
                _client(client, owned)
        elif path == Path("required-actions.yaml"):
            content["requiredActions"] = _keep(content["requiredActions"],
                                               mine("required-action"), lambda a: a["alias"])
        elif path == Path("localization.yaml"):
            texts = {locale: {k: v for k, v in messages.items()
                              if f"{locale}/{k}" in mine("localization-text")}
                     for locale, messages in content["localization"].items()}
            content["localization"] = {k: literal(v) for k, v in texts.items() if v}
        elif path == Path("keys.yaml"):
            content["keys"] = _keep(content["keys"], mine("key-provider"), lambda k: k["name"])
        elif path == Path("user-federation.yaml"):
            content["userFederation"] = _keep(content["userFederation"],
                                              mine("user-federation"), lambda f: f["name"])
        if not any(v not in ([], {}, None) for k, v in content.items() if k != "realm") \
                and path != Path("realm.yaml"):
            del files[path]


def _sub(holder: dict[str, Any], field: str, parent: str, owned: set[str]) -> None:
    if field in holder:
        holder[field] = [m for m in holder[field] if f"{parent}/{m['name']}" in owned]
        if not holder[field]:
            del holder[field]


def _client(client: dict[str, Any], owned: Owned) -> None:
    client_id = client["clientId"]
    _sub(client, "roles", client_id, owned.get("client-role", set()))
    for role in client.get("roles", []):
        _composites(role, f"{client_id}/{role['name']}", owned)
    _sub(client, "protocolMappers", client_id, owned.get("mapper", set()))
    if client_id not in owned.get("service-account-roles", set()):
        client.pop("serviceAccountRoles", None)
    if "serviceAccountPermissions" in client:
        client["serviceAccountPermissions"] = [
            p for p in client["serviceAccountPermissions"]
            if p["name"] in owned.get("admin-permission", set())]
        if not client["serviceAccountPermissions"]:
            del client["serviceAccountPermissions"]
    if client_id not in owned.get("client-flow-override", set()):
        client.pop("authenticationFlowBindingOverrides", None)


def _named(value: Any, variables: Mapping[str, str], key: str) -> Any:
    """A placeholder ``${...}`` the export made, under the configuration's own name."""
    if isinstance(value, str) and value.startswith("${") and key in variables:
        return "${" + variables[key] + "}"
    return value


def rename_variables(files: Files, variables: Mapping[str, str]) -> None:
    """Secrets keep the names the configuration gave them (``${HR_SCIM_CLIENT_SECRET}``,
    not one derived from the clientId)."""
    for path, content in files.items():
        if path == Path("realm.yaml"):
            smtp = content.get("settings", {}).get("smtpServer") or {}
            if "password" in smtp:
                smtp["password"] = _named(smtp["password"], variables,
                                          "settings.smtpServer.password")
        for client in content.get("clients", []):
            if "secret" in client:
                client["secret"] = _named(client["secret"], variables,
                                          f"client:{client['clientId']}.secret")
        for top, kind in (("identityProviders", "identity-provider"), ("keys", "key-provider"),
                          ("components", "component"), ("userFederation", "user-federation")):
            for item in content.get(top, []):
                name = item.get("alias") or item.get("name")
                config = item.get("config") or {}
                for key in config:
                    config[key] = _named(config[key], variables, f"{kind}:{name}.config.{key}")
                for mapper in item.get("mappers", []) if top == "userFederation" else ():
                    mapper_config = mapper.get("config") or {}
                    for key in mapper_config:
                        mapper_config[key] = _named(
                            mapper_config[key], variables,
                            f"user-federation-mapper:{name}/{mapper['name']}.config.{key}")
