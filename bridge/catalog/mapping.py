"""The catalog as Keycloak state, computed without calling Keycloak.

Two halves (see ``docs/access-catalog.md`` for the reasons):

**Realm** (:func:`token_claims` here, the rest in :mod:`bridge.realm.from_catalog`), applied
by ``bridge realm apply``:

- every permission is a client role of the same name on its client;
- one group per status, profile and toggle under ``/bridge/catalog``::

      /bridge/catalog/status/<status>     client roles it grants (+ realm role mfa-required)
      /bridge/catalog/profile/<profile>   client roles it grants (+ mfa-required)
      /bridge/catalog/toggle/<toggle>     client roles it adds

  (tenants are Keycloak Organizations, data rather than configuration:
  :mod:`bridge.tenants`; a user is a member of the organization of each of its tenants);

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
``access_ref``              when ``tenants`` and ``permissions`` together exceed
                            ``access_budget`` bytes of claims (a user of hundreds of
                            tenants): a digest of both, which the app resolves through the
                            bridge (``GET /api/v1/me/access``); the values then live in
                            ``access_overflow.tenants`` / ``access_overflow.permissions``
                            (not mapped), and ``tenants`` / ``permissions`` are absent
==========================  =================================================================

Group memberships are the status', profiles' and toggles' groups; an MFA status or
profile adds the ``CONFIGURE_TOTP`` required action (seed 003).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bridge.catalog.model import Assignment, Catalog, PerimeterEntry
from bridge.catalog.rules import effective_permissions, mfa_required

PARENT_GROUP = "bridge"
CATALOG_GROUP = "catalog"
ROOT = f"/{PARENT_GROUP}/{CATALOG_GROUP}"
KINDS = ("status", "profile", "toggle")
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
ROLES = "roles"
PERIMETER = "perimeter"
PERIMETER_REF = "perimeter_ref"
PERIMETER_OVERFLOW = "perimeter_overflow"
ACCESS_REF = "access_ref"
ACCESS_OVERFLOW = "access_overflow"
TENANTS_OVERFLOW = f"{ACCESS_OVERFLOW}.{TENANTS}"
PERMISSIONS_OVERFLOW = f"{ACCESS_OVERFLOW}.{PERMISSIONS}"
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
    names = {USER_TYPE, STATUS, PROFILE_ATTRIBUTE, TOGGLES, TENANTS, PERMISSIONS, PERIMETER_REF,
             ACCESS_REF, TENANTS_OVERFLOW, PERMISSIONS_OVERFLOW}
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


def access_size(tenants: list[str], permissions: list[str]) -> int:
    """Bytes ``tenants`` and ``permissions`` add to a token's JSON payload (before base64url,
    x4/3): the ``tenants`` claim, and ``permissions`` twice (the ``roles`` claim is the same
    attribute)."""
    claims = {TENANTS: tenants, PERMISSIONS: permissions, ROLES: permissions}
    present = {k: v for k, v in claims.items() if v}
    if not present:
        return 0
    return len(json.dumps(present, separators=(",", ":")).encode()) - 2


def access_digest(tenants: list[str], permissions: list[str]) -> str:
    """A stable reference to a user's tenants and permissions: changes whenever one does."""
    canonical = json.dumps({TENANTS: sorted(tenants), PERMISSIONS: sorted(permissions)},
                           separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:32]


def access_attributes(catalog: Catalog, tenants: list[str], permissions: list[str]
                      ) -> dict[str, tuple[str, ...]]:
    """``tenants`` and ``permissions`` inline when they fit ``catalog.access_budget``, else
    in the unmapped overflow attributes behind an ``access_ref`` (the same strategy as a
    large perimeter). Empty lists give no attribute."""
    if access_size(tenants, permissions) <= catalog.access_budget:
        named = {TENANTS: tenants, PERMISSIONS: permissions}
        return {k: tuple(v) for k, v in named.items() if v}
    named = {TENANTS_OVERFLOW: tenants, PERMISSIONS_OVERFLOW: permissions}
    return {**{k: tuple(v) for k, v in named.items() if v},
            ACCESS_REF: (access_digest(tenants, permissions),)}


def stored_access(attributes: Mapping[str, Iterable[str]]) -> tuple[list[str], list[str]]:
    """The tenants and permissions a user's attributes hold, inline or overflowing alike
    (what its tokens carry, or their ``access_ref`` stands for)."""
    def values(inline: str, overflow: str) -> list[str]:
        return list(attributes.get(inline) or ()) + list(attributes.get(overflow) or ())

    return (values(TENANTS, TENANTS_OVERFLOW), values(PERMISSIONS, PERMISSIONS_OVERFLOW))


def user_state(catalog: Catalog, a: Assignment) -> UserState:
    """The Keycloak state of a user whose assignment passed :func:`rules.check_assignment`.
    """
    groups = {group_path("status", a.status)}
    groups |= {group_path("profile", p) for p in a.profiles}
    groups |= {group_path("toggle", t) for t in a.toggles}
    attributes: dict[str, tuple[str, ...]] = {
        USER_TYPE: (a.user_type,),
        STATUS: (a.status,),
    }
    lists = {PROFILE_ATTRIBUTE: list(dict.fromkeys(a.profiles)), TOGGLES: sorted(a.toggles)}
    attributes |= {name: tuple(values) for name, values in lists.items() if values}
    attributes |= access_attributes(
        catalog, sorted(a.tenants), permission_values(effective_permissions(catalog, a)))
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
    """Read back what :func:`user_state` wrote (inline or overflowing perimeter and
    tenants alike)."""
    def values(name: str) -> list[str]:
        return list(attributes.get(name) or ())

    entries = set()
    for dimension in catalog.dimension_by_name:
        for name in (perimeter_attribute(dimension), overflow_attribute(dimension)):
            entries |= {PerimeterEntry(dimension, v) for v in values(name)}
    return Assignment(
        user_type=(values(USER_TYPE) or [""])[0], status=(values(STATUS) or [""])[0],
        profiles=tuple(values(PROFILE_ATTRIBUTE)), toggles=frozenset(values(TOGGLES)),
        perimeter=frozenset(entries), tenants=frozenset(stored_access(attributes)[0]))


# -- token claims -------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenClaim:
    """One claim of the catalog's client, copied from one user attribute (the realm layer
    realises it as Keycloak's built-in User Attribute mapper named ``catalog <label>``)."""

    label: str
    attribute: str
    claim: str
    multivalued: bool


def token_claims(catalog: Catalog) -> tuple[TokenClaim, ...]:
    """The claims of the catalog's client. ``profile`` is a string when a user holds one
    profile (seed 004), a list otherwise (seed 003); ``tenants``, ``permissions`` and each
    ``perimeter.<dimension>`` are always lists."""
    claims = [
        TokenClaim(USER_TYPE, USER_TYPE, USER_TYPE, False),
        TokenClaim(STATUS, STATUS, STATUS, False),
        TokenClaim(PROFILE, PROFILE_ATTRIBUTE, PROFILE, catalog.profiles_per_user > 1),
        TokenClaim(PERMISSIONS, PERMISSIONS, PERMISSIONS, True),
        # ``roles`` too is the effective permissions, never the union of the groups' roles:
        # no claim of the catalog's client shows more than ``permissions`` (issue 9).
        TokenClaim(ROLES, PERMISSIONS, ROLES, True),
    ]
    if catalog.tenancy is not None:
        claims.append(TokenClaim(TENANTS, TENANTS, TENANTS, True))
        claims.append(TokenClaim(ACCESS_REF, ACCESS_REF, ACCESS_REF, False))
    for dimension in catalog.dimension_by_name:
        claims.append(TokenClaim(f"{PERIMETER} {dimension}", perimeter_attribute(dimension),
                                 perimeter_attribute(dimension), True))
    if catalog.dimensions:
        claims.append(TokenClaim(PERIMETER_REF, PERIMETER_REF, PERIMETER_REF, False))
    return tuple(claims)


def expected_claims(catalog: Catalog, state: UserState) -> dict[str, object]:
    """The claims :func:`token_claims` put into a token for ``state``, as Keycloak's User
    Attribute mapper builds them (a dot in the claim name nests; a single-valued mapper
    takes the first value; an absent attribute gives no claim). For tests and benchmarks:
    the integration tests compare it with real tokens."""
    claims: dict[str, object] = {}
    for claim in token_claims(catalog):
        values = list(state.attributes.get(claim.attribute, ()))
        if not values:
            continue
        value: object = values if claim.multivalued else values[0]
        *parents, leaf = claim.claim.split(".")
        target = claims
        for parent in parents:
            target = target.setdefault(parent, {})  # type: ignore[assignment]
        target[leaf] = value
    return claims
