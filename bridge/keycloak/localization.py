"""The realm's own localization texts, per locale: they override the theme's messages.
Each function is one admin call."""

from __future__ import annotations

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import realm_path, segment


def locales(gw: AdminGateway, realm: str) -> list[str]:
    """``GET /localization``: the locales the realm has texts for."""
    found: list[str] = gw.get(realm_path(realm, "localization"))
    return found


def texts(gw: AdminGateway, realm: str, locale: str) -> dict[str, str]:
    """``GET /localization/{locale}``: key → text (empty for a locale without texts)."""
    found: dict[str, str] = gw.get(realm_path(realm, "localization", segment(locale)))
    return found or {}


def set_texts(gw: AdminGateway, realm: str, locale: str, texts: dict[str, str]) -> None:
    """``POST /localization/{locale}``: creates or replaces each text given, others kept."""
    gw.post(realm_path(realm, "localization", segment(locale)), texts)


def delete_text(gw: AdminGateway, realm: str, locale: str, key: str) -> None:
    gw.delete(realm_path(realm, "localization", segment(locale), segment(key)))
