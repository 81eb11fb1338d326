"""Clients of one realm, their protocol mappers and their service account.

A client is addressed by its internal id (``client`` below); :func:`find` turns a
``clientId`` into one. Each function is one admin call, except :func:`list_all`, which pages.
"""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import every_page, realm_path, segment


def _base(realm: str) -> str:
    return realm_path(realm, "clients")


def _one(realm: str, client: str, *parts: str) -> str:
    return "/".join((_base(realm), segment(client), *parts))


def list_all(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /clients``: every client's representation, page by page."""
    return every_page(lambda first, max: gw.get(_base(realm), first=first, max=max))


def find(gw: AdminGateway, realm: str, client_id: str) -> dict[str, Any] | None:
    """``GET /clients?clientId=…``: the client of this ``clientId`` (an exact match), or None."""
    found = [c for c in gw.get(_base(realm), clientId=client_id)
             if c.get("clientId") == client_id]
    return found[0] if found else None


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str | None:
    """``POST /clients``; returns the new client's internal id."""
    return gw.post(_base(realm), rep)


def update(gw: AdminGateway, realm: str, client: str, rep: dict[str, Any]) -> None:
    """``PUT /clients/{id}``. Keycloak ignores the scope lists in this body (see
    :mod:`bridge.keycloak.client_scopes`)."""
    gw.put(_one(realm, client), rep)


def delete(gw: AdminGateway, realm: str, client: str) -> None:
    gw.delete(_one(realm, client))


def service_account_user(gw: AdminGateway, realm: str, client: str) -> dict[str, Any]:
    """``GET /clients/{id}/service-account-user``; raises NotFound when the client has no
    service account."""
    rep: dict[str, Any] = gw.get(_one(realm, client, "service-account-user"))
    return rep


# -- protocol mappers -----------------------------------------------------------------------

def mappers(gw: AdminGateway, realm: str, client: str) -> list[dict[str, Any]]:
    """``GET /clients/{id}/protocol-mappers/models``: the client's own mappers."""
    found: list[dict[str, Any]] = gw.get(_one(realm, client, "protocol-mappers", "models"))
    return found


def create_mapper(gw: AdminGateway, realm: str, client: str, rep: dict[str, Any]) -> None:
    gw.post(_one(realm, client, "protocol-mappers", "models"), rep)


def update_mapper(gw: AdminGateway, realm: str, client: str, mapper_id: str,
                  rep: dict[str, Any]) -> None:
    gw.put(_one(realm, client, "protocol-mappers", "models", segment(mapper_id)), rep)


def delete_mapper(gw: AdminGateway, realm: str, client: str, mapper_id: str) -> None:
    gw.delete(_one(realm, client, "protocol-mappers", "models", segment(mapper_id)))
