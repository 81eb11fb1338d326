"""Tenant writes: add, rename, set caps or responsible, suspend, resume, delete; each one
audited, and each change of what a tenant enables followed by the recompute of *its members
only* (never the whole realm).

A change of one tenant:

1. under the tenant's lock (``resource_key(realm, "tenant", alias)``, the organization's
   read-modify-write: Keycloak's PUT replaces every attribute), read it, PUT it;
2. then (lock released) page its members (``GET /organizations/{id}/members``, 100 a
   page), and for each member, under the member's user lock (the one SCIM, the API and
   reconcile take): read the user and its tenants fresh (``GET /users/{id}`` and
   ``GET /organizations/members/{id}/organizations``, which carries every tenant's caps),
   plan its state as every write path does (:func:`bridge.catalog.apply.plan_user_state`)
   and write it only if it changed (one PUT; one logout too when rights narrow).

Calls: 1 read + 1 write of the organization, then pages + 2 per member, + 1 per member whose
permissions change (+ 1 logout per member losing a right). Safe on N replicas without a
lock spanning the recompute: the organization is written *before* its members are listed,
a user write joins a tenant *before* it reads the caps (so either the recompute lists it or
it read the new caps), and each member's caps are read under its user lock (so two changes
of one tenant in a row leave every member with the last one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from bridge import errors as domain
from bridge.audit import Audited
from bridge.catalog.apply import apply_user_state, plan_user_state
from bridge.catalog.mapping import assignment_from_attributes, user_state
from bridge.catalog.model import Catalog
from bridge.keycloak import organizations as kc_orgs
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.locks import LocalLocks, LockTimeout, ResourceLocks, resource_key, user_key
from bridge.tenants.errors import (
    TenantExists,
    TenantHasMembers,
    TenantRefused,
    TenantUnknown,
)
from bridge.tenants.model import (
    ACTIVE,
    SUSPENDED,
    LiveTenant,
    Responsible,
    representation,
    valid_alias,
)
from bridge.tenants.store import TenantStore, with_tenants

logger = logging.getLogger(__name__)

WORKERS = 4
"""Members recomputed at once (a bounded pool: Keycloak serves the rest of the realm too)."""
PAGE = kc_orgs.MEMBERS_PAGE
UNSET: Any = object()
"""``responsible`` left as it is."""


@dataclass(frozen=True)
class Recomputed:
    """What a tenant change did to its members."""

    members: int = 0
    """Members read and planned."""
    written: int = 0
    """Members whose state changed (one write each)."""
    busy: tuple[str, ...] = ()
    """Members another writer held past the lock timeout: ``bridge catalog reconcile``
    (or the next write of that user) finishes them."""


@dataclass(frozen=True)
class TenantChange:
    """The outcome of one tenant operation."""

    tenant: LiveTenant
    changed: bool
    """Whether the tenant itself changed (False: it already was as asked; CLI exit 3)."""
    recomputed: Recomputed = field(default_factory=Recomputed)

    def summary(self) -> dict[str, Any]:
        return {**self.tenant.summary(), "changed": self.changed,
                "members_recomputed": self.recomputed.members,
                "members_written": self.recomputed.written,
                "members_busy": list(self.recomputed.busy)}


@dataclass(frozen=True)
class TenantPage:
    items: tuple[LiveTenant, ...]
    total: int
    first: int
    max: int


@dataclass(frozen=True)
class TenantDetails:
    tenant: LiveTenant
    members: int
    baseline: tuple[str, ...]
    enabled: tuple[str, ...]
    """What the tenant enables now: the baseline and its caps; nothing when suspended."""

    def summary(self) -> dict[str, Any]:
        return {**self.tenant.summary(), "members": self.members,
                "baseline": list(self.baseline), "enabled": list(self.enabled)}


class TenantService:
    """Tenants of one catalog in one realm (the CLI's ``bridge tenant`` and the API's
    ``/api/v1/tenants`` call it; delegation, who may manage which tenant, is the caller's)."""

    def __init__(self, gw: AdminGateway, realm: str, catalog: Catalog, *,
                 locks: ResourceLocks | None = None, workers: int = WORKERS) -> None:
        if catalog.tenancy is None:
            raise ValueError(f"catalog {catalog.name!r} declares no tenancy")
        self.gw = gw
        self.realm = realm
        self.catalog = catalog
        self.tenancy = catalog.tenancy
        self.store = TenantStore.of(gw, realm, catalog)
        self.locks = locks or LocalLocks()
        self.workers = max(1, workers)

    # -- reads

    def get(self, alias: str) -> LiveTenant:
        found = self.store.find(alias)
        if found is None:
            raise TenantUnknown(f"unknown {self.tenancy.label} {alias!r}")
        return found

    def show(self, alias: str) -> TenantDetails:
        tenant = self.get(alias)
        return TenantDetails(tenant, self.store.members_count(tenant),
                             tuple(sorted(self.tenancy.baseline)),
                             tuple(sorted(self._live(tenant).caps(alias))))

    def list(self, first: int = 0, max: int = 100) -> TenantPage:
        if not 0 <= first or not 1 <= max <= 1000:
            raise TenantRefused("first must be >= 0 and max between 1 and 1000",
                                code="tenant.page")
        return TenantPage(tuple(self.store.page(first, max)), self.store.count(), first, max)

    # -- writes

    def add(self, actor: str, alias: str, label: str | None = None,
            caps: Iterable[str] = (), responsible: str | None = None) -> LiveTenant:
        """A new tenant (no member yet: nothing to recompute). Refused when the alias is
        not an identifier, a cap is outside ``may_enable``, or the alias or label is taken."""
        target = {"id": alias, "tenant": alias}
        with Audited(actor, "tenant.add", target) as audit:
            if not valid_alias(alias):
                raise TenantRefused(f"{self.tenancy.label} {alias!r} is not an identifier "
                                    f"(lowercase letters, digits, - and _; at most 63)",
                                    code="tenant.alias", rule="tenant.alias")
            tenant = LiveTenant(alias, (label or alias).strip() or alias,
                                self._checked_caps(caps), ACTIVE,
                                self._responsible(responsible))
            with self._tenant_lock(alias):
                if self.store.find(alias) is not None:
                    raise TenantExists(f"{self.tenancy.label} {alias!r} already exists")
                try:
                    org_id = kc_orgs.create(self.gw, self.realm,
                                            representation(tenant, self.catalog.name))
                except domain.Duplicate:
                    raise TenantExists(f"a {self.tenancy.label} named {tenant.label!r} or "
                                       f"with alias {alias!r} already exists") from None
            return audit.done(replace(tenant, id=org_id), result="added")

    def set(self, actor: str, alias: str, *, label: str | None = None,
            caps: Iterable[str] | None = None, add_caps: Iterable[str] = (),
            remove_caps: Iterable[str] = (), responsible: Any = UNSET) -> TenantChange:
        """Rename, set the caps (``caps`` replaces them; ``add_caps``/``remove_caps``
        change some), or name the responsible (``None`` removes it). A change of caps
        recomputes the members."""
        def change(t: LiveTenant) -> LiveTenant:
            wanted = set(t.caps if caps is None else caps)
            wanted = (wanted | set(add_caps)) - set(remove_caps)
            new = replace(t, caps=self._checked_caps(wanted))
            if label is not None:
                if not label.strip():
                    raise TenantRefused("a label may not be empty", code="tenant.label")
                new = replace(new, label=label.strip())
            if responsible is not UNSET:
                new = replace(new, responsible=self._responsible(responsible))
            return new
        return self._change(actor, "tenant.set", alias, change)

    def suspend(self, actor: str, alias: str) -> TenantChange:
        """Its ``@tenant`` permissions leave every member (next token); it stays theirs."""
        return self._change(actor, "tenant.suspend", alias,
                            lambda t: replace(t, state=SUSPENDED))

    def resume(self, actor: str, alias: str) -> TenantChange:
        return self._change(actor, "tenant.resume", alias, lambda t: replace(t, state=ACTIVE))

    def delete(self, actor: str, alias: str, *, remove_members: bool = False) -> TenantChange:
        """Delete a tenant. Refused while it has members, unless ``remove_members``: then
        each member loses the tenant first (its permissions there, its ``tenants`` value),
        then the organization goes (and its memberships with it)."""
        target = {"id": alias, "tenant": alias}
        with Audited(actor, "tenant.delete", target) as audit:
            tenant = self.get(alias)
            count = self.store.members_count(tenant)
            if count and not remove_members:
                raise TenantHasMembers(
                    f"{self.tenancy.label} {alias!r} has {count} member(s): remove them "
                    f"first, or delete with remove-members")
            recomputed = Recomputed()
            if count:
                recomputed = self._recompute(tenant, removing=True)
                if recomputed.busy:
                    raise domain.Unavailable(
                        f"{len(recomputed.busy)} member(s) of {alias!r} were being written "
                        f"by another writer; nothing deleted, retry")
            with self._tenant_lock(alias):
                assert tenant.id is not None
                try:
                    kc_orgs.delete(self.gw, self.realm, tenant.id)
                except domain.NotFound:
                    pass  # deleted meanwhile
            return audit.done(TenantChange(tenant, True, recomputed), result="deleted")

    # -- the recompute

    def recompute(self, alias: str) -> Recomputed:
        """Recompute every member of ``alias`` (as after a change; a repair by hand)."""
        return self._recompute(self.get(alias))

    def _change(self, actor: str, action: str, alias: str,
                change: Callable[[LiveTenant], LiveTenant]) -> TenantChange:
        target = {"id": alias, "tenant": alias}
        with Audited(actor, action, target) as audit:
            with self._tenant_lock(alias):
                before = self.get(alias)
                after = change(before)
                if after == before:
                    return audit.done(TenantChange(before, False), result="unchanged")
                assert before.id is not None
                stored = kc_orgs.get(self.gw, self.realm, before.id)
                kc_orgs.update(self.gw, self.realm, before.id,
                               representation(after, self.catalog.name, stored))
            recomputed = Recomputed()
            if self._live(after).caps(alias) != self._live(before).caps(alias):
                # Written first, listed after: see the module docstring.
                recomputed = self._recompute(after)
            return audit.done(TenantChange(after, True, recomputed), result="changed")

    def _members(self, tenant: LiveTenant) -> Iterator[list[str]]:
        """The member ids, a page at a time; bounded by the count read first (+1 page), so
        a membership growing meanwhile cannot keep it going (those joined after the write
        read the new caps themselves)."""
        pages = self.store.members_count(tenant) // PAGE + 1
        first = 0
        for _ in range(pages):
            ids = self.store.member_ids(tenant, first=first, max=PAGE)
            if ids:
                yield ids
            if len(ids) < PAGE:
                return
            first += len(ids)

    def _recompute(self, tenant: LiveTenant, *, removing: bool = False) -> Recomputed:
        members = written = 0
        busy: list[str] = []
        with ThreadPoolExecutor(max_workers=self.workers,
                                thread_name_prefix="tenant-recompute") as pool:
            for ids in self._members(tenant):
                for user_id, outcome in zip(ids, pool.map(
                        lambda uid: self._member(uid, tenant.alias, removing), ids),
                        strict=True):
                    if outcome is None:
                        busy.append(user_id)
                        continue
                    members += 1
                    written += outcome
        return Recomputed(members, written, tuple(busy))

    def _member(self, user_id: str, alias: str, removing: bool) -> bool | None:
        """Recompute one member under its user lock; True when written, None when busy."""
        try:
            with self.locks.hold(user_key(self.realm, user_id)):
                return self._write_member(user_id, alias, removing)
        except LockTimeout:
            logger.warning("tenant %s: user %s busy; left for reconcile", alias, user_id)
            return None

    def _write_member(self, user_id: str, alias: str, removing: bool) -> bool:
        try:
            rep = kc_users.get(self.gw, self.realm, user_id)
        except domain.NotFound:
            return False  # deleted meanwhile
        stored: dict[str, list[str]] = rep.get("attributes") or {}
        facts = assignment_from_attributes(self.catalog, stored)
        if removing:
            facts = replace(facts, tenants=facts.tenants - {alias})
        if not facts.status:
            return False  # not a catalog user (an organization member made by hand)
        # Every tenant of the user, fresh, with caps: one call (and one per tenant of its
        # attribute it is not a member of, which reconcile repairs; a deleted one enables
        # nothing). The facts' rules were checked when they were written; only what the
        # tenants enable moved.
        found = self.store.of_member(user_id)
        found |= self.store.read(facts.tenants - set(found))
        live = with_tenants(self.catalog, found.values())
        plan = plan_user_state(live, stored, rep.get("requiredActions") or (),
                               user_state(live, facts))
        if not plan.catalog_changed:
            return False
        writer = _MemberWriter(self.gw, self.realm, rep)
        # Memberships as they are (the organization's delete ends this one), groups as
        # planned: nothing but attributes changes here.
        apply_user_state(writer, user_id, plan, groups=plan.groups,
                         memberships=frozenset(plan.tenants))
        return True

    # -- helpers

    def _live(self, tenant: LiveTenant) -> Catalog:
        return with_tenants(self.catalog, [tenant])

    def _checked_caps(self, caps: Iterable[str]) -> tuple[str, ...]:
        wanted = set(caps)
        outside = sorted(wanted - self.tenancy.enableable - set(self.tenancy.baseline))
        if outside:
            may = ", ".join(sorted(self.tenancy.enableable)) or "none"
            raise TenantRefused(
                f"a {self.tenancy.label} may not enable "
                f"{', '.join(repr(p) for p in outside)} (tenancy.may_enable: {may})",
                code="tenant.caps", rule="tenant.caps")
        return tuple(sorted(wanted - set(self.tenancy.baseline)))

    def _responsible(self, text: str | None) -> Responsible | None:
        if text is None or not str(text).strip():
            return None
        try:
            return Responsible.parse(str(text))
        except ValueError as exc:
            raise TenantRefused(str(exc), code="tenant.responsible") from None

    def _tenant_lock(self, alias: str) -> Any:
        return self.locks.hold(resource_key(self.realm, "tenant", alias))


class _MemberWriter:
    """:class:`bridge.catalog.apply.AccountWriter` of the recompute: the user's own
    representation, read under its lock, written back with the planned attributes."""

    def __init__(self, gw: AdminGateway, realm: str, rep: dict[str, Any]) -> None:
        self.gw = gw
        self.realm = realm
        self.rep = rep

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        body = {k: v for k, v in self.rep.items() if k not in ("access", "userProfileMetadata")}
        kc_users.update(self.gw, self.realm, user_id, {
            **body, "attributes": attributes, "requiredActions": required_actions})

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        raise AssertionError("a tenant change never moves groups")

    def logout(self, user_id: str) -> None:
        kc_users.logout(self.gw, self.realm, user_id)

    def join_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        raise AssertionError("a tenant change never joins a tenant")

    def leave_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        raise AssertionError("a tenant change leaves by deleting the organization")


__all__ = ["Recomputed", "TenantChange", "TenantDetails", "TenantPage",
           "TenantService"]
