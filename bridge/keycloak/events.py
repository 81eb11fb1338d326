"""The event configuration of one realm: listeners, login and admin events. One call each."""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path


def get_config(gw: AdminGateway, realm: str) -> dict[str, Any]:
    """``GET /events/config``: eventsEnabled, eventsListeners, enabledEventTypes,
    eventsExpiration, adminEventsEnabled, adminEventsDetailsEnabled."""
    rep: dict[str, Any] = gw.get(realm_path(realm, "events", "config"))
    return rep


def update_config(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> None:
    """``PUT /events/config``: the whole configuration (Keycloak resets what is left out)."""
    gw.put(realm_path(realm, "events", "config"), rep)
