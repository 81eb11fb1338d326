"""The access catalog: what a product lets its staff, clients and technicians see and do.

One catalog per product, as configuration (``realm-config/examples/<seed>/catalog.yaml``);
no code per customer. The nouns, each from the seeds in ``../shared/seeds/``:

- **permission**: one right, realised as a client role of the same name on its client
  (``portal`` unless said otherwise). Names are unique across the catalog.
- **user type**: ``internal`` / ``external`` (seed 000's invitation form).
- **status**: what a person is to the business (client, employee, external technician...),
  of one user type; may grant permissions itself, lists the profiles it may hold, the
  permissions it may never hold (seed 000), whether it is exclusive (seed 003) and needs
  MFA (seed 003).
- **profile**: a named set of permissions (seed 004's six, seed 002's ordered roles) with a
  ``rank``: nobody grants a profile above its own (seed 002's order).
- **toggle**: a per-user option layered on a profile, adding or removing permissions
  (seed 002: payments, documents, hide client contact...).
- **dimension**: a kind of perimeter entry (project, position, team...). A dimension with a
  ``parent`` is hierarchical: its entries are written ``<parent entry>/<local name>``
  (``p1/gate-3``), so a grant of ``p1`` covers every position of project p1.
- **tenancy**: tenants (seed 004's dossiers) and their caps: a permission holds in a tenant
  only if the tenant enables it. A profile is per user, for all its tenants (seed 004).
  Invariants say what every tenant keeps (at least one Administrator), defaults what its
  writes leave out (its first user's profile).
- **delegation**: who may invite or change whom (seed 001: "may grant client access";
  seed 004: dossier Administrators within their own dossiers).

A user's facts are an :class:`Assignment`; :mod:`bridge.catalog.rules` says whether it is
allowed and what it is worth, :mod:`bridge.catalog.mapping` what Keycloak must hold for it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"
"""Identifier of statuses, profiles, toggles, tenants: also a Keycloak group name."""
PERMISSION = r"^[a-z0-9][a-z0-9._-]{0,99}$"
"""Permission (= client role) name: no ``@``, which qualifies a permission by tenant."""
DIMENSION = r"^[a-z][a-z0-9_]{0,30}$"
"""Dimension name: no dot, since it becomes the ``perimeter.<dimension>`` claim path."""
ENTRY = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Default pattern of one segment of a perimeter entry (``/`` separates hierarchy levels)."""
ANY = "*"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Permission(_Frozen):
    """One right; a client role ``name`` on client ``client`` (default: the catalog's)."""

    name: str = Field(pattern=PERMISSION)
    client: str | None = None
    description: str = ""


class Status(_Frozen):
    """What a person is to the business; exactly one per user."""

    name: str = Field(pattern=NAME)
    label: str = ""
    user_type: str
    grants: tuple[str, ...] = ()
    """Permissions every holder of the status has (seed 000: a client reads its perimeter)."""
    profiles: tuple[str, ...] = ()
    """Profiles a holder may hold (none listed: the status holds no profile)."""
    forbids: tuple[str, ...] = ()
    """Permissions a holder may never have, whatever grants them (seed 000)."""
    exclusive: bool = False
    """Holds nothing else: at most one profile of its own, no toggle (seed 003)."""
    mfa: bool = False
    """Must log in with a second factor (seed 003: the technician sets up MFA)."""
    dimensions: tuple[str, ...] | None = None
    """Perimeter dimensions a holder may be given (``None``: any)."""
    unrestricted_perimeter: bool = False
    """Sees everything (staff): an empty perimeter means all, and delegation from a holder
    is not bounded by a perimeter. Otherwise an empty perimeter means nothing."""


class Profile(_Frozen):
    """A named set of permissions (seed 004's access profiles, seed 002's roles)."""

    name: str = Field(pattern=NAME)
    label: str = ""
    rank: int = Field(ge=0)
    """Order for delegation: nobody grants a profile ranked above its own highest."""
    grants: tuple[str, ...] = ()
    exclusive: bool = False
    """When held, no other profile and no toggle may be (seed 003's external technician)."""
    mfa: bool = False


class Toggle(_Frozen):
    """A per-user option layered on a profile (seed 002): adds, then removes, permissions."""

    name: str = Field(pattern=NAME)
    label: str = ""
    adds: tuple[str, ...] = ()
    removes: tuple[str, ...] = ()
    profiles: tuple[str, ...] | None = None
    """Profiles it may be layered on (``None``: any; seed 002: User and Contributor)."""
    statuses: tuple[str, ...] | None = None
    """Statuses whose holders may have it (``None``: any)."""


class Dimension(_Frozen):
    """A kind of perimeter entry. With ``parent``, entries are ``<parent entry>/<name>``."""

    name: str = Field(pattern=DIMENSION)
    label: str = ""
    parent: str | None = None
    values: tuple[str, ...] | None = None
    """The known entries (``None``: any entry matching ``pattern`` is known)."""
    pattern: str = ENTRY
    """Regular expression one segment must match (full match)."""


class Invariant(_Frozen):
    """What every tenant must keep: at least ``at_least`` active users holding ``profile``
    (seed 004: "au moins un Administrateur par dossier"). A write that would take a tenant
    from satisfying it to not satisfying it (deactivating, deleting, changing the profile
    of, or removing from the tenant one of its last holders) is refused, rule
    ``tenant.invariant`` (:func:`bridge.catalog.rules.check_invariant`). Disabled users
    hold nothing."""

    name: str = Field(pattern=NAME)
    description: str = ""
    profile: str
    at_least: int = Field(default=1, ge=1)


class TenantDefaults(_Frozen):
    """What a write leaves out, per tenant (seed 004: a dossier's first user is its
    Administrator)."""

    first_user_profile: str | None = None
    """The profile of a user created into a tenant that has no member yet, when the write
    gives none (and the user's status may hold it)."""


class Tenant(_Frozen):
    """One tenant: a seed of the catalog, or (in the write paths) a live one read from its
    Keycloak organization (:meth:`bridge.tenants.store.TenantStore.live_catalog`)."""

    name: str = Field(pattern=NAME)
    label: str = ""
    enables: tuple[str, ...] = ()
    """Permissions this tenant enables beyond the baseline (seed 004: payments, financial)."""
    suspended: bool = False
    """A suspended tenant enables nothing: its ``@tenant`` permissions leave the tokens of
    its members (it stays one of their tenants)."""


TenantOperation = Literal["add", "rename", "set-caps", "suspend", "resume", "delete"]
TENANT_OPERATIONS: tuple[str, ...] = ("add", "rename", "set-caps", "suspend", "resume",
                                      "delete")


class TenantManager(_Frozen):
    """Who may manage which tenants through the API (``tenancy.managers``): actors matching
    ``actor`` may do the operations of ``may``, on every tenant or (``own_tenants_only``) on
    their own only; they may also read (list, show) the tenants the rule covers. Operators
    (the CLI) are not delegated."""

    name: str = Field(pattern=NAME)
    description: str = ""
    actor: Selector
    may: tuple[TenantOperation, ...] = ()
    own_tenants_only: bool = False


class Tenancy(_Frozen):
    """Tenants and their caps: effective = (profile ∪ toggles) ∩ caps(tenant) (seed 004)."""

    label: str = "tenant"
    baseline: tuple[str, ...] = ()
    """Permissions every tenant enables."""
    may_enable: tuple[str, ...] | None = None
    """The permissions a tenant may enable beyond the baseline (a caps change outside them
    is refused, rule ``tenant.caps``). ``None``: those the seed tenants enable."""
    tenants: tuple[Tenant, ...] = ()
    """Seed tenants (optional): created as organizations by ``bridge realm apply`` when
    absent, never overwritten. At runtime tenants are data (:mod:`bridge.tenants`)."""
    invariants: tuple[Invariant, ...] = ()
    """Per tenant, what it must keep (seed 004: at least one Administrator)."""
    defaults: TenantDefaults = TenantDefaults()
    """What a tenant's writes leave out (seed 004: its first user's profile)."""
    managers: tuple[TenantManager, ...] = ()
    """Who may manage which tenants through the API (none declared: nobody, only
    operators through the CLI)."""

    @property
    def enableable(self) -> frozenset[str]:
        """What a tenant may enable: ``may_enable``, or what the seeds enable."""
        if self.may_enable is not None:
            return frozenset(self.may_enable)
        return frozenset(p for t in self.tenants for p in t.enables)


class Selector(_Frozen):
    """Matches a user: every kind given must match (any listed name of that kind)."""

    statuses: tuple[str, ...] | None = None
    profiles: tuple[str, ...] | None = None
    permissions: tuple[str, ...] | None = None
    """Holds one of these effective permissions (seed 001: "may grant client access")."""


class Grantable(_Frozen):
    """What a delegation rule lets its actors assign (``None``: any, within rank)."""

    statuses: tuple[str, ...]
    profiles: tuple[str, ...] | None = None
    toggles: tuple[str, ...] | None = None


class Delegation(_Frozen):
    """Who may invite or change whom. Always also: never a profile ranked above the actor's
    own, never a perimeter entry outside the actor's own (unless its status is unrestricted).
    """

    name: str = Field(pattern=NAME)
    description: str = ""
    actor: Selector
    may_assign: Grantable
    own_tenants_only: bool = False
    """Targets' tenants must all be the actor's (seed 004: Administrators, own dossier)."""
    max_rank: int | None = Field(default=None, ge=0)
    """Highest profile rank the rule lets its actors grant; ``None``: the actor's own rank
    (an actor without profile, e.g. the accounting firm's staff of seed 004, needs one)."""


class ScimClientSelector(_Frozen):
    """Which SCIM clients a :class:`ScimClientRule` is for (every kind given must match)."""

    clients: tuple[str, ...] | None = None
    """Client ids as the bridge authenticates them: a token's ``azp`` (``hr-system``), or
    ``static:<name>`` for a static token. ``None``: any client."""
    bound: bool | None = None
    """``True``: tenant-bound clients only; ``False``: unbound clients only; ``None``: both."""


class ScimGrantable(Grantable):
    """What a SCIM client rule lets its clients assign: :class:`Grantable`'s statuses,
    profiles and toggles, and the perimeter dimensions and tenants (``None``: any)."""

    dimensions: tuple[str, ...] | None = None
    tenants: tuple[str, ...] | None = None
    """Unbound clients only: a tenant-bound client assigns its own tenant and no other."""


class ScimClientRule(_Frozen):
    """What a SCIM client (an HR system, an IdP) may assign: a SCIM client is an actor like
    any other (issue 9). A tenant-bound client is never given an internal or unrestricted
    status, nor any tenant but its own, whatever a rule says (the loader refuses such a
    rule; :func:`bridge.catalog.rules.check_scim_client` refuses such a write)."""

    name: str = Field(pattern=NAME)
    description: str = ""
    client: ScimClientSelector
    may_assign: ScimGrantable


class Catalog(_Frozen):
    name: str = Field(pattern=NAME)
    description: str = ""
    client: str = "portal"
    """The client whose tokens carry the claims, and the default client of permissions."""
    user_types: tuple[str, ...] = ("internal", "external")
    profiles_per_user: int = Field(default=1, ge=1)
    """1 (seed 004: one profile per user) or more (seed 003: role check-boxes)."""
    perimeter_budget: int = Field(default=3000, ge=0)
    """Bytes of perimeter a token may carry inline; beyond, a ``perimeter_ref`` claim."""
    access_budget: int = Field(default=3000, ge=0)
    """Bytes of ``tenants`` and ``permissions`` (counted twice: ``roles`` too) a token may
    carry inline; beyond, an ``access_ref`` claim (a user of hundreds of tenants)."""
    permissions: tuple[Permission, ...] = ()
    statuses: tuple[Status, ...]
    profiles: tuple[Profile, ...] = ()
    toggles: tuple[Toggle, ...] = ()
    dimensions: tuple[Dimension, ...] = ()
    tenancy: Tenancy | None = None
    delegation: tuple[Delegation, ...] = ()
    scim_clients: tuple[ScimClientRule, ...] | None = None
    """What SCIM clients may assign. Not declared (``None``): an unbound client assigns
    whatever the assignment rules allow (an HR system provisions like an operator), a
    tenant-bound client assigns nothing (fail safe). Declared (even empty): every SCIM
    write of domain facts needs a rule naming its client."""

    # -- look-ups (names are validated unique by the loader). Properties, not cached: a
    # cache would survive ``model_copy(update=...)`` and answer for the original.

    @property
    def permission_by_name(self) -> dict[str, Permission]:
        return {p.name: p for p in self.permissions}

    @property
    def status_by_name(self) -> dict[str, Status]:
        return {s.name: s for s in self.statuses}

    @property
    def profile_by_name(self) -> dict[str, Profile]:
        return {p.name: p for p in self.profiles}

    @property
    def toggle_by_name(self) -> dict[str, Toggle]:
        return {t.name: t for t in self.toggles}

    @property
    def dimension_by_name(self) -> dict[str, Dimension]:
        return {d.name: d for d in self.dimensions}

    @property
    def tenant_by_name(self) -> dict[str, Tenant]:
        return {t.name: t for t in self.tenancy.tenants} if self.tenancy else {}

    def client_of(self, permission: str) -> str:
        """The client on which a permission is a client role."""
        return self.permission_by_name[permission].client or self.client

    def caps(self, tenant: str) -> frozenset[str]:
        """What a tenant enables: the baseline and its own additions (seed 004); nothing
        when it is suspended or unknown (a live catalog holds only the tenants read)."""
        assert self.tenancy is not None
        found = self.tenant_by_name.get(tenant)
        if found is None or found.suspended:
            return frozenset()  # deleted (or never known), or suspended: enables nothing
        return frozenset(self.tenancy.baseline) | frozenset(found.enables)

    def ancestors(self, dimension: str) -> list[str]:
        """Parent, grand-parent... of a dimension (the loader refuses cycles)."""
        chain: list[str] = []
        parent = self.dimension_by_name[dimension].parent
        while parent is not None:
            chain.append(parent)
            parent = self.dimension_by_name[parent].parent
        return chain

    def segment_pattern(self, dimension: str) -> re.Pattern[str]:
        return re.compile(self.dimension_by_name[dimension].pattern)


# -- a user's facts -----------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class PerimeterEntry:
    """One entry: ``value`` is ``<parent entry>/<segment>`` in a hierarchical dimension."""

    dimension: str
    value: str

    def covers(self, other: PerimeterEntry, catalog: Catalog) -> bool:
        """This grant includes ``other``: the same entry, or one below it in the hierarchy."""
        if other == self:
            return True
        if other.dimension not in catalog.dimension_by_name \
                or self.dimension not in catalog.ancestors(other.dimension):
            return False
        return other.value.startswith(self.value + "/")


@dataclass(frozen=True)
class Assignment:
    """A user's domain facts, as a write path asks for them (SCIM, API, CLI)."""

    user_type: str
    status: str
    profiles: tuple[str, ...] = ()
    toggles: frozenset[str] = frozenset()
    perimeter: frozenset[PerimeterEntry] = frozenset()
    tenants: frozenset[str] = frozenset()
    tenant_profiles: tuple[tuple[str, str], ...] = ()
    """``(tenant, profile)`` pairs: a profile asked for one tenant only: seed 004 refuses it (see
    :func:`bridge.catalog.rules.check_profile_per_user`); kept so the refusal can be said."""

    @classmethod
    def of(cls, user_type: str, status: str, profile: str | Iterable[str] | None = None,
           toggles: Iterable[str] = (), perimeter: Mapping[str, Iterable[str]] | None = None,
           tenants: Iterable[str] = (),
           tenant_profiles: Mapping[str, str] | None = None) -> Assignment:
        """Convenience constructor: ``perimeter={"project": ["p1", "p2"]}``."""
        profiles = (() if profile is None else (profile,) if isinstance(profile, str)
                    else tuple(profile))
        entries = frozenset(PerimeterEntry(d, v) for d, values in (perimeter or {}).items()
                            for v in values)
        return cls(user_type, status, profiles, frozenset(toggles), entries,
                   frozenset(tenants), tuple(sorted((tenant_profiles or {}).items())))

    def perimeter_by_dimension(self) -> dict[str, list[str]]:
        """Sorted entries per dimension (dimensions without entries are absent)."""
        result: dict[str, list[str]] = {}
        for entry in sorted(self.perimeter):
            result.setdefault(entry.dimension, []).append(entry.value)
        return result
