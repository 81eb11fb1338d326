"""One request's view of tenants: the live catalog it computes with, and the organization
memberships that mirror a user's ``tenants`` attribute.

A write reads each tenant it names at most once (:meth:`TenantView.live_catalog`); joining
and leaving reuse those reads for the organizations' ids. Ordering (see
:func:`bridge.catalog.apply.apply_user_state`): the organizations a user gains are joined
*before* the attributes are written, those it loses are left *after*; a cap change writes
the organization *before* it lists the members. So on N replicas, a user write that read
the old caps is always listed by the cap change that follows it, which recomputes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from bridge import errors as domain
from bridge.catalog.model import Catalog
from bridge.keycloak import organizations as kc_orgs
from bridge.tenants.model import LiveTenant
from bridge.tenants.store import TenantStore, with_tenants


class TenantView(Protocol):
    """What a write path needs of tenants (Keycloak's, or a test's stand-in)."""

    def live_catalog(self, catalog: Catalog, names: Iterable[str]) -> Catalog: ...

    def join(self, user_id: str, aliases: Iterable[str]) -> None: ...

    def leave(self, user_id: str, aliases: Iterable[str]) -> None: ...

    def memberships(self, user_id: str) -> frozenset[str] | None:
        """The tenants the user is a member of now (None: memberships are not kept)."""


class StaticTenants:
    """The catalog's own tenants, and no membership: a catalog read from YAML only (unit
    tests, a directory without organizations)."""

    def live_catalog(self, catalog: Catalog, names: Iterable[str]) -> Catalog:
        return catalog

    def join(self, user_id: str, aliases: Iterable[str]) -> None:
        pass

    def leave(self, user_id: str, aliases: Iterable[str]) -> None:
        pass

    def memberships(self, user_id: str) -> frozenset[str] | None:
        return None


class LiveTenants:
    """Tenants read fresh from Keycloak, for one request (not shared between requests: the
    reads are never reused after it, so no cache feeds a later write)."""

    def __init__(self, store: TenantStore) -> None:
        self.store = store
        self.read: dict[str, LiveTenant | None] = {}

    def tenant(self, alias: str) -> LiveTenant | None:
        if alias not in self.read:
            self.read[alias] = self.store.find(alias)
        return self.read[alias]

    def live_catalog(self, catalog: Catalog, names: Iterable[str]) -> Catalog:
        """``catalog`` with exactly the named tenants that exist, as they are now."""
        if catalog.tenancy is None:
            return catalog
        found = [t for t in (self.tenant(a) for a in sorted(set(names))) if t is not None]
        return with_tenants(catalog, found)

    def memberships(self, user_id: str) -> frozenset[str]:
        """The user's tenants as memberships say (one call, which also reads their caps
        for this request)."""
        found = self.store.of_member(user_id)
        self.read |= found
        return frozenset(found)

    def join(self, user_id: str, aliases: Iterable[str]) -> None:
        """Make the user a member of each tenant (one call each; already one: done)."""
        for alias in sorted(set(aliases)):
            tenant = self.tenant(alias)
            if tenant is None or tenant.id is None:
                continue  # deleted meanwhile: nothing to join (the rules refused it before)
            try:
                kc_orgs.add_member(self.store.gw, self.store.realm, tenant.id, user_id)
            except domain.Duplicate:
                pass

    def leave(self, user_id: str, aliases: Iterable[str]) -> None:
        """End the user's membership of each tenant (one call each; not one: done)."""
        for alias in sorted(set(aliases)):
            tenant = self.tenant(alias)
            if tenant is None or tenant.id is None:
                continue
            try:
                kc_orgs.remove_member(self.store.gw, self.store.realm, tenant.id, user_id)
            except domain.NotFound:
                pass
