"""Required actions of one realm (``CONFIGURE_TOTP``, ``webauthn-register``...), by alias.
Each function is one admin call."""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path, segment


def _base(realm: str, *parts: str) -> str:
    return realm_path(realm, "authentication", *parts)


def list_all(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /authentication/required-actions``: the registered ones, with ``enabled``,
    ``defaultAction``, ``priority`` and ``config``."""
    found: list[dict[str, Any]] = gw.get(_base(realm, "required-actions"))
    return found


def unregistered(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /authentication/unregistered-required-actions``: providers the server has that
    the realm has not registered (``providerId``, ``name``)."""
    found: list[dict[str, Any]] = gw.get(_base(realm, "unregistered-required-actions"))
    return found


def register(gw: AdminGateway, realm: str, provider_id: str, name: str) -> None:
    """``POST /authentication/register-required-action``: registered disabled-by-default
    with its alias equal to ``provider_id``."""
    gw.post(_base(realm, "register-required-action"), {"providerId": provider_id,
                                                        "name": name})


def update(gw: AdminGateway, realm: str, alias: str, rep: dict[str, Any]) -> None:
    """``PUT /authentication/required-actions/{alias}`` (enabled, defaultAction, priority,
    config): the whole representation."""
    gw.put(_base(realm, "required-actions", segment(alias)), rep)
