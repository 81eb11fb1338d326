"""The read side of tenants: organizations of the realm that the catalog owns.

Nothing here is cached across calls: the write paths compute a user's permissions from
tenants read fresh (:meth:`TenantStore.live_catalog`), so a cap change or a suspension
made on another replica a moment ago is what the next write sees. (Ordering that makes
this safe with the recompute of :mod:`bridge.tenants.service`: a user write joins the
organization *before* it reads the caps; a cap change writes the organization *before*
it lists the members.)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from bridge import errors as domain
from bridge.catalog.model import Catalog
from bridge.keycloak import organizations as kc_orgs
from bridge.keycloak.client import AdminGateway
from bridge.tenants.model import CATALOG_KEY, TENANT_KEY, LiveTenant, parse, valid_alias


class TenantNotFound(domain.NotFound):
    """No tenant of that alias in this catalog."""

    def __init__(self, alias: str, label: str = "tenant") -> None:
        super().__init__(f"unknown {label} {alias!r}")
        self.alias = alias

    @property
    def words(self) -> str:  # type: ignore[override]
        return str(self)


class TenantStore:
    """Tenants of one catalog in one realm, read through the gateway."""

    def __init__(self, gw: AdminGateway, realm: str, catalog_name: str,
                 label: str = "tenant") -> None:
        self.gw = gw
        self.realm = realm
        self.catalog_name = catalog_name
        self.label = label

    @classmethod
    def of(cls, gw: AdminGateway, realm: str, catalog: Catalog) -> TenantStore:
        return cls(gw, realm, catalog.name,
                   catalog.tenancy.label if catalog.tenancy else "tenant")

    def find(self, alias: str) -> LiveTenant | None:
        """The tenant ``alias``, read now (one call), or None."""
        if not valid_alias(alias):
            return None  # no call: it cannot be a tenant's alias
        for rep in kc_orgs.search_attribute(self.gw, self.realm, TENANT_KEY, alias):
            found = parse(rep, self.catalog_name)
            if found is not None and found.alias == alias:
                return found
        return None

    def get(self, alias: str) -> LiveTenant:
        """The tenant ``alias`` (label, caps, state, responsible), or :class:`TenantNotFound`."""
        found = self.find(alias)
        if found is None:
            raise TenantNotFound(alias, self.label)
        return found

    def read(self, aliases: Iterable[str]) -> dict[str, LiveTenant]:
        """The named tenants that exist, each read once (one call per alias)."""
        found: dict[str, LiveTenant] = {}
        for alias in sorted(set(aliases)):
            tenant = self.find(alias)
            if tenant is not None:
                found[alias] = tenant
        return found

    def of_member(self, user_id: str) -> dict[str, LiveTenant]:
        """Every tenant the user is a member of, with caps (one call)."""
        found: dict[str, LiveTenant] = {}
        for rep in kc_orgs.of_member(self.gw, self.realm, user_id):
            tenant = parse(rep, self.catalog_name)
            if tenant is not None:
                found[tenant.alias] = tenant
        return found

    def page(self, first: int = 0, max: int = 100) -> list[LiveTenant]:
        """One page of the catalog's tenants (Keycloak's order: by name)."""
        reps = kc_orgs.page(self.gw, self.realm, first=first, max=max,
                            q=f"{CATALOG_KEY}:{self.catalog_name}")
        return [t for t in (parse(r, self.catalog_name) for r in reps) if t is not None]

    def count(self) -> int:
        return kc_orgs.count(self.gw, self.realm, q=f"{CATALOG_KEY}:{self.catalog_name}")

    def every(self, page_size: int = 100) -> Iterator[LiveTenant]:
        """Every tenant, page by page."""
        first = 0
        while True:
            reps = kc_orgs.page(self.gw, self.realm, first=first, max=page_size,
                                q=f"{CATALOG_KEY}:{self.catalog_name}")
            for rep in reps:
                tenant = parse(rep, self.catalog_name)
                if tenant is not None:
                    yield tenant
            if len(reps) < page_size:
                return
            first += len(reps)

    def member_ids(self, tenant: LiveTenant, *, first: int = 0,
                   max: int = kc_orgs.MEMBERS_PAGE) -> list[str]:
        """One page of the ids of the tenant's members."""
        assert tenant.id is not None
        return [str(u["id"]) for u in kc_orgs.members(self.gw, self.realm, tenant.id,
                                                      first=first, max=max) if u.get("id")]

    def members_count(self, tenant: LiveTenant) -> int:
        assert tenant.id is not None
        return kc_orgs.members_count(self.gw, self.realm, tenant.id)

    def live_catalog(self, catalog: Catalog, names: Iterable[str], *,
                     known: Mapping[str, LiveTenant] | None = None) -> Catalog:
        """``catalog`` with its tenants replaced by the live ones named: ``names`` read now
        (one call each, except those in ``known``, already read in this request). A name
        with no tenant is left out, so the rules refuse it (``unknown.tenant``); the
        catalog's seed tenants never count (they are data once applied)."""
        if catalog.tenancy is None:
            return catalog
        wanted = set(names)
        tenants = {a: t for a, t in (known or {}).items() if a in wanted}
        tenants |= self.read(wanted - set(tenants))
        return with_tenants(catalog, tenants.values())


def with_tenants(catalog: Catalog, tenants: Iterable[LiveTenant]) -> Catalog:
    """``catalog`` whose tenancy holds exactly ``tenants`` (read already)."""
    if catalog.tenancy is None:
        return catalog
    live = tuple(t.as_catalog_tenant() for t in sorted(tenants, key=lambda t: t.alias))
    return catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"tenants": live})})
