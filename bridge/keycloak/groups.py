"""Groups of one realm: the only module that builds admin REST paths for groups and
memberships. Each function is one admin call (``gateway.calls`` counts it)."""

from __future__ import annotations

from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.limits import check_group
from bridge.keycloak.paths import PAGE, every_page, segment


def _base(realm: str) -> str:
    return f"/{segment(realm)}/groups"


def get(gw: AdminGateway, realm: str, group_id: str) -> dict[str, Any]:
    """``GET /groups/{id}`` (with ``path``, ``parentId`` and attributes); raises NotFound."""
    rep: dict[str, Any] = gw.get(f"{_base(realm)}/{segment(group_id)}")
    return rep


def get_by_path(gw: AdminGateway, realm: str, path: str) -> dict[str, Any]:
    """``GET /group-by-path/{path}``; raises NotFound."""
    parts = "/".join(segment(part) for part in path.strip("/").split("/"))
    rep: dict[str, Any] = gw.get(f"/{segment(realm)}/group-by-path/{parts}")
    return rep


def children(gw: AdminGateway, realm: str, parent_id: str, *, first: int = 0,
             max: int = PAGE, search: str | None = None) -> list[dict[str, Any]]:
    """``GET /groups/{id}/children``: one page of subgroups with attributes, by name.

    ``search`` is Keycloak's case-insensitive substring match on the name."""
    found: list[dict[str, Any]] = gw.get(
        f"{_base(realm)}/{segment(parent_id)}/children", first=first, max=max,
        search=search, briefRepresentation="false")
    return found


def top_level(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /groups``: every top-level group with attributes and ``subGroupCount``, page by
    page (since Keycloak 23 their ``subGroups`` are not filled: see :func:`children`)."""
    return every_page(lambda first, max: gw.get(
        _base(realm), first=first, max=max, briefRepresentation="false"))


def all_children(gw: AdminGateway, realm: str, parent_id: str) -> list[dict[str, Any]]:
    """Every subgroup of ``parent_id``, page by page."""
    return every_page(lambda first, max: children(gw, realm, parent_id, first=first, max=max))


def create_top_level(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str:
    """``POST /groups`` with name and attributes; returns the new id (checked like
    :func:`create_child`)."""
    check_group(rep)
    group_id = gw.post(_base(realm), rep)
    if not group_id:
        raise ValueError("Keycloak created a group without a Location header")
    return group_id


def create_child(gw: AdminGateway, realm: str, parent_id: str, rep: dict[str, Any]) -> str:
    """``POST /groups/{id}/children`` with name and attributes; returns the new id. Raises
    :class:`bridge.keycloak.errors.Refused`, before the call, for a name or attribute
    Keycloak would fail on (:mod:`bridge.keycloak.limits`: a 256-character name is a 500)."""
    check_group(rep)
    group_id = gw.post(f"{_base(realm)}/{segment(parent_id)}/children", rep)
    if not group_id:
        raise ValueError("Keycloak created a group without a Location header")
    return group_id


def update(gw: AdminGateway, realm: str, group_id: str, rep: dict[str, Any]) -> None:
    """``PUT /groups/{id}`` (name, attributes), checked like :func:`create_child`."""
    check_group(rep)
    gw.put(f"{_base(realm)}/{segment(group_id)}", rep)


def delete(gw: AdminGateway, realm: str, group_id: str) -> None:
    gw.delete(f"{_base(realm)}/{segment(group_id)}")


def members(gw: AdminGateway, realm: str, group_id: str, *, first: int = 0,
            max: int = PAGE) -> list[dict[str, Any]]:
    """``GET /groups/{id}/members``: one page of direct members, with their attributes
    (the brief representation carries none but ``locale``)."""
    found: list[dict[str, Any]] = gw.get(
        f"{_base(realm)}/{segment(group_id)}/members", first=first, max=max,
        briefRepresentation="false")
    return found


def add_member(gw: AdminGateway, realm: str, group_id: str, user_id: str) -> None:
    """``PUT /users/{uid}/groups/{gid}``: one call, whatever the size of the group.
    Raises NotFound when the user or the group does not exist."""
    gw.put(f"/{segment(realm)}/users/{segment(user_id)}/groups/{segment(group_id)}")


def remove_member(gw: AdminGateway, realm: str, group_id: str, user_id: str) -> None:
    """``DELETE /users/{uid}/groups/{gid}`` (a no-op when the user is not a member)."""
    gw.delete(f"/{segment(realm)}/users/{segment(user_id)}/groups/{segment(group_id)}")


# -- default groups (every new user joins them) ----------------------------------------------

def default_groups(gw: AdminGateway, realm: str) -> list[dict[str, Any]]:
    """``GET /default-groups``: id, name and path of each default group."""
    found: list[dict[str, Any]] = gw.get(f"/{segment(realm)}/default-groups")
    return found


def add_default(gw: AdminGateway, realm: str, group_id: str) -> None:
    gw.put(f"/{segment(realm)}/default-groups/{segment(group_id)}")


def remove_default(gw: AdminGateway, realm: str, group_id: str) -> None:
    gw.delete(f"/{segment(realm)}/default-groups/{segment(group_id)}")
