"""References between resources, checked before any write.

A role, client, client scope, flow, identity provider or group that the configuration names
(a group's roles, a client's scopes or flow override, an IdP's first-broker-login flow, a
default group...) must be declared by the configuration or live in the realm, and must not
be deleted by the same plan. One pass over the desired model and the live names; every
problem names its file and key path. Live names are read only for what is named and not
declared, once per kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bridge.errors import NotFound
from bridge.keycloak import client_scopes as kc_scopes
from bridge.keycloak import clients as kc_clients
from bridge.keycloak import flows as kc_flows
from bridge.keycloak import groups as kc_groups
from bridge.keycloak import identity_providers as kc_idps
from bridge.keycloak import roles as kc_roles
from bridge.realm.desired import group_paths
from bridge.realm.kinds.base import RealmContext
from bridge.realm.kinds.client_scopes import KEYCLOAK_SCOPES
from bridge.realm.model import Execution, Group, RealmConfig, RoleSet

Target = Literal["realm-role", "client", "client-role", "client-scope", "flow",
                 "identity-provider", "group"]
_SHOWN = {"realm-role": "realm role", "client": "client", "client-role": "client role",
          "client-scope": "client scope", "flow": "flow",
          "identity-provider": "identity provider", "group": "group"}
FLOW_SETTINGS = ("browserFlow", "registrationFlow", "directGrantFlow", "resetCredentialsFlow",
                 "clientAuthenticationFlow", "dockerAuthenticationFlow", "firstBrokerLoginFlow")
# An authenticator whose config names an identity provider.
IDP_REDIRECTOR = "identity-provider-redirector"

# What Keycloak 26 makes in every new realm: the names a plan may rely on before the realm
# exists (tests/integration/test_realm_references.py compares them with a new realm).
KEYCLOAK_REALM_ROLES = frozenset({"offline_access", "uma_authorization"})
KEYCLOAK_CLIENT_ROLES: Mapping[str, frozenset[str]] = {
    "realm-management": frozenset({
        "create-client", "impersonation", "manage-authorization", "manage-clients",
        "manage-events", "manage-identity-providers", "manage-organizations", "manage-realm",
        "manage-users", "query-organizations", "view-organizations",
        "query-clients", "query-groups", "query-realms", "query-users", "realm-admin",
        "view-authorization", "view-clients", "view-events", "view-identity-providers",
        "view-realm", "view-users"}),
    "account": frozenset({"delete-account", "manage-account", "manage-account-links",
                          "manage-consent", "view-applications", "view-consent",
                          "view-groups", "view-profile"}),
    "broker": frozenset({"read-token"}),
    "account-console": frozenset(), "admin-cli": frozenset(),
    "security-admin-console": frozenset(),
}
KEYCLOAK_FLOWS = frozenset({"browser", "direct grant", "registration", "reset credentials",
                            "clients", "first broker login", "docker auth"})


@dataclass(frozen=True)
class Reference:
    target: Target
    name: str  # a client role as ``clientId/name``
    file: str
    path: str

    def problem(self, realm: str) -> str:
        return (f"{self.file}: {self.path}: {_SHOWN[self.target]} {self.name!r} is neither "
                f"declared nor in realm {realm}")


def _role_set(roles: RoleSet | None, file: str, path: str) -> Iterator[Reference]:
    if roles is None:
        return
    for j, name in enumerate(roles.realm):
        yield Reference("realm-role", name, file, f"{path}.realm[{j}]")
    for client_id, names in roles.clients.items():
        for j, name in enumerate(names):
            yield Reference("client-role", f"{client_id}/{name}", file,
                            f"{path}.clients.{client_id}[{j}]")


def _group(group: Group, file: str, here: str) -> Iterator[Reference]:
    for j, name in enumerate(group.realmRoles):
        yield Reference("realm-role", name, file, f"{here}.realmRoles[{j}]")
    for client_id, names in group.clientRoles.items():
        for j, name in enumerate(names):
            yield Reference("client-role", f"{client_id}/{name}", file,
                            f"{here}.clientRoles.{client_id}[{j}]")
    for k, child in enumerate(group.subGroups):
        yield from _group(child, file, f"{here}.subGroups[{k}]")


def _executions(executions: Iterable[Execution], file: str, path: str) -> Iterator[Reference]:
    for k, execution in enumerate(executions):
        here = f"{path}[{k}]"
        if (execution.authenticator == IDP_REDIRECTOR and execution.config
                and execution.config.config.get("defaultProvider")):
            yield Reference("identity-provider", execution.config.config["defaultProvider"],
                            file, f"{here}.config.config.defaultProvider")
        yield from _executions(execution.executions, file, f"{here}.executions")


def references(config: RealmConfig) -> Iterator[Reference]:
    """Every name the configuration uses for another resource, with its file and key."""
    for i, role in enumerate(config.roles):
        file, path = config.where("roles", i)
        yield from _role_set(role.composites, file, f"{path}.composites")
    for i, client in enumerate(config.clients):
        file, path = config.where("clients", i)
        for k, role in enumerate(client.roles):
            yield from _role_set(role.composites, file, f"{path}.roles[{k}].composites")
        if client.serviceAccountRoles is not None:
            yield from _role_set(RoleSet(realm=client.serviceAccountRoles.realm,
                                         clients=client.serviceAccountRoles.clients),
                                 file, f"{path}.serviceAccountRoles")
        for field_name in ("defaultClientScopes", "optionalClientScopes"):
            for j, name in enumerate(getattr(client, field_name) or ()):
                yield Reference("client-scope", name, file, f"{path}.{field_name}[{j}]")
        for binding, alias in (client.authenticationFlowBindingOverrides or {}).items():
            yield Reference("flow", alias, file,
                            f"{path}.authenticationFlowBindingOverrides.{binding}")
    for i, group in enumerate(config.groups):
        file, path = config.where("groups", i)
        yield from _group(group, file, path)
    file, _ = config.where("defaultRoles")
    yield from _role_set(config.defaultRoles, file, "defaultRoles")
    for i, group_path in enumerate(config.defaultGroups):
        file, path = config.where("defaultGroups", i)
        yield Reference("group", group_path, file, path)
    file, _ = config.where("settings")
    for binding in FLOW_SETTINGS:
        if alias := getattr(config.settings, binding):
            yield Reference("flow", alias, file, f"settings.{binding}")
    for field_name in ("defaultDefaultClientScopes", "defaultOptionalClientScopes"):
        for j, name in enumerate(getattr(config.settings, field_name) or ()):
            yield Reference("client-scope", name, file, f"settings.{field_name}[{j}]")
    for i, idp in enumerate(config.identityProviders):
        file, path = config.where("identityProviders", i)
        for binding in ("firstBrokerLoginFlowAlias", "postBrokerLoginFlowAlias"):
            if alias := getattr(idp, binding):
                yield Reference("flow", alias, file, f"{path}.{binding}")
    for i, flow in enumerate(config.flows):
        file, path = config.where("flows", i)
        yield from _executions(flow.executions, file, f"{path}.executions")


@dataclass
class LiveNames:
    """The realm's names, read lazily (one call per kind, one per client for its roles);
    ``ctx`` None: the realm does not exist yet, so only what Keycloak makes with it."""

    ctx: RealmContext | None
    _cache: dict[str, set[str]] = field(default_factory=dict)

    def _once(self, what: str, read: Callable[[RealmContext], Iterable[str]],
              default: Iterable[str]) -> set[str]:
        if what not in self._cache:
            self._cache[what] = set(default) if self.ctx is None else set(read(self.ctx))
        return self._cache[what]

    def realm_roles(self) -> set[str]:
        return self._once("realm-role", lambda ctx: (r["name"] for r in kc_roles.list_all(
            ctx.gateway, ctx.realm)), KEYCLOAK_REALM_ROLES | {
                f"default-roles-{self.ctx.realm if self.ctx else ''}"})

    def clients(self) -> set[str]:
        return self._once("client", lambda ctx: (c["clientId"] for c in kc_clients.list_all(
            ctx.gateway, ctx.realm)), KEYCLOAK_CLIENT_ROLES)

    def client_roles(self, client_id: str) -> set[str]:
        def read(ctx: RealmContext) -> Iterable[str]:
            try:
                uuid = ctx.client_uuid(client_id)
            except NotFound:
                return ()
            return (r["name"] for r in kc_roles.list_all(ctx.gateway, ctx.realm, client=uuid))

        return self._once(f"client-role:{client_id}", read,
                          KEYCLOAK_CLIENT_ROLES.get(client_id, ()))

    def client_scopes(self) -> set[str]:
        return self._once("client-scope", lambda ctx: kc_scopes.ids_by_name(
            ctx.gateway, ctx.realm), KEYCLOAK_SCOPES)

    def flows(self) -> set[str]:
        return self._once("flow", lambda ctx: (f["alias"] for f in kc_flows.list_all(
            ctx.gateway, ctx.realm)), KEYCLOAK_FLOWS)

    def identity_providers(self) -> set[str]:
        return self._once("identity-provider", lambda ctx: (p["alias"] for p in kc_idps.list_all(
            ctx.gateway, ctx.realm)), ())

    def group(self, path: str) -> bool:
        if self.ctx is None:
            return False
        try:
            kc_groups.get_by_path(self.ctx.gateway, self.ctx.realm, path)
        except NotFound:
            return False
        return True


def problems(config: RealmConfig, live: LiveNames, realm: str,
             gone: Mapping[str, set[str]] | None = None) -> list[str]:
    """Every reference neither declared nor live; ``gone`` (kind → keys) are live names the
    same plan deletes, so they do not count."""
    gone = gone or {}
    declared_roles = {r.name for r in config.roles}
    declared_clients = {c.clientId: {r.name for r in c.roles} for c in config.clients}
    removed_scopes = set(config.settings.removedClientScopes or ())
    declared_scopes = {s.name for s in config.clientScopes}
    declared_flows = {f.alias for f in config.flows}
    declared_idps = {p.alias for p in config.identityProviders}
    declared_groups = set(group_paths(config.groups))

    def live_and_kept(kind: str, name: str, names: set[str]) -> bool:
        return name in names and name not in gone.get(kind, set())

    found: list[str] = []
    for ref in references(config):
        if ref.target == "realm-role":
            ok = ref.name in declared_roles or live_and_kept("realm-role", ref.name,
                                                              live.realm_roles())
        elif ref.target == "client-role":
            client_id, _, role = ref.name.partition("/")
            if client_id not in declared_clients and not live_and_kept(
                    "client", client_id, live.clients()):
                found.append(Reference("client", client_id, ref.file, ref.path)
                             .problem(realm))
                continue
            ok = role in declared_clients.get(client_id, set()) or live_and_kept(
                "client-role", ref.name, {f"{client_id}/{n}"
                                          for n in live.client_roles(client_id)})
        elif ref.target == "client-scope":
            if ref.name in removed_scopes:
                found.append(f"{ref.file}: {ref.path}: client scope {ref.name!r} is removed "
                             "by settings.removedClientScopes")
                continue
            ok = ref.name in declared_scopes or live_and_kept("client-scope", ref.name,
                                                               live.client_scopes())
        elif ref.target == "flow":
            ok = ref.name in declared_flows or live_and_kept("flow", ref.name, live.flows())
        elif ref.target == "identity-provider":
            ok = ref.name in declared_idps or live_and_kept("identity-provider", ref.name,
                                                             live.identity_providers())
        else:
            ok = ref.name in declared_groups or (ref.name not in gone.get("group", set())
                                                 and live.group(ref.name))
        if not ok:
            found.append(ref.problem(realm))
    return found
