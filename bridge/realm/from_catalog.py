"""The catalog as realm configuration: what ``bridge realm apply`` creates for it.

- every permission is a client role of the same name on its client;
- organizations enabled when the catalog has a tenancy, and its seed tenants created as
  organizations when absent (:mod:`bridge.realm.kinds.tenants`; never overwritten: at
  runtime tenants are data);
- one group per status, profile and toggle under ``/bridge/catalog`` (see
  :mod:`bridge.catalog.mapping` for the tree), so that assigning a profile is one
  membership, never one call per role;
- the catalog's :func:`~bridge.catalog.mapping.token_claims` as built-in User Attribute
  mappers on the catalog's client.

The catalog itself knows nothing of the realm configuration; this module reads it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridge.catalog.mapping import (
    CATALOG_GROUP,
    KIND_ATTRIBUTE,
    MFA_ROLE,
    PARENT_GROUP,
    ROOT,
    token_claims,
)
from bridge.catalog.model import Catalog, Tenant
from bridge.configfiles import ConfigError
from bridge.realm.model import Group, ProtocolMapper, RealmConfig, Role, SeedTenant
from bridge.tenants.model import LiveTenant, representation


@dataclass(frozen=True)
class RealmFragments:
    """The realm configuration a catalog needs, as :mod:`bridge.realm.model` models."""

    client_roles: Mapping[str, tuple[Role, ...]]
    """Per client id, the client roles realising the permissions."""
    group: Group
    """The ``catalog`` group, to be placed under ``/bridge``."""
    mappers: tuple[ProtocolMapper, ...]
    """Protocol mappers of the catalog's client (``catalog.client``)."""
    realm_roles: tuple[str, ...]
    """Realm roles the groups map, which the realm configuration must declare."""


def _roles_by_client(catalog: Catalog, permissions: Iterable[str]) -> dict[str, list[str]]:
    by_client: dict[str, list[str]] = {}
    for permission in sorted(set(permissions)):
        by_client.setdefault(catalog.client_of(permission), []).append(permission)
    return by_client


def _group(name: str, kind: str, label: str, permissions: Iterable[str] = (),
           mfa: bool = False, catalog: Catalog | None = None,
           extra: Mapping[str, list[str]] | None = None) -> Group:
    attributes = {KIND_ATTRIBUTE: [kind], **({"label": [label]} if label else {}),
                  **(extra or {})}
    return Group(name=name, attributes=attributes,
                 realmRoles=[MFA_ROLE] if mfa else [],
                 clientRoles=_roles_by_client(catalog, permissions) if catalog else {})


def attribute_mapper(name: str, attribute: str, claim: str, multivalued: bool) -> ProtocolMapper:
    """Keycloak's built-in User Attribute mapper, into access, ID and userinfo tokens."""
    return ProtocolMapper(name=name, protocolMapper="oidc-usermodel-attribute-mapper", config={
        "user.attribute": attribute,
        "claim.name": claim,
        "jsonType.label": "String",
        "multivalued": "true" if multivalued else "false",
        "aggregate.attrs": "false",
        "access.token.claim": "true",
        "id.token.claim": "true",
        "userinfo.token.claim": "true",
        "introspection.token.claim": "true",
    })


def token_mappers(catalog: Catalog) -> tuple[ProtocolMapper, ...]:
    """The catalog's :func:`~bridge.catalog.mapping.token_claims` as protocol mappers."""
    return tuple(attribute_mapper(f"catalog {c.label}", c.attribute, c.claim, c.multivalued)
                 for c in token_claims(catalog))


def realm_fragments(catalog: Catalog) -> RealmFragments:
    """Client roles, the ``/bridge/catalog`` group tree and the token mappers."""
    client_roles = {
        client: tuple(Role(name=p, description=catalog.permission_by_name[p].description
                           or None) for p in permissions)
        for client, permissions in sorted(_roles_by_client(catalog,
                                                           catalog.permission_by_name).items())}
    kinds = {
        "status": [_group(s.name, "status", s.label, s.grants, s.mfa, catalog,
                          {"user_type": [s.user_type]}) for s in catalog.statuses],
        "profile": [_group(p.name, "profile", p.label, p.grants, p.mfa, catalog,
                           {"rank": [str(p.rank)]}) for p in catalog.profiles],
        "toggle": [_group(t.name, "toggle", t.label, t.adds, False, catalog)
                   for t in catalog.toggles],
    }
    group = Group(name=CATALOG_GROUP,
                  attributes={KIND_ATTRIBUTE: ["catalog"], "catalog": [catalog.name]},
                  subGroups=[Group(name=kind, subGroups=groups)
                             for kind, groups in kinds.items() if groups])
    mfa = any(s.mfa for s in catalog.statuses) or any(p.mfa for p in catalog.profiles)
    return RealmFragments(client_roles, group, token_mappers(catalog),
                          (MFA_ROLE,) if mfa else ())


CLIENT_ROLE_MAPPER = "oidc-usermodel-client-role-mapper"


def seed_tenant(catalog_name: str, tenant: Tenant) -> SeedTenant:
    """A seed tenant of the catalog, as the organization ``bridge realm apply`` creates."""
    return SeedTenant(alias=tenant.name, catalog=catalog_name, representation=representation(
        LiveTenant(tenant.name, tenant.label or tenant.name,
                   tuple(sorted(tenant.enables))), catalog_name))


def merge_into(config: RealmConfig, catalog: Catalog) -> RealmConfig:
    """The realm configuration with the catalog's fragments added (a new object).

    Refused with ConfigError when a permission's client or a needed realm role is not
    declared, or when a role, mapper or the ``catalog`` group already exists.
    """
    fragments = realm_fragments(catalog)
    problems: list[str] = []
    merged = config.model_copy(deep=True)
    clients = {c.clientId: c for c in merged.clients}
    for client_id, roles in fragments.client_roles.items():
        client = clients.get(client_id)
        if client is None:
            problems.append(f"catalog {catalog.name}: permissions: client {client_id!r} is "
                            f"not declared in the realm configuration")
            continue
        existing = {r.name for r in client.roles}
        problems += [f"catalog {catalog.name}: permission {r.name!r}: client {client_id!r} "
                     f"already declares this role" for r in roles if r.name in existing]
        client.roles.extend(roles)
    token_client = clients.get(catalog.client)
    if token_client is None:
        problems.append(f"catalog {catalog.name}: client: {catalog.client!r} is not declared "
                        f"in the realm configuration")
    else:
        # The catalog's ``roles`` claim (the effective permissions) replaces a client-role
        # mapper emitting ``roles``: that one shows the union of the groups' roles, without
        # what a toggle removes or a tenant's cap withholds (seeds 000, 002, 004).
        claims = {m.config.get("claim.name") for m in fragments.mappers}
        token_client.protocolMappers = [
            m for m in token_client.protocolMappers
            if not (m.protocolMapper == CLIENT_ROLE_MAPPER
                    and m.config.get("claim.name") in claims)]
        existing = {m.name for m in token_client.protocolMappers}
        problems += [f"catalog {catalog.name}: mapper {m.name!r} already exists on "
                     f"{catalog.client!r}" for m in fragments.mappers if m.name in existing]
        token_client.protocolMappers.extend(fragments.mappers)
    realm_roles = {r.name for r in merged.roles}
    problems += [f"catalog {catalog.name}: realm role {r!r} (MFA) is not declared"
                 for r in fragments.realm_roles if r not in realm_roles]
    parent = next((g for g in merged.groups if g.name == PARENT_GROUP), None)
    if parent is None:
        parent = Group(name=PARENT_GROUP)
        merged.groups.append(parent)
    if any(g.name == CATALOG_GROUP for g in parent.subGroups):
        problems.append(f"catalog {catalog.name}: group {ROOT} already exists")
    parent.subGroups.append(fragments.group)
    if catalog.tenancy is not None:
        merged.settings.organizationsEnabled = True
        merged._seed_tenants = [seed_tenant(catalog.name, t) for t in catalog.tenancy.tenants]
    if problems:
        raise ConfigError(problems)
    return merged
