"""Client scopes of one realm, and which of them a client (or every new client of the
realm) gets as default or optional scopes. Each function is one admin call.

``kind`` is ``"default"`` (always in the token) or ``"optional"`` (on request, with the
``scope`` parameter).
"""

from __future__ import annotations

from typing import Any, Literal

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path, segment

ScopeKind = Literal["default", "optional"]


def list_all(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /client-scopes``: every client scope (Keycloak does not page them)."""
    found: list[dict[str, Any]] = gw.get(realm_path(realm, "client-scopes"))
    return found


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str | None:
    """``POST /client-scopes``; returns the new scope's id."""
    return gw.post(realm_path(realm, "client-scopes"), rep)


def update(gw: AdminGateway, realm: str, scope_id: str, rep: dict[str, Any]) -> None:
    """``PUT /client-scopes/{id}`` (name, description, protocol, attributes; Keycloak
    ignores the mappers in this body: they have endpoints of their own)."""
    gw.put(realm_path(realm, "client-scopes", segment(scope_id)), rep)


def ids_by_name(gw: AdminGateway, realm: str) -> dict[str, str]:
    return {s["name"]: s["id"] for s in list_all(gw, realm)}


def _of_client(realm: str, client: str, kind: ScopeKind) -> str:
    return realm_path(realm, "clients", segment(client), f"{kind}-client-scopes")


def add_to_client(gw: AdminGateway, realm: str, client: str, scope_id: str,
                  kind: ScopeKind) -> None:
    """``PUT /clients/{id}/{kind}-client-scopes/{scope}``."""
    gw.put(f"{_of_client(realm, client, kind)}/{segment(scope_id)}")


def remove_from_client(gw: AdminGateway, realm: str, client: str, scope_id: str,
                       kind: ScopeKind) -> None:
    gw.delete(f"{_of_client(realm, client, kind)}/{segment(scope_id)}")


def _realm_defaults(realm: str, kind: ScopeKind) -> str:
    return realm_path(realm, f"default-{kind}-client-scopes")


def realm_defaults(gw: AdminGateway, realm: str, kind: ScopeKind) -> list[dict[str, Any]]:
    """``GET /default-{kind}-client-scopes``: the scopes every new client gets."""
    found: list[dict[str, Any]] = gw.get(_realm_defaults(realm, kind))
    return found


def add_realm_default(gw: AdminGateway, realm: str, scope_id: str, kind: ScopeKind) -> None:
    gw.put(f"{_realm_defaults(realm, kind)}/{segment(scope_id)}")


def remove_realm_default(gw: AdminGateway, realm: str, scope_id: str,
                         kind: ScopeKind) -> None:
    gw.delete(f"{_realm_defaults(realm, kind)}/{segment(scope_id)}")


def delete(gw: AdminGateway, realm: str, scope_id: str) -> None:
    """``DELETE /client-scopes/{id}``: the scope, and its link to every client with it."""
    gw.delete(realm_path(realm, "client-scopes", segment(scope_id)))


# -- a client scope's protocol mappers ------------------------------------------------------

def _mappers(realm: str, scope_id: str, *parts: str) -> str:
    return realm_path(realm, "client-scopes", segment(scope_id), "protocol-mappers", "models",
                      *parts)


def mappers(gw: AdminGateway, realm: str, scope_id: str) -> list[dict[str, Any]]:
    """``GET /client-scopes/{id}/protocol-mappers/models``."""
    found: list[dict[str, Any]] = gw.get(_mappers(realm, scope_id))
    return found


def create_mapper(gw: AdminGateway, realm: str, scope_id: str, rep: dict[str, Any]) -> None:
    gw.post(_mappers(realm, scope_id), rep)


def update_mapper(gw: AdminGateway, realm: str, scope_id: str, mapper_id: str,
                  rep: dict[str, Any]) -> None:
    gw.put(_mappers(realm, scope_id, segment(mapper_id)), rep)


def delete_mapper(gw: AdminGateway, realm: str, scope_id: str, mapper_id: str) -> None:
    gw.delete(_mappers(realm, scope_id, segment(mapper_id)))
