"""The Keycloak side of access requests: the responsibles (:class:`KeycloakPeople`) and the
tenants' live facts (:class:`OrganizationTenants`), through the gateway's functions only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge import errors as domain
from bridge.access_requests.service import Person, RequestTenant
from bridge.keycloak import roles
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.tenants.store import TenantStore


def _person(rep: Mapping[str, Any]) -> Person:
    name = " ".join(str(n) for n in (rep.get("firstName"), rep.get("lastName")) if n)
    locale = (rep.get("attributes") or {}).get("locale") or [None]
    return Person(str(rep["id"]), str(rep.get("username") or ""), str(rep.get("email") or ""),
                  name or str(rep.get("username") or ""), locale[0])


class KeycloakPeople:
    def __init__(self, gateway: AdminGateway, realm: str) -> None:
        self.gw = gateway
        self.realm = realm

    def get(self, user_id: str) -> Person | None:
        try:
            rep = kc_users.get(self.gw, self.realm, user_id)
        except domain.NotFound:
            return None
        return _person(rep) if rep.get("enabled", True) else None

    def by_username(self, username: str) -> Person | None:
        found = kc_users.search(self.gw, self.realm, first=0, max=2, username=username,
                                exact="true")
        found = [r for r in found if str(r.get("username", "")).lower() == username.lower()
                 and r.get("enabled", True)]
        return _person(found[0]) if found else None

    def holders(self, role: str, max: int) -> list[Person]:
        try:
            found = roles.realm_role_users(self.gw, self.realm, role, first=0, max=max)
        except domain.NotFound:
            return []
        return [_person(r) for r in found if r.get("enabled", True)]

    def holds(self, user_id: str, role: str) -> bool:
        try:
            return role in roles.effective_realm_roles(self.gw, self.realm, user_id)
        except domain.NotFound:
            return False


class OrganizationTenants:
    """A tenant is an organization (docs/access-catalog.md, "Tenants"), read fresh through
    the tenant store: its label, state and responsible (attribute ``bridge.responsible``)."""

    def __init__(self, store: TenantStore) -> None:
        self.store = store

    def find(self, alias: str) -> RequestTenant | None:
        tenant = self.store.find(alias)
        if tenant is None:
            return None
        return RequestTenant(alias=tenant.alias, label=tenant.label,
                             responsible=str(tenant.responsible) if tenant.responsible
                             else None, suspended=tenant.suspended)
