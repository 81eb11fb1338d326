"""Accounts out of SCIM's reach: Keycloak's service accounts and the realm's administrators.

- **Service accounts.** Keycloak 26.7.5 user representations do not carry
  ``serviceAccountClientId``; Keycloak names every service account
  ``service-account-<clientId>`` (:data:`SERVICE_ACCOUNT_PREFIX`). ``GET /users`` and
  ``/users/count`` leave service accounts out when called without a filter or with
  ``search=``, but list and count them with ``enabled=``, ``q=`` or ``username=`` (measured on
  26.7.5); ``GET /users/{id}`` returns them. The prefix is treated as
  reserved: every user whose username starts with it is protected.
- **Administrators**: users holding, directly, through a group (or a parent group) or
  through a composite realm role, any role of the ``realm-management`` client, or a realm
  role named in :data:`ADMIN_REALM_ROLES`.

:func:`holders` reads the whole protected set from the role side (a bounded number of calls,
independent of the number of users); :func:`is_admin` checks one user freshly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import every_page, realm_path, segment

SERVICE_ACCOUNT_PREFIX = "service-account-"
ADMIN_CLIENT = "realm-management"
ADMIN_REALM_ROLES = ("admin",)
"""Realm roles that make an administrator whatever their composites (a product's own
``admin`` role; Keycloak's master realm has one of that name)."""


def is_service_account_name(username: str | None) -> bool:
    return (username or "").lower().startswith(SERVICE_ACCOUNT_PREFIX)


@dataclass
class ProtectedSet:
    """What :func:`holders` found."""

    admin_client: str
    """The internal id of ``realm-management``."""
    ids: set[str] = field(default_factory=set)
    """Every protected user id found (administrators, service accounts holding admin roles,
    users whose username carries the service-account prefix)."""
    listed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The protected users that every ``GET /users`` lists and counts (all but real service
    accounts), by id, as full representations."""
    service_accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Real service accounts, by id: listed and counted only by a filtered ``GET /users``."""
    admin_realm_roles: tuple[str, ...] = ()
    """The realm roles of :data:`ADMIN_REALM_ROLES` this realm defines."""


def admin_client_id(gw: AdminGateway, realm: str) -> str:
    """The internal id of the ``realm-management`` client (one call; never changes)."""
    found = [c for c in gw.get(realm_path(realm, "clients"), clientId=ADMIN_CLIENT)
             if c.get("clientId") == ADMIN_CLIENT]
    return str(found[0]["id"])


def is_admin(gw: AdminGateway, realm: str, user_id: str, admin_client: str,
             admin_realm_roles: tuple[str, ...] = ()) -> bool:
    """Whether the user holds, effectively (groups and composites included), a role of
    ``realm-management`` (one call) or, when the realm defines one, a realm role of
    :data:`ADMIN_REALM_ROLES` (one more call)."""
    user = realm_path(realm, "users", segment(user_id), "role-mappings")
    if gw.get(f"{user}/clients/{segment(admin_client)}/composite"):
        return True
    if not admin_realm_roles:
        return False
    held = {r.get("name") for r in gw.get(f"{user}/realm/composite", briefRepresentation="true")}
    return bool(held & set(admin_realm_roles))


def holders(gw: AdminGateway, realm: str, admin_client: str) -> ProtectedSet:
    """Every protected user of the realm, read from the role side.

    Calls: 1 (admin roles) + 1 (realm roles) + one per composite realm role + 2 per
    protected role (users, groups) + per group holding one (members, subgroups, paged) + 1
    (users named with the service-account prefix). About 50 on a realm whose administrators
    hold roles directly."""
    found = ProtectedSet(admin_client)
    admin_roles = [r["name"] for r in every_page(lambda first, max: gw.get(
        realm_path(realm, "clients", segment(admin_client), "roles"), first=first, max=max))]
    realm_roles = every_page(lambda first, max: gw.get(
        realm_path(realm, "roles"), first=first, max=max, briefRepresentation="false"))
    protected_realm = _admin_realm_roles(gw, realm, realm_roles, admin_client)
    found.admin_realm_roles = tuple(sorted(
        r["name"] for r in realm_roles if r["name"] in ADMIN_REALM_ROLES))
    roles = [realm_path(realm, "clients", segment(admin_client), "roles", segment(name))
             for name in admin_roles]
    roles += [realm_path(realm, "roles", segment(name)) for name in sorted(protected_realm)]
    users: dict[str, dict[str, Any]] = {}
    groups: dict[str, None] = {}
    for role in roles:
        for user in every_page(lambda first, max, role=role: gw.get(
                f"{role}/users", first=first, max=max, briefRepresentation="false")):
            users[user["id"]] = user
        for group in every_page(lambda first, max, role=role: gw.get(
                f"{role}/groups", first=first, max=max, briefRepresentation="true")):
            groups[group["id"]] = None
    for group_id in _with_subgroups(gw, realm, list(groups)):
        for user in every_page(lambda first, max, group_id=group_id: gw.get(
                realm_path(realm, "groups", segment(group_id), "members"),
                first=first, max=max, briefRepresentation="false")):
            users[user["id"]] = user
    # username= finds every user named with the prefix; search= leaves real service accounts
    # out, so what only the first finds are the real ones.
    named = {u["id"]: u for u in _prefixed(gw, realm, username=SERVICE_ACCOUNT_PREFIX)}
    people = {u["id"] for u in _prefixed(gw, realm, search=SERVICE_ACCOUNT_PREFIX)}
    users |= named
    found.ids = set(users)
    found.service_accounts = {uid: rep for uid, rep in named.items() if uid not in people}
    found.listed = {uid: rep for uid, rep in users.items() if uid not in found.service_accounts
                    and (uid in people or not is_service_account_name(rep.get("username")))}
    return found


def _prefixed(gw: AdminGateway, realm: str, **params: str) -> list[dict[str, Any]]:
    return [u for u in every_page(lambda first, max: gw.get(
        realm_path(realm, "users"), first=first, max=max, briefRepresentation="false",
        **params)) if is_service_account_name(u.get("username"))]


def _admin_realm_roles(gw: AdminGateway, realm: str, realm_roles: list[dict[str, Any]],
                       admin_client: str) -> set[str]:
    """Realm roles that make an administrator: named in :data:`ADMIN_REALM_ROLES`, or
    composite (transitively) of a ``realm-management`` role or of such a realm role."""
    composites: dict[str, set[str]] = {}
    admin = {r["name"] for r in realm_roles if r["name"] in ADMIN_REALM_ROLES}
    for role in realm_roles:
        if not role.get("composite"):
            continue
        parts = gw.get(realm_path(realm, "roles", segment(role["name"]), "composites"))
        if any(p.get("clientRole") and p.get("containerId") == admin_client for p in parts):
            admin.add(role["name"])
        composites[role["name"]] = {p["name"] for p in parts if not p.get("clientRole")}
    changed = True
    while changed:
        changed = False
        for name, parts in composites.items():
            if name not in admin and parts & admin:
                admin.add(name)
                changed = True
    return admin


def _with_subgroups(gw: AdminGateway, realm: str, group_ids: list[str]) -> list[str]:
    """The groups and every group below them (members of a subgroup inherit its parents'
    roles)."""
    seen: dict[str, None] = {}
    pending = list(group_ids)
    while pending:
        group_id = pending.pop()
        if group_id in seen:
            continue
        seen[group_id] = None
        pending += [g["id"] for g in every_page(lambda first, max, group_id=group_id: gw.get(
            realm_path(realm, "groups", segment(group_id), "children"),
            first=first, max=max, briefRepresentation="true"))]
    return list(seen)
