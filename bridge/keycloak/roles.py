"""Roles of one realm, realm-level or of one client, and the role mappings of users and
groups. A role is addressed by its name, always quoted as one path segment.

``client`` arguments are a client's internal id (see :func:`bridge.keycloak.clients.find`);
``None`` means the realm's own roles. Each function is one admin call, except
:func:`list_all`, which pages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import every_page, realm_path, segment


def _base(realm: str, client: str | None) -> str:
    if client is None:
        return realm_path(realm, "roles")
    return realm_path(realm, "clients", segment(client), "roles")


def list_all(gw: AdminGateway, realm: str, client: str | None = None) -> list[dict[str, Any]]:
    """``GET .../roles``: every role with its attributes, page by page."""
    return every_page(lambda first, max: gw.get(
        _base(realm, client), first=first, max=max, briefRepresentation="false"))


def get(gw: AdminGateway, realm: str, name: str, client: str | None = None) -> dict[str, Any]:
    """``GET .../roles/{name}``; raises NotFound."""
    rep: dict[str, Any] = gw.get(f"{_base(realm, client)}/{segment(name)}")
    return rep


def create(gw: AdminGateway, realm: str, rep: dict[str, Any],
           client: str | None = None) -> None:
    """``POST .../roles`` (name, description, attributes)."""
    gw.post(_base(realm, client), rep)


def update(gw: AdminGateway, realm: str, name: str, rep: dict[str, Any],
           client: str | None = None) -> None:
    gw.put(f"{_base(realm, client)}/{segment(name)}", rep)


def delete(gw: AdminGateway, realm: str, name: str, client: str | None = None) -> None:
    gw.delete(f"{_base(realm, client)}/{segment(name)}")


# -- role mappings --------------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    """Who holds role mappings: a user or a group, by id."""

    kind: Literal["users", "groups"]
    id: str


def of_user(user_id: str) -> Holder:
    return Holder("users", user_id)


def of_group(group_id: str) -> Holder:
    return Holder("groups", group_id)


@dataclass(frozen=True)
class Mappings:
    """The roles mapped directly onto a holder, by name: realm roles, and per client id
    (``clientId``, not the internal id) that client's roles."""

    realm: tuple[str, ...] = ()
    clients: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _mappings_path(realm: str, holder: Holder, client: str | None = None) -> str:
    base = realm_path(realm, holder.kind, segment(holder.id), "role-mappings")
    return f"{base}/realm" if client is None else f"{base}/clients/{segment(client)}"


def mappings(gw: AdminGateway, realm: str, holder: Holder) -> Mappings:
    """``GET /{users|groups}/{id}/role-mappings``: all direct mappings in one call."""
    rep = gw.get(realm_path(realm, holder.kind, segment(holder.id), "role-mappings"))
    return Mappings(
        realm=tuple(sorted(r["name"] for r in rep.get("realmMappings") or [])),
        clients={client_id: tuple(sorted(r["name"] for r in m.get("mappings") or []))
                 for client_id, m in sorted((rep.get("clientMappings") or {}).items())})


def add_mappings(gw: AdminGateway, realm: str, holder: Holder, roles: list[dict[str, Any]],
                 client: str | None = None) -> None:
    """``POST .../role-mappings/{realm|clients/{client}}``; ``roles`` as :func:`get` gives
    them (id and name)."""
    gw.post(_mappings_path(realm, holder, client), roles)


def remove_mappings(gw: AdminGateway, realm: str, holder: Holder, roles: list[dict[str, Any]],
                    client: str | None = None) -> None:
    gw.delete(_mappings_path(realm, holder, client), roles)


# -- composites -----------------------------------------------------------------------------

def _composites_path(realm: str, role_id: str) -> str:
    return realm_path(realm, "roles-by-id", segment(role_id), "composites")


def composites(gw: AdminGateway, realm: str, role_id: str) -> list[dict[str, Any]]:
    """``GET /roles-by-id/{id}/composites``: the roles ``role_id`` directly contains, realm
    and client roles alike (a client role's ``containerId`` is its client's internal id)."""
    found: list[dict[str, Any]] = gw.get(_composites_path(realm, role_id))
    return found


def add_composites(gw: AdminGateway, realm: str, role_id: str,
                   roles: list[dict[str, Any]]) -> None:
    """``POST /roles-by-id/{id}/composites``; ``roles`` as :func:`get` gives them."""
    gw.post(_composites_path(realm, role_id), roles)


def remove_composites(gw: AdminGateway, realm: str, role_id: str,
                      roles: list[dict[str, Any]]) -> None:
    gw.delete(_composites_path(realm, role_id), roles)


# -- holders ------------------------------------------------------------------------------

def realm_role_users(gw: AdminGateway, realm: str, name: str, *, first: int = 0,
                     max: int = 20) -> list[dict[str, Any]]:
    """``GET /roles/{name}/users``: one page of the users holding realm role ``name``
    directly (not through a group or a composite), by username; raises NotFound."""
    found: list[dict[str, Any]] = gw.get(
        f"{_base(realm, None)}/{segment(name)}/users", first=first, max=max)
    return found


def effective_realm_roles(gw: AdminGateway, realm: str, user_id: str) -> frozenset[str]:
    """``GET /users/{id}/role-mappings/realm/composite``: every realm role the user holds,
    directly, through a group or a composite role."""
    rep = gw.get(f"{_mappings_path(realm, of_user(user_id))}/composite")
    return frozenset(str(r["name"]) for r in rep or [])
