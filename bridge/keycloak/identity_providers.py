"""Identity providers of one realm (brokering: OIDC, SAML, Google, Microsoft...) and their
mappers. An identity provider is addressed by its ``alias``, a mapper by its id. Each
function is one admin call, except :func:`list_all`, which pages.

Keycloak never returns a stored ``clientSecret``: it answers :data:`MASKED` in its place,
and keeps the stored secret when that mask is sent back in an update.
"""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import every_page, realm_path, segment

MASKED = "**********"


def _base(realm: str, *parts: str) -> str:
    return realm_path(realm, "identity-provider", "instances", *parts)


def list_all(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /identity-provider/instances``: every identity provider, page by page."""
    return every_page(lambda first, max: gw.get(_base(realm), first=first, max=max,
                                                briefRepresentation="false"))


def get(gw: AdminGateway, realm: str, alias: str) -> dict[str, Any]:
    """``GET /identity-provider/instances/{alias}``; raises NotFound."""
    rep: dict[str, Any] = gw.get(_base(realm, segment(alias)))
    return rep


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> None:
    gw.post(_base(realm), rep)


def update(gw: AdminGateway, realm: str, alias: str, rep: dict[str, Any]) -> None:
    """``PUT /identity-provider/instances/{alias}``: the whole representation."""
    gw.put(_base(realm, segment(alias)), rep)


def delete(gw: AdminGateway, realm: str, alias: str) -> None:
    """``DELETE /identity-provider/instances/{alias}``, with its mappers and its links to
    users (linked users stay, unlinked)."""
    gw.delete(_base(realm, segment(alias)))


# -- mappers ----------------------------------------------------------------------------------

def mappers(gw: AdminGateway, realm: str, alias: str) -> list[dict[str, Any]]:
    """``GET /identity-provider/instances/{alias}/mappers`` (Keycloak does not page them)."""
    found: list[dict[str, Any]] = gw.get(_base(realm, segment(alias), "mappers"))
    return found


def create_mapper(gw: AdminGateway, realm: str, alias: str, rep: dict[str, Any]) -> None:
    gw.post(_base(realm, segment(alias), "mappers"), rep)


def update_mapper(gw: AdminGateway, realm: str, alias: str, mapper_id: str,
                  rep: dict[str, Any]) -> None:
    gw.put(_base(realm, segment(alias), "mappers", segment(mapper_id)), rep)


def delete_mapper(gw: AdminGateway, realm: str, alias: str, mapper_id: str) -> None:
    gw.delete(_base(realm, segment(alias), "mappers", segment(mapper_id)))
