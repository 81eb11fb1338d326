"""The catalog as Keycloak state, computed without calling Keycloak.

Two halves (see ``docs/access-catalog.md`` for the reasons):

**Realm** (:func:`realm_fragments`, :func:`merge_into`), applied by ``bridge realm apply``:

- every permission is a client role of the same name on its client;
- one group per status, profile, toggle and tenant under ``/bridge/catalog``::

      /bridge/catalog/status/<status>     client roles it grants (+ realm role mfa-required)
      /bridge/catalog/profile/<profile>   client roles it grants (+ mfa-required)
      /bridge/catalog/toggle/<toggle>     client roles it adds
      /bridge/catalog/tenant/<tenant>     no role; attribute ``caps`` = what it enables

  so that assigning a profile is one membership, never one call per role;
- protocol mappers on the catalog's client (``portal``), all built-in User Attribute
  mappers, emitting ``user_type``, ``status``, ``profile``, ``permissions``, ``tenants``,
  ``perimeter`` (one nested key per dimension: ``perimeter.project`` → ``{"perimeter":
  {"project": [...]}}``) and ``perimeter_ref``.

**User** (:func:`user_state`), written by every write path after the rules passed:

==========================  =================================================================
user attribute              value
==========================  =================================================================
``user_type``               ``internal`` / ``external``
``status``                  the status
``profile``                 the profile(s)
``toggles``                 one value per toggle
``tenants``                 one value per tenant
``permissions``             effective permissions, computed here on every write: a
                            permission held in every tenant of the user as is; one held in
                            some tenants only as ``<permission>@<tenant>``
``perimeter.<dimension>``   one value per entry (hierarchical: ``p1/gate-3``), when the whole
                            perimeter fits ``perimeter_budget`` bytes
``perimeter_ref``           else: a digest of the perimeter, which the app resolves through
                            the bridge; the entries then live in ``perimeter_overflow.<dim>``
                            (not mapped into tokens)
==========================  =================================================================

Group memberships are the status', profiles', toggles' and tenants' groups; an MFA status or
profile adds the ``CONFIGURE_TOTP`` required action (seed 003).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridge.catalog.model import Assignment, Catalog, PerimeterEntry
from bridge.catalog.rules import effective_permissions, mfa_required
from bridge.realm.desired import ConfigError, Group, ProtocolMapper, RealmConfig, Role

PARENT_GROUP = "bridge"
CATALOG_GROUP = "catalog"
ROOT = f"/{PARENT_GROUP}/{CATALOG_GROUP}"
KINDS = ("status", "profile", "toggle", "tenant")
MFA_ROLE = "mfa-required"
CONFIGURE_TOTP = "CONFIGURE_TOTP"

USER_TYPE = "user_type"
STATUS = "status"
PROFILE = "profile"  # the claim
# The attribute behind it: Keycloak's built-in "profile" client scope maps a user attribute
# named "profile" to the OIDC standard claim "profile" (single-valued), which would race our
# mapper for the same claim. An attribute of another name leaves that mapper nothing to emit.
PROFILE_ATTRIBUTE = "profiles"
TOGGLES = "toggles"
TENANTS = "tenants"
PERMISSIONS = "permissions"
PERIMETER = "perimeter"
PERIMETER_REF = "perimeter_ref"
PERIMETER_OVERFLOW = "perimeter_overflow"
TENANT_SEPARATOR = "@"
KIND_ATTRIBUTE = "bridge.catalog.kind"


def group_path(kind: str, name: str) -> str:
    """``/bridge/catalog/<kind>/<name>``: the group realising one catalog element."""
    assert kind in KINDS, kind
    return f"{ROOT}/{kind}/{name}"


def perimeter_attribute(dimension: str) -> str:
    return f"{PERIMETER}.{dimension}"


def overflow_attribute(dimension: str) -> str:
    return f"{PERIMETER_OVERFLOW}.{dimension}"


# -- user ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserState:
    """What Keycloak must hold for one user: exactly these managed groups and attributes
    (attributes of :func:`managed_attributes` absent here are to be removed)."""

    groups: frozenset[str]
    attributes: Mapping[str, tuple[str, ...]]
    required_actions: frozenset[str]

    def attribute_lists(self) -> dict[str, list[str]]:
        """Attributes in the shape of Keycloak's UserRepresentation."""
        return {k: list(v) for k, v in self.attributes.items()}


def managed_attributes(catalog: Catalog) -> frozenset[str]:
    """Every user attribute the catalog owns; other attributes are never touched."""
    names = {USER_TYPE, STATUS, PROFILE_ATTRIBUTE, TOGGLES, TENANTS, PERMISSIONS, PERIMETER_REF}
    for dimension in catalog.dimension_by_name:
        names |= {perimeter_attribute(dimension), overflow_attribute(dimension)}
    return frozenset(names)


def permission_values(effective: Mapping[str | None, frozenset[str]]) -> list[str]:
    """The ``permissions`` attribute (and claim): compact and exact.

    Without tenancy, the permissions. With tenancy, a permission held in every tenant of
    the user appears as is, one held in some only as ``<permission>@<tenant>`` (seed 004:
    payments enabled on one dossier). An app asks: ``p in claim or f"{p}@{t}" in claim``,
    with ``t`` in the ``tenants`` claim.
    """
    if not effective:
        return []
    if None in effective:
        return sorted(effective[None])
    common = frozenset.intersection(*effective.values())
    qualified = {f"{p}{TENANT_SEPARATOR}{t}" for t, ps in effective.items() for p in ps - common}
    return sorted(common) + sorted(qualified)


def perimeter_size(perimeter: Mapping[str, list[str]]) -> int:
    """Bytes the perimeter adds to a token's JSON payload (before base64url, x4/3)."""
    if not perimeter:
        return 0
    return len(json.dumps({PERIMETER: perimeter}, separators=(",", ":")).encode()) - 2


def perimeter_digest(perimeter: Mapping[str, list[str]]) -> str:
    """A stable reference to a perimeter: changes whenever an entry does."""
    canonical = json.dumps(perimeter, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:32]


def user_state(catalog: Catalog, a: Assignment) -> UserState:
    """The Keycloak state of a user whose assignment passed :func:`rules.check_assignment`.
    """
    groups = {group_path("status", a.status)}
    groups |= {group_path("profile", p) for p in a.profiles}
    groups |= {group_path("toggle", t) for t in a.toggles}
    groups |= {group_path("tenant", t) for t in a.tenants}
    attributes: dict[str, tuple[str, ...]] = {
        USER_TYPE: (a.user_type,),
        STATUS: (a.status,),
    }
    lists = {PROFILE_ATTRIBUTE: list(dict.fromkeys(a.profiles)), TOGGLES: sorted(a.toggles),
             TENANTS: sorted(a.tenants),
             PERMISSIONS: permission_values(effective_permissions(catalog, a))}
    attributes |= {name: tuple(values) for name, values in lists.items() if values}
    perimeter = a.perimeter_by_dimension()
    if perimeter_size(perimeter) <= catalog.perimeter_budget:
        attributes |= {perimeter_attribute(d): tuple(v) for d, v in perimeter.items()}
    else:
        attributes |= {overflow_attribute(d): tuple(v) for d, v in perimeter.items()}
        attributes[PERIMETER_REF] = (perimeter_digest(perimeter),)
    actions = {CONFIGURE_TOTP} if mfa_required(catalog, a) else set()
    return UserState(frozenset(groups), attributes, frozenset(actions))


def assignment_from_attributes(catalog: Catalog,
                               attributes: Mapping[str, Iterable[str]]) -> Assignment:
    """Read back what :func:`user_state` wrote (inline or overflowing perimeter alike)."""
    def values(name: str) -> list[str]:
        return list(attributes.get(name) or ())

    entries = set()
    for dimension in catalog.dimension_by_name:
        for name in (perimeter_attribute(dimension), overflow_attribute(dimension)):
            entries |= {PerimeterEntry(dimension, v) for v in values(name)}
    return Assignment(
        user_type=(values(USER_TYPE) or [""])[0], status=(values(STATUS) or [""])[0],
        profiles=tuple(values(PROFILE_ATTRIBUTE)), toggles=frozenset(values(TOGGLES)),
        perimeter=frozenset(entries), tenants=frozenset(values(TENANTS)))


# -- realm --------------------------------------------------------------------------------

@dataclass(frozen=True)
class RealmFragments:
    """The realm configuration a catalog needs, as :mod:`bridge.realm.desired` models."""

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
    """The claims of the catalog's client. ``profile`` is a string when a user holds one
    profile (seed 004), a list otherwise (seed 003); ``tenants``, ``permissions`` and each
    ``perimeter.<dimension>`` are always lists."""
    mappers = [
        attribute_mapper("catalog user_type", USER_TYPE, USER_TYPE, False),
        attribute_mapper("catalog status", STATUS, STATUS, False),
        attribute_mapper("catalog profile", PROFILE_ATTRIBUTE, PROFILE,
                         catalog.profiles_per_user > 1),
        attribute_mapper("catalog permissions", PERMISSIONS, PERMISSIONS, True),
    ]
    if catalog.tenancy is not None:
        mappers.append(attribute_mapper("catalog tenants", TENANTS, TENANTS, True))
    for dimension in catalog.dimension_by_name:
        mappers.append(attribute_mapper(f"catalog perimeter {dimension}",
                                        perimeter_attribute(dimension),
                                        perimeter_attribute(dimension), True))
    if catalog.dimensions:
        mappers.append(attribute_mapper("catalog perimeter_ref", PERIMETER_REF, PERIMETER_REF,
                                        False))
    return tuple(mappers)


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
        "tenant": [_group(t.name, "tenant", t.label,
                          extra={"caps": sorted(catalog.caps(t.name))})
                   for t in (catalog.tenancy.tenants if catalog.tenancy else ())],
    }
    group = Group(name=CATALOG_GROUP,
                  attributes={KIND_ATTRIBUTE: ["catalog"], "catalog": [catalog.name]},
                  subGroups=[Group(name=kind, subGroups=groups)
                             for kind, groups in kinds.items() if groups])
    mfa = any(s.mfa for s in catalog.statuses) or any(p.mfa for p in catalog.profiles)
    return RealmFragments(client_roles, group, token_mappers(catalog),
                          (MFA_ROLE,) if mfa else ())


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
    if problems:
        raise ConfigError(problems)
    return merged


def expected_claims(catalog: Catalog, state: UserState) -> dict[str, object]:
    """The claims :func:`token_mappers` put into a token for ``state``, as Keycloak's User
    Attribute mapper builds them (a dot in the claim name nests; a single-valued mapper
    takes the first value; an absent attribute gives no claim). For tests and benchmarks:
    the integration tests compare it with real tokens."""
    claims: dict[str, object] = {}
    for mapper in token_mappers(catalog):
        values = list(state.attributes.get(mapper.config["user.attribute"], ()))
        if not values:
            continue
        value: object = values if mapper.config["multivalued"] == "true" else values[0]
        *parents, leaf = mapper.config["claim.name"].split(".")
        target = claims
        for parent in parents:
            target = target.setdefault(parent, {})  # type: ignore[assignment]
        target[leaf] = value
    return claims
