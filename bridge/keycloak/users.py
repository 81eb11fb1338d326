"""Users of one realm: the only module that builds admin REST paths for users.

Each function is one admin call (``gateway.calls`` counts it). Ids are quoted, so an id a
client sent can never climb out of ``/users/{id}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import NotFound

PAGE = 500
"""Page size used when a caller walks a whole result (``first``/``max``)."""


def segment(value: str) -> str:
    """One path segment: percent-quoted, and never ``.``/``..`` (which a server would resolve)."""
    if value in ("", ".", ".."):
        raise NotFound(f"no resource {value!r}")
    return quote(value, safe="")


def _base(realm: str) -> str:
    return f"/{segment(realm)}/users"


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str:
    """``POST /users`` with the whole representation (attributes included); returns the id."""
    user_id = gw.post(_base(realm), rep)
    if not user_id:
        raise ValueError("Keycloak created a user without a Location header")
    return user_id


def get(gw: AdminGateway, realm: str, user_id: str) -> dict[str, Any]:
    """``GET /users/{id}``; raises :class:`bridge.keycloak.errors.NotFound`."""
    rep: dict[str, Any] = gw.get(f"{_base(realm)}/{segment(user_id)}")
    return rep


def update(gw: AdminGateway, realm: str, user_id: str, rep: dict[str, Any]) -> None:
    """``PUT /users/{id}``. Keycloak keeps top-level fields the body leaves out; when the
    body carries ``attributes`` they replace the stored ones."""
    gw.put(f"{_base(realm)}/{segment(user_id)}", rep)


def delete(gw: AdminGateway, realm: str, user_id: str) -> None:
    gw.delete(f"{_base(realm)}/{segment(user_id)}")


def logout(gw: AdminGateway, realm: str, user_id: str) -> None:
    """``POST /users/{id}/logout``: ends every session of the user (and sets its not-before)."""
    gw.post(f"{_base(realm)}/{segment(user_id)}/logout")


def search(gw: AdminGateway, realm: str, *, first: int = 0, max: int = PAGE,
           **params: Any) -> list[dict[str, Any]]:
    """``GET /users`` with Keycloak's filters (``username``, ``email``, ``enabled``,
    ``exact``, ``q``...), full representations, ordered by Keycloak (by username)."""
    found: list[dict[str, Any]] = gw.get(
        _base(realm), first=first, max=max, briefRepresentation="false", **params)
    return found


def count(gw: AdminGateway, realm: str, **params: Any) -> int:
    """``GET /users/count`` with the same filters as :func:`search`."""
    return int(gw.get(f"{_base(realm)}/count", **params))


def groups(gw: AdminGateway, realm: str, user_id: str, *, first: int = 0,
           max: int = PAGE) -> list[dict[str, Any]]:
    """``GET /users/{id}/groups``: the groups the user belongs to, with attributes."""
    found: list[dict[str, Any]] = gw.get(
        f"{_base(realm)}/{segment(user_id)}/groups", first=first, max=max,
        briefRepresentation="false")
    return found
