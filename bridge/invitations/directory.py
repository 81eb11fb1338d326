"""The :class:`Directory` port (where accounts live), its Keycloak adapter
(:class:`KeycloakDirectory`, through the gateway functions of :mod:`bridge.keycloak.users`)
and :class:`DirectoryWriter`, the catalog's account writer over a directory."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from bridge import errors as domain
from bridge.catalog.model import Catalog
from bridge.invitations.values import PENDING, Account, NewAccount
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.tenants.invariants import KeycloakTenantCounts
from bridge.tenants.membership import LiveTenants, StaticTenants, TenantView
from bridge.tenants.store import TenantStore


class Directory(Protocol):
    """Where accounts live (Keycloak in production, memory in unit tests).

    Every method is one admin call unless said otherwise; errors are
    :mod:`bridge.errors` (``NotFound``, ``Duplicate``, ``Unavailable``, ``Refused``,
    ``DirectoryError``)."""

    def get(self, user_id: str) -> Account | None:
        """The account, or None when it does not exist."""

    def find_by_email(self, email: str) -> list[Account]:
        """Accounts with this e-mail (case-insensitive, exact)."""

    def invited(self, first: int, max: int) -> list[Account]:
        """One page of accounts carrying the ``invitation.pending`` marker, by username."""

    def with_attribute(self, name: str, value: str, first: int, max: int) -> list[Account]:
        """One page of accounts whose attribute ``name`` holds ``value`` (whole value,
        case-insensitive, as Keycloak compares), by username."""

    def count_with_attribute(self, name: str, value: str) -> int:
        """How many accounts :meth:`with_attribute` would list (bounds its pages)."""

    def groups_under(self, user_id: str, root: str) -> frozenset[str]:
        """The account's group paths under ``root`` (read only; usually one call)."""

    def holders(self, tenant: str, profile: str) -> int:
        """Enabled accounts of ``tenant`` holding ``profile`` (a tenant invariant's count:
        :class:`bridge.tenants.invariants.TenantCounts`)."""

    def members(self, tenant: str) -> int:
        """Accounts of ``tenant``, enabled or not (is a new one its first user?)."""

    def create(self, account: NewAccount) -> str:
        """Create it in one write (groups and required actions included); return its id."""

    def update(self, account: Account) -> None:
        """Write names, enabled, attributes (replacing them all) and required actions."""

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        """Make the account's groups under ``root`` exactly ``wanted`` (paths); others are
        never touched. One read, then one call per change."""

    def delete(self, user_id: str) -> None: ...

    def send_actions(self, user_id: str, actions: list[str], client_id: str | None,
                     redirect_uri: str | None, lifespan: int) -> None:
        """Have Keycloak mail the account a link performing ``actions``."""

    def logout(self, user_id: str) -> None:
        """End every session of the account (refresh tokens stop working)."""

    def tenant_view(self, catalog: Catalog) -> TenantView:
        """One request's view of the catalog's tenants: read live (Keycloak's
        organizations), and the memberships that follow a user's tenants."""


class DirectoryWriter:
    """:class:`bridge.catalog.apply.AccountWriter` over a :class:`Directory`: the update
    writes ``account`` (names, enabled... as given) with the planned attributes and
    required actions."""

    def __init__(self, directory: Directory, account: Account,
                 tenants: TenantView | None = None) -> None:
        self.directory = directory
        self.account = account
        self.tenants = tenants or StaticTenants()

    def join_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        self.tenants.join(user_id, tenants)

    def leave_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        self.tenants.leave(user_id, tenants)

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        assert user_id == self.account.id
        self.directory.update(replace(
            self.account, attributes={k: tuple(v) for k, v in attributes.items()},
            required_actions=tuple(required_actions)))

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        self.directory.set_groups(user_id, root, wanted)

    def logout(self, user_id: str) -> None:
        self.directory.logout(user_id)


class KeycloakDirectory:
    """:class:`Directory` over one realm, through the admin gateway's functions only."""

    def __init__(self, gateway: AdminGateway, realm: str) -> None:
        self.gw = gateway
        self.realm = realm
        self._group_ids: dict[str, str] = {}  # catalog groups are stable: path → id
        self._counts = KeycloakTenantCounts(gateway, realm)

    def tenant_view(self, catalog: Catalog) -> TenantView:
        if catalog.tenancy is None:
            return StaticTenants()
        return LiveTenants(TenantStore.of(self.gw, self.realm, catalog))

    def get(self, user_id: str) -> Account | None:
        try:
            return _account(kc_users.get(self.gw, self.realm, user_id))
        except domain.NotFound:
            return None

    def find_by_email(self, email: str) -> list[Account]:
        return [_account(rep) for rep in kc_users.find_by_email(self.gw, self.realm, email)
                if str(rep.get("email") or "").lower() == email.lower()]

    def invited(self, first: int, max: int) -> list[Account]:
        return [_account(rep) for rep in kc_users.search(
            self.gw, self.realm, first=first, max=max, q=f"{PENDING}:true")]

    def with_attribute(self, name: str, value: str, first: int, max: int) -> list[Account]:
        return [_account(rep) for rep in kc_users.search(
            self.gw, self.realm, first=first, max=max, q=_attribute_query(name, value))]

    def count_with_attribute(self, name: str, value: str) -> int:
        return kc_users.count(self.gw, self.realm, q=_attribute_query(name, value))

    def groups_under(self, user_id: str, root: str) -> frozenset[str]:
        return frozenset(kc_users.groups_under(self.gw, self.realm, user_id, root))

    def holders(self, tenant: str, profile: str) -> int:
        return self._counts.holders(tenant, profile)

    def members(self, tenant: str) -> int:
        return self._counts.members(tenant)

    def create(self, account: NewAccount) -> str:
        rep: dict[str, Any] = {
            "username": account.email, "email": account.email, "enabled": True,
            "emailVerified": False,
            "attributes": {k: list(v) for k, v in account.attributes.items()},
            "groups": sorted(account.groups),
            "requiredActions": list(account.required_actions)}
        if account.first_name:
            rep["firstName"] = account.first_name
        if account.last_name:
            rep["lastName"] = account.last_name
        return kc_users.create(self.gw, self.realm, rep)

    def update(self, account: Account) -> None:
        kc_users.update(self.gw, self.realm, account.id, {
            "username": account.username, "email": account.email,
            "firstName": account.first_name, "lastName": account.last_name,
            "enabled": account.enabled, "emailVerified": account.email_verified,
            "attributes": {k: list(v) for k, v in account.attributes.items()},
            "requiredActions": list(account.required_actions)})

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        kc_users.set_groups_under(self.gw, self.realm, user_id, root, wanted, self._group_ids)

    def delete(self, user_id: str) -> None:
        kc_users.delete(self.gw, self.realm, user_id)

    def send_actions(self, user_id: str, actions: list[str], client_id: str | None,
                     redirect_uri: str | None, lifespan: int) -> None:
        kc_users.execute_actions_email(self.gw, self.realm, user_id, actions,
                                       client_id=client_id, redirect_uri=redirect_uri,
                                       lifespan=lifespan)

    def logout(self, user_id: str) -> None:
        kc_users.logout(self.gw, self.realm, user_id)


_QUERY_TERM = re.compile(r"^[^\s:\"]+$")


def _attribute_query(name: str, value: str) -> str:
    """Keycloak's ``q`` (``name:value``, terms split on spaces). A name or value that could
    not be expressed exactly would silently search something else: refused instead."""
    if not (_QUERY_TERM.match(name) and _QUERY_TERM.match(value)):
        raise ValueError(f"cannot search attribute {name!r} for {value!r}")
    return f"{name}:{value}"


def _account(rep: Mapping[str, Any]) -> Account:
    return Account(
        id=str(rep["id"]), username=str(rep.get("username") or ""),
        email=str(rep.get("email") or ""), enabled=bool(rep.get("enabled", True)),
        email_verified=bool(rep.get("emailVerified", False)),
        first_name=rep.get("firstName"), last_name=rep.get("lastName"),
        attributes={k: tuple(v) for k, v in (rep.get("attributes") or {}).items()},
        required_actions=tuple(rep.get("requiredActions") or ()))
