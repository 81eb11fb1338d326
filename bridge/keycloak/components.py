"""Components of one realm: key providers, user federation (LDAP) and its mappers, client
registration policies... Addressed by id; listed by type and parent. Each function is one
admin call.

A component's ``config`` is a multi-valued map (every value a list of strings). Keycloak
never returns the value of a secret property (a private key, a bind credential): it shows
:data:`MASKED` instead, and keeps the stored value when that mask is written back.
"""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path, segment

MASKED = "**********"

KEY_PROVIDER = "org.keycloak.keys.KeyProvider"
USER_STORAGE = "org.keycloak.storage.UserStorageProvider"
LDAP_MAPPER = "org.keycloak.storage.ldap.mappers.LDAPStorageMapper"
USER_PROFILE = "org.keycloak.userprofile.UserProfileProvider"


def list_all(gw: AdminGateway, realm: str, *, provider_type: str | None = None,
             parent: str | None = None) -> list[dict[str, Any]]:
    """``GET /components?type=&parent=``: not paged by Keycloak."""
    found: list[dict[str, Any]] = gw.get(realm_path(realm, "components"),
                                         type=provider_type, parent=parent)
    return found


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str:
    """``POST /components`` (name, providerId, providerType, parentId, subType, config);
    returns the new id."""
    component_id = gw.post(realm_path(realm, "components"), rep)
    if not component_id:
        raise ValueError("Keycloak created a component without a Location header")
    return component_id


def update(gw: AdminGateway, realm: str, component_id: str, rep: dict[str, Any]) -> None:
    """``PUT /components/{id}``: the whole representation."""
    gw.put(realm_path(realm, "components", segment(component_id)), rep)


def delete(gw: AdminGateway, realm: str, component_id: str) -> None:
    """``DELETE /components/{id}``, with its sub-components (an LDAP provider's mappers)."""
    gw.delete(realm_path(realm, "components", segment(component_id)))
