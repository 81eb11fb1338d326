"""Authentication flows of one realm: flows, their executions and authenticator configs.

Keycloak addresses a flow's executions by the flow's *alias* and a flow itself by its id;
both are quoted as one path segment. Each function is one admin call.
"""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path, segment


def _flows(realm: str, *parts: str) -> str:
    return realm_path(realm, "authentication", "flows", *parts)


def _executions(realm: str, alias: str, *parts: str) -> str:
    return _flows(realm, segment(alias), "executions", *parts)


def list_all(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /authentication/flows``: the top-level flows (Keycloak does not page them)."""
    found: list[dict[str, Any]] = gw.get(_flows(realm))
    return found


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str:
    """``POST /authentication/flows`` (a top-level flow); returns its id."""
    flow_id = gw.post(_flows(realm), rep)
    if not flow_id:
        raise ValueError("Keycloak created a flow without a Location header")
    return flow_id


def update(gw: AdminGateway, realm: str, flow_id: str, rep: dict[str, Any]) -> None:
    """``PUT /authentication/flows/{id}`` (alias, description): sub-flows too."""
    gw.put(_flows(realm, segment(flow_id)), rep)


def delete(gw: AdminGateway, realm: str, flow_id: str) -> None:
    """``DELETE /authentication/flows/{id}``, with its executions and sub-flows."""
    gw.delete(_flows(realm, segment(flow_id)))


def executions(gw: AdminGateway, realm: str, alias: str) -> list[dict[str, Any]]:
    """``GET /authentication/flows/{alias}/executions``: the whole tree, depth-first, each
    with its ``level`` (0 for the flow's direct children)."""
    found: list[dict[str, Any]] = gw.get(_executions(realm, alias))
    return found


def add_execution(gw: AdminGateway, realm: str, alias: str, provider: str) -> None:
    """``POST .../executions/execution``: an authenticator, appended, DISABLED."""
    gw.post(_executions(realm, alias, "execution"), {"provider": provider})


def add_subflow(gw: AdminGateway, realm: str, alias: str, rep: dict[str, Any]) -> None:
    """``POST .../executions/flow``: a sub-flow (alias, type, provider, description)."""
    gw.post(_executions(realm, alias, "flow"), rep)


def update_execution(gw: AdminGateway, realm: str, alias: str, rep: dict[str, Any]) -> None:
    """``PUT .../executions``: an execution as :func:`executions` lists it (requirement)."""
    gw.put(_executions(realm, alias), rep)


def create_config(gw: AdminGateway, realm: str, execution_id: str,
                  rep: dict[str, Any]) -> str:
    """``POST /authentication/executions/{id}/config``; returns the config's id."""
    config_id = gw.post(realm_path(realm, "authentication", "executions",
                                   segment(execution_id), "config"), rep)
    if not config_id:
        raise ValueError("Keycloak created an authenticator config without a Location")
    return config_id


def get_config(gw: AdminGateway, realm: str, config_id: str) -> dict[str, Any]:
    rep: dict[str, Any] = gw.get(realm_path(realm, "authentication", "config",
                                            segment(config_id)))
    return rep


def update_config(gw: AdminGateway, realm: str, config_id: str, rep: dict[str, Any]) -> None:
    gw.put(realm_path(realm, "authentication", "config", segment(config_id)), rep)
