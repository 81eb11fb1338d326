"""One tenant's organization by its ``bridge.tenant`` attribute (``GET /organizations?q=``),
for access requests until the tenant store (bridge/tenants/store.py) serves them."""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path


def by_tenant(gw: AdminGateway, realm: str, alias: str) -> dict[str, Any] | None:
    """The organization whose ``bridge.tenant`` attribute is exactly ``alias`` (with its
    attributes), None when there is none."""
    if not alias or any(c in alias for c in " :"):
        return None
    found: list[dict[str, Any]] = gw.get(
        realm_path(realm, "organizations"), q=f"bridge.tenant:{alias}", first=0, max=2,
        briefRepresentation="false")
    return next((o for o in found if o.get("alias") == alias), None)
