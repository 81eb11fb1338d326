"""Admin REST paths, built in one place: every id or name a caller passes becomes one quoted
segment, so a value sent by a client can never climb out of its place in the path
(``/users/{id}``, ``/roles/{name}``...)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bridge.keycloak.errors import NotFound

PAGE = 500
"""Page size used when a caller walks a whole result (``first``/``max``)."""


def segment(value: str) -> str:
    """One path segment: percent-quoted, and never ``.``/``..`` (which a server would resolve)."""
    if value in ("", ".", ".."):
        raise NotFound(f"no resource {value!r}")
    return quote(value, safe="")


def realm_path(realm: str, *parts: str) -> str:
    """``/{realm}/part/...`` relative to ``/admin/realms``; each part is a fixed word of
    Keycloak's API or a value already passed through :func:`segment`."""
    return "/".join((f"/{segment(realm)}", *parts))


def every_page(fetch: Callable[[int, int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Every item of a paged collection: ``fetch(first, max)`` a page of :data:`PAGE` at a
    time, until a page comes back short."""
    found: list[dict[str, Any]] = []
    while True:
        page = fetch(len(found), PAGE)
        found += page
        if len(page) < PAGE:
            return found
