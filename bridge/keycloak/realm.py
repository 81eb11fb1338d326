"""A realm itself: its representation (settings and attributes), creation, deletion and
partial import. Each function is one admin call."""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path


def get(gw: AdminGateway, realm: str) -> dict[str, Any]:
    """``GET /{realm}``: the realm's representation; raises NotFound."""
    rep: dict[str, Any] = gw.get(realm_path(realm))
    return rep


def create(gw: AdminGateway, realm: str, rep: dict[str, Any] | None = None) -> None:
    """``POST /admin/realms``: a new realm named ``realm``, enabled unless ``rep`` says."""
    gw.post("", {"realm": realm, "enabled": True, **(rep or {})})


def update(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> None:
    """``PUT /{realm}``: Keycloak keeps what the body leaves out; ``attributes`` given are
    merged into the stored ones."""
    gw.put(realm_path(realm), rep)


def delete(gw: AdminGateway, realm: str) -> None:
    gw.delete(realm_path(realm))


def partial_import(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> dict[str, Any]:
    """``POST /{realm}/partialImport`` (``ifResourceExists``: FAIL, SKIP or OVERWRITE):
    many users, groups or clients in one call; returns Keycloak's summary."""
    summary: dict[str, Any] = gw.post_json(realm_path(realm, "partialImport"), rep)
    return summary
