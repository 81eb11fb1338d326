"""Users of one realm: the only module that builds admin REST paths for users.

Each function is one admin call (``gateway.calls`` counts it). Ids are quoted, so an id a
client sent can never climb out of ``/users/{id}``.
"""

from __future__ import annotations

from typing import Any

from bridge.keycloak import groups as kc_groups
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError, MissingGroups, NotFound
from bridge.keycloak.limits import check_user
from bridge.keycloak.paths import PAGE, segment


def _base(realm: str) -> str:
    return f"/{segment(realm)}/users"


NOT_USER_IDS = frozenset({"count", "profile"})
"""Segments Keycloak routes under ``/users/`` to other resources (the count, the realm's user
profile): never a user, so ``GET /users/profile`` is not read as one, nor
``PUT /users/profile`` sent (it would replace the realm's user profile)."""


def _user(realm: str, user_id: str) -> str:
    """``/users/{id}``; raises :class:`NotFound` for an id that names no user."""
    if not user_id or user_id in NOT_USER_IDS:
        raise NotFound(f"no user {user_id!r}", status=404)
    return f"{_base(realm)}/{segment(user_id)}"


def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str:
    """``POST /users`` with the whole representation (attributes included); returns the id.
    Raises :class:`bridge.keycloak.errors.Refused`, before the call, for a value Keycloak
    would refuse (:mod:`bridge.keycloak.limits`)."""
    check_user(rep, creating=True)
    try:
        user_id = gw.post(_base(realm), rep)
    except GatewayError as exc:
        # Keycloak answers a user naming a group it lacks with a bare 500 (the cause only in
        # its own log): on that failure only, one read per group says which is missing.
        missing = [path for path in rep.get("groups") or () if exc.status == 500
                   and not _group_exists(gw, realm, path)]
        if missing:
            raise MissingGroups(realm, missing) from None
        raise
    if not user_id:
        raise ValueError("Keycloak created a user without a Location header")
    return user_id


def _group_exists(gw: AdminGateway, realm: str, path: str) -> bool:
    try:
        kc_groups.get_by_path(gw, realm, path)
    except NotFound:
        return False
    return True


def get(gw: AdminGateway, realm: str, user_id: str) -> dict[str, Any]:
    """``GET /users/{id}``; raises :class:`bridge.keycloak.errors.NotFound`."""
    rep: dict[str, Any] = gw.get(_user(realm, user_id))
    return rep


def update(gw: AdminGateway, realm: str, user_id: str, rep: dict[str, Any]) -> None:
    """``PUT /users/{id}``. Keycloak keeps top-level fields the body leaves out; when the
    body carries ``attributes`` they replace the stored ones. Checked like :func:`create`."""
    check_user(rep, creating=False)
    gw.put(_user(realm, user_id), rep)


def delete(gw: AdminGateway, realm: str, user_id: str) -> None:
    gw.delete(_user(realm, user_id))


def reset_password(gw: AdminGateway, realm: str, user_id: str, password: str, *,
                   temporary: bool = False) -> None:
    """``PUT /users/{id}/reset-password``: set the user's password (checked against the
    realm's password policy)."""
    gw.put(f"{_user(realm, user_id)}/reset-password",
           {"type": "password", "value": password, "temporary": temporary})


def logout(gw: AdminGateway, realm: str, user_id: str) -> None:
    """``POST /users/{id}/logout``: ends every session of the user (and sets its not-before)."""
    gw.post(f"{_user(realm, user_id)}/logout")


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
        f"{_user(realm, user_id)}/groups", first=first, max=max,
        briefRepresentation="false")
    return found


def execute_actions_email(gw: AdminGateway, realm: str, user_id: str, actions: list[str], *,
                          client_id: str | None = None, redirect_uri: str | None = None,
                          lifespan: int | None = None) -> None:
    """``PUT /users/{id}/execute-actions-email``: Keycloak mails the user a single-use link
    performing ``actions`` (in the user's ``locale``), valid ``lifespan`` seconds, then
    sending the user to ``redirect_uri`` of ``client_id``. The user must be enabled and
    have an e-mail; ``redirect_uri`` needs ``client_id``. The link never passes through
    the bridge."""
    gw.put(f"{_user(realm, user_id)}/execute-actions-email", list(actions),
           client_id=client_id, redirect_uri=redirect_uri, lifespan=lifespan)


def find_by_email(gw: AdminGateway, realm: str, email: str) -> list[dict[str, Any]]:
    """``GET /users?email=…&exact=true``: the users with this e-mail (Keycloak lowercases
    e-mails; with ``duplicateEmailsAllowed`` off, at most one)."""
    return search(gw, realm, email=email, exact="true", max=2)


def set_groups_under(gw: AdminGateway, realm: str, user_id: str, root: str,
                     wanted: set[str] | frozenset[str], ids: dict[str, str]) -> None:
    """Make the user's groups under ``root`` exactly ``wanted`` (paths): one paged read,
    then one call per change. Groups outside ``root`` are never touched, nor joined.
    ``ids`` caches path → group id across calls (the caller owns it); an id found stale
    (Keycloak's 404) is resolved again."""
    prefix = root.rstrip("/") + "/"
    outside = [p for p in wanted if not p.startswith(prefix)]
    if outside:
        raise ValueError(f"group {sorted(outside)[0]} is outside {root}")
    current: dict[str, str] = {}
    first = 0
    while True:
        page = groups(gw, realm, user_id, first=first)
        current |= {g["path"]: g["id"] for g in page
                    if str(g.get("path", "")).startswith(prefix)}
        if len(page) < PAGE:
            break
        first += len(page)
    for path in sorted(set(current) - set(wanted)):
        kc_groups.remove_member(gw, realm, current[path], user_id)
    for path in sorted(set(wanted) - set(current)):
        known = ids.get(path)
        if known is None:
            try:
                ids[path] = kc_groups.get_by_path(gw, realm, path)["id"]
            except NotFound:
                raise MissingGroups(realm, [path]) from None
        try:
            kc_groups.add_member(gw, realm, ids[path], user_id)
        except NotFound:
            if known is None:
                raise
            # A cached id may be stale (the group was deleted and re-created, e.g. by
            # `bridge realm apply`): resolve the path again, and retry once if it moved.
            ids.pop(path, None)
            fresh = kc_groups.get_by_path(gw, realm, path)["id"]
            ids[path] = fresh
            if fresh == known:
                raise
            kc_groups.add_member(gw, realm, fresh, user_id)


def group_count(gw: AdminGateway, realm: str, user_id: str) -> int:
    """``GET /users/{id}/groups/count``: how many groups the user belongs to."""
    body = gw.get(f"{_user(realm, user_id)}/groups/count")
    return int(body["count"]) if isinstance(body, dict) else int(body)


def groups_under(gw: AdminGateway, realm: str, user_id: str, root: str) -> dict[str, str]:
    """The user's groups under ``root``, path → id, read only (no write).

    Usually one call: a user belongs to fewer than :data:`PAGE` groups. When the first page
    is full, ``groups/count`` bounds the pages still to read, so the loop ends even if
    memberships change while it reads."""
    prefix = root.rstrip("/") + "/"

    def under(page: list[dict[str, Any]]) -> dict[str, str]:
        return {g["path"]: g["id"] for g in page if str(g.get("path", "")).startswith(prefix)}

    page = groups(gw, realm, user_id)
    found = under(page)
    if len(page) < PAGE:
        return found
    remaining_pages = -(-max(group_count(gw, realm, user_id) - PAGE, 0) // PAGE) + 1
    first = PAGE
    for _ in range(remaining_pages):
        page = groups(gw, realm, user_id, first=first)
        found |= under(page)
        if len(page) < PAGE:
            break
        first += len(page)
    return found
