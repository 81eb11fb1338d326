"""A realm's declarative user profile (``/users/profile``): read and replaced whole."""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path


def get(gw: AdminGateway, realm: str) -> dict[str, Any]:
    """``GET /{realm}/users/profile``: attributes, groups and the unmanaged attribute policy."""
    rep: dict[str, Any] = gw.get(realm_path(realm, "users", "profile"))
    return rep


def update(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> None:
    """``PUT /{realm}/users/profile``: the whole profile (what the body leaves out is gone)."""
    gw.put(realm_path(realm, "users", "profile"), rep)
