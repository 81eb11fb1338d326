"""Tenant invariants and defaults in the write paths (issue 14, seed 004: at least one
Administrator per dossier; a dossier's first user is its Administrator).

The rules are pure (:func:`bridge.catalog.rules.lost_holdings`, :func:`check_invariant`,
:func:`default_profile`); this module gives them what they need from Keycloak, atomically
on N replicas. Every user write that can break an invariant goes through
:meth:`TenantInvariants.user_write` (SCIM PUT, PATCH, DELETE and each of them in Bulk; the
API and CLI's update, deactivate, delete and revoke; the catalog reconcile), and every
create through :meth:`TenantInvariants.first_user`.

**Check then write, atomically.** A write that takes a holder away from tenant T counts
T's holders and writes while holding T's lock (``resource_key(realm, "tenant", T)``,
:mod:`bridge.locks`: PostgreSQL advisory locks shared by the replicas when
``BRIDGE_LOCK_URL`` is set), so two replicas deactivating T's last two Administrators at
once are serialised: the second counts after the first wrote, and is refused. Keycloak
answers the count from its database (no cache), whichever node is asked.

**Lock order.** A write learns which tenants it touches only once it read the user (under
the user's lock). Waiting for a tenant lock while holding a user lock would invert the
order the tenant writes take them in (tenant, then each member), so while it holds the
user's lock a write only *tries* the tenants' locks (``hold(wait=False)``: granted at once
or refused at once, never waiting, so never closing a cycle). Granted, the same pass counts
and writes. Refused (another write of the tenant is under way), the pass writes nothing: it
lets the user's lock go and the write starts again, waiting for the tenants' locks and the
user's together, taken in one sorted call (tenant keys sort before user keys). Writes that
remove no holder (every create, most changes, any change of a user holding no invariant
profile) take no tenant lock and count nothing.

**Counts** (two admin calls each): ``GET /users/count?q=tenants:T profiles:P&enabled=true``,
plus the same on ``access_overflow.tenants`` (users past the access budget).
Measured on Keycloak 26.7.5: ``q=`` matches an attribute's whole value (``dossier-a`` does
not count ``dossier-ab``), case-insensitively (``lower(value)``), every term must match
(AND), and ``enabled=true`` leaves disabled users out. Organization members cannot say who
holds a profile (members carry no attributes), so they are not counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from typing import Protocol, TypeVar

from bridge.catalog.mapping import (
    PROFILE_ATTRIBUTE,
    TENANTS,
    TENANTS_OVERFLOW,
    assignment_from_attributes,
)
from bridge.catalog.model import Assignment, Catalog
from bridge.catalog.rules import (
    check_invariant,
    default_profile,
    lost_holdings,
    with_default_profile,
)
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.locks import (
    LocalLocks,
    LockTimeout,
    LockUnavailable,
    ResourceLocks,
    resource_key,
    user_key,
)

T = TypeVar("T")
Attributes = Mapping[str, "list[str] | tuple[str, ...]"]

MAX_PASSES = 3
"""Passes of one write at most: the first learns the tenants to lock and usually gets them
at once; a second when another write held them. A third only if the user changed tenants
in between; past it the write is busy."""


class TenantCounts(Protocol):
    """What the invariants ask the directory (one admin call each)."""

    def holders(self, tenant: str, profile: str) -> int:
        """Active users of ``tenant`` holding ``profile``."""
        ...

    def members(self, tenant: str) -> int:
        """Users of ``tenant``, enabled or not."""
        ...


class KeycloakTenantCounts:
    """:class:`TenantCounts` from Keycloak's user attributes (``tenants``, ``profiles``), the
    source of the token's claims: two ``GET /users/count`` each.

    A user past the catalog's ``access_budget`` holds its tenants in
    ``access_overflow.tenants`` instead of ``tenants`` (the token then carries
    ``access_ref``), and one ``q=`` search matches one attribute only. Each count is the sum
    of a search on either attribute: a user has one or the other, never both, so nobody is
    counted twice, and a dossier whose only Administrator overflowed still counts it."""

    def __init__(self, gw: AdminGateway, realm: str) -> None:
        self.gw = gw
        self.realm = realm

    def holders(self, tenant: str, profile: str) -> int:
        return sum(kc_users.count(self.gw, self.realm,
                                  q=f"{attribute}:{tenant} {PROFILE_ATTRIBUTE}:{profile}",
                                  enabled="true")
                   for attribute in TENANT_ATTRIBUTES)

    def members(self, tenant: str) -> int:
        return sum(kc_users.count(self.gw, self.realm, q=f"{attribute}:{tenant}")
                   for attribute in TENANT_ATTRIBUTES)


TENANT_ATTRIBUTES = (TENANTS, TENANTS_OVERFLOW)
"""Where a user's tenants are stored: inline (mapped into tokens) or behind ``access_ref``."""


def tenant_key(scope: str, tenant: str) -> str:
    """The lock of one tenant: the invariants' writes and the tenant's own (caps, members)."""
    return resource_key(scope, "tenant", tenant)


class TenantLocksNeeded(Exception):
    """A pass found that its write takes holders from ``tenants`` whose locks another write
    holds; it wrote nothing. :meth:`TenantInvariants.user_write` starts it again, waiting
    for them."""

    def __init__(self, tenants: frozenset[str]) -> None:
        super().__init__(f"tenant locks needed: {sorted(tenants)}")
        self.tenants = tenants


class Pass:
    """One pass of a user write: which tenant locks it holds, and the check it makes."""

    def __init__(self, invariants: TenantInvariants, held: frozenset[str],
                 stack: ExitStack) -> None:
        self._invariants = invariants
        self.held = held
        self._stack = stack

    def take(self, tenants: frozenset[str]) -> bool:
        """The locks of ``tenants`` too, for the rest of the pass, if they are free now."""
        keys = [tenant_key(self._invariants.scope, t) for t in sorted(tenants - self.held)]
        try:
            self._stack.enter_context(self._invariants.locks.hold(*keys, wait=False))
        except (LockTimeout, LockUnavailable):
            return False
        self.held = self.held | tenants
        return True

    def keep(self, before: Attributes | None, before_enabled: bool,
             after: Attributes | None, after_enabled: bool) -> None:
        """Refuse (:class:`bridge.catalog.rules.InvariantViolation`) the write of a user
        from ``before`` to ``after`` (Keycloak attributes and enabled; ``after`` None: the
        user is deleted) when it breaks a tenant's invariant. Call it after every other
        check and just before writing: it counts (one call per tenant and invariant the
        write takes a holder from), or raises :class:`TenantLocksNeeded` when this pass
        cannot take those tenants' locks at once."""
        self._invariants.keep(self, before, before_enabled, after, after_enabled)


class TenantInvariants:
    """The invariants and defaults of one catalog's tenants, over one realm's users."""

    def __init__(self, catalog: Catalog | None, counts: TenantCounts | None, *,
                 locks: ResourceLocks | None = None, scope: str = "") -> None:
        self.catalog = catalog
        self.counts = counts
        self.locks = locks if locks is not None else LocalLocks()
        self.scope = scope

    @property
    def active(self) -> bool:
        tenancy = self.catalog.tenancy if self.catalog is not None else None
        return self.counts is not None and tenancy is not None and bool(
            tenancy.invariants or tenancy.defaults.first_user_profile)

    def user_write(self, user_id: str, body: Callable[[Pass], T]) -> T:
        """Run ``body`` (read the user fresh, check, write) under the user's lock, and under
        the locks of the tenants its write takes holders from (see the module's doc)."""
        held: frozenset[str] = frozenset()
        for _ in range(MAX_PASSES):
            keys = [tenant_key(self.scope, t) for t in sorted(held)]
            try:
                with ExitStack() as stack:
                    stack.enter_context(self.locks.hold(*keys, user_key(self.scope, user_id)))
                    return body(Pass(self, held, stack))
            except TenantLocksNeeded as needed:
                held = held | needed.tenants
        raise LockTimeout(f"user {user_id!r} kept changing tenants while being written")

    def keep(self, step: Pass, before: Attributes | None, before_enabled: bool,
             after: Attributes | None, after_enabled: bool) -> None:
        if not self.active:
            return
        assert self.catalog is not None and self.counts is not None
        lost = lost_holdings(self.catalog, self._facts(before), before_enabled,
                             self._facts(after), after_enabled)
        if not lost:
            return
        needed = frozenset(h.tenant for h in lost)
        if not needed <= step.held and not step.take(needed):
            raise TenantLocksNeeded(needed)
        for holding in lost:
            check_invariant(self.catalog, holding,
                            self.counts.holders(holding.tenant, holding.invariant.profile))

    def _facts(self, attributes: Attributes | None) -> Assignment | None:
        assert self.catalog is not None
        return None if attributes is None else assignment_from_attributes(self.catalog,
                                                                          attributes)

    # -- defaults

    def needs_default(self, a: Assignment) -> bool:
        """Whether creating ``a`` may get the default profile (then :meth:`first_user`
        counts its tenants' members): no profile given, tenants given, a status that may
        hold the default. Every other create counts nothing."""
        return self.active and self.catalog is not None \
            and default_profile(self.catalog, a) is not None

    @contextlib.contextmanager
    def first_user(self, a: Assignment) -> Iterator[Assignment]:
        """``a`` as it is to be created: with the catalog's ``first_user_profile`` when the
        write gives no profile and one of its tenants has no member yet (seed 004). The
        create is to happen inside the block: it holds those tenants' locks, so two first
        users created at once are counted one after the other."""
        if not self.needs_default(a):
            yield a
            return
        assert self.catalog is not None and self.counts is not None
        tenants = sorted(a.tenants)
        with self.locks.hold(*(tenant_key(self.scope, t) for t in tenants)):
            empty = {t for t in tenants if self.counts.members(t) == 0}
            yield with_default_profile(self.catalog, a, empty)
