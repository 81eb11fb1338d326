"""Organizations of one realm (Keycloak 26's tenants): the only module that builds admin REST
paths for them and their members. Each function is one admin call (``gateway.calls``
counts it).

Facts that shape these functions (Keycloak 26.7): ``alias`` is unique and immutable (a PUT
with another alias is a 400), ``name`` unique (409); an attribute value holds at most 255
characters (a longer one is a bare 500, so :func:`check_attributes` refuses it first); a PUT
replaces every attribute (read-modify-write: the caller holds the tenant's lock);
``q=key:value`` searches attributes exactly, ``search=`` only names and domains. The
realm needs ``organizationsEnabled``; without it every route answers an error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import NotFound, OrganizationsDisabled, Refused
from bridge.keycloak.paths import segment

_P = ParamSpec("_P")
_T = TypeVar("_T")


def _organizations(call: Callable[_P, _T]) -> Callable[_P, _T]:
    """Keycloak's 404 for a realm with organizations off becomes
    :class:`OrganizationsDisabled` (the catalog's tenancy is not applied), never "not
    found": no tenant can exist there."""
    @functools.wraps(call)
    def checked(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return call(*args, **kwargs)
        except NotFound as exc:
            if "organizations not enabled" in exc.detail.casefold():
                raise OrganizationsDisabled(str(args[1])) from None
            raise
    return checked

ATTRIBUTE_VALUE_MAX = 255
"""Longest attribute value Keycloak stores on an organization (longer: a bare 500)."""
NAME_MAX = 255
MEMBERS_PAGE = 100
"""Members read per call when a caller walks a tenant's membership."""


def _base(realm: str) -> str:
    return f"/{segment(realm)}/organizations"


def _org(realm: str, org_id: str) -> str:
    return f"{_base(realm)}/{segment(org_id)}"


def check_attributes(rep: Mapping[str, Any]) -> None:
    """Raise :class:`Refused` (nothing sent) for a name or attribute value Keycloak would
    fail on."""
    name = rep.get("name")
    if isinstance(name, str) and len(name) > NAME_MAX:
        raise Refused("organization name too long", field="name",
                      reason=f"is longer than {NAME_MAX} characters")
    for key, values in (rep.get("attributes") or {}).items():
        for value in values or ():
            if len(str(value)) > ATTRIBUTE_VALUE_MAX:
                raise Refused(f"organization attribute {key} too long", field=key,
                              reason=f"is longer than {ATTRIBUTE_VALUE_MAX} characters")


@_organizations
def create(gw: AdminGateway, realm: str, rep: dict[str, Any]) -> str:
    """``POST /organizations`` {name, alias, enabled, attributes}; returns the new id.
    Raises :class:`bridge.errors.Duplicate` when the name or the alias is taken."""
    check_attributes(rep)
    org_id = gw.post(_base(realm), rep)
    if not org_id:
        raise ValueError("Keycloak created an organization without a Location header")
    return org_id


@_organizations
def get(gw: AdminGateway, realm: str, org_id: str) -> dict[str, Any]:
    """``GET /organizations/{id}`` (with attributes); raises NotFound."""
    rep: dict[str, Any] = gw.get(_org(realm, org_id))
    return rep


@_organizations
def search_attribute(gw: AdminGateway, realm: str, key: str, value: str, *,
                     first: int = 0, max: int = 10) -> list[dict[str, Any]]:
    """``GET /organizations?q=key:value``: the organizations whose attribute ``key`` holds
    exactly ``value``, with their attributes. Keycloak's ``q`` separates pairs by spaces
    and key from value by ``:``: neither may appear in ``key`` or ``value``."""
    if any(c in key + value for c in " :") or not key or not value:
        raise ValueError(f"cannot search organizations on {key!r}={value!r}")
    found: list[dict[str, Any]] = gw.get(
        _base(realm), q=f"{key}:{value}", first=first, max=max,
        briefRepresentation="false")
    return found


@_organizations
def page(gw: AdminGateway, realm: str, *, first: int = 0, max: int = 100,
         q: str | None = None, search: str | None = None) -> list[dict[str, Any]]:
    """``GET /organizations``: one page, with attributes (``q``: attribute pairs,
    ``search``: a name or domain substring)."""
    found: list[dict[str, Any]] = gw.get(
        _base(realm), first=first, max=max, q=q, search=search,
        briefRepresentation="false")
    return found


@_organizations
def count(gw: AdminGateway, realm: str, *, q: str | None = None,
          search: str | None = None) -> int:
    """``GET /organizations/count``."""
    return int(gw.get(f"{_base(realm)}/count", q=q, search=search))


@_organizations
def update(gw: AdminGateway, realm: str, org_id: str, rep: dict[str, Any]) -> None:
    """``PUT /organizations/{id}``: the whole representation (its attributes replace the
    stored ones; its alias must be the stored one)."""
    check_attributes(rep)
    gw.put(_org(realm, org_id), rep)


@_organizations
def delete(gw: AdminGateway, realm: str, org_id: str) -> None:
    """``DELETE /organizations/{id}`` (its memberships go with it; the users stay)."""
    gw.delete(_org(realm, org_id))


@_organizations
def add_member(gw: AdminGateway, realm: str, org_id: str, user_id: str) -> None:
    """``POST /organizations/{id}/members`` with the user's id as a JSON string. Raises
    :class:`bridge.errors.Duplicate` when the user is a member already."""
    gw.post(f"{_org(realm, org_id)}/members", user_id)


@_organizations
def remove_member(gw: AdminGateway, realm: str, org_id: str, user_id: str) -> None:
    """``DELETE /organizations/{id}/members/{userId}``; NotFound when not a member."""
    gw.delete(f"{_org(realm, org_id)}/members/{segment(user_id)}")


@_organizations
def members(gw: AdminGateway, realm: str, org_id: str, *, first: int = 0,
            max: int = MEMBERS_PAGE) -> list[dict[str, Any]]:
    """``GET /organizations/{id}/members``: one page of members (id, username...; no
    attributes, whatever is asked), each with ``membershipType``."""
    found: list[dict[str, Any]] = gw.get(f"{_org(realm, org_id)}/members",
                                         first=first, max=max)
    return found


@_organizations
def members_count(gw: AdminGateway, realm: str, org_id: str) -> int:
    """``GET /organizations/{id}/members/count``."""
    return int(gw.get(f"{_org(realm, org_id)}/members/count"))


@_organizations
def of_member(gw: AdminGateway, realm: str, user_id: str) -> list[dict[str, Any]]:
    """``GET /organizations/members/{userId}/organizations``: every organization of the
    user, with attributes, in one call."""
    found: list[dict[str, Any]] = gw.get(
        f"{_base(realm)}/members/{segment(user_id)}/organizations",
        briefRepresentation="false")
    return found


