"""An in-memory :class:`bridge.invitations.Directory` for the use-case and API unit tests.

It behaves like the Keycloak directory where the use-cases depend on it: e-mails lowercased
and unique, group memberships by path, required actions kept, ``send_actions`` recorded
(like a mail), and a failure can be injected per method."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from bridge.invitations import PENDING, Account, NewAccount
from bridge.keycloak import errors as kc
from bridge.tenants.membership import StaticTenants


@dataclass
class Sent:
    user_id: str
    actions: list[str]
    client_id: str | None
    redirect_uri: str | None
    lifespan: int


@dataclass
class MemoryDirectory:
    accounts: dict[str, Account] = field(default_factory=dict)
    groups: dict[str, set[str]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    logged_out: list[str] = field(default_factory=list)
    fail: dict[str, Exception] = field(default_factory=dict)
    writes: list[tuple[str, str]] = field(default_factory=list)
    """``(method, user_id)`` of every update and set_groups, in order."""
    counted: list[tuple[str, str, str]] = field(default_factory=list)
    """``(holders|members, tenant, profile)`` of every count, in order."""
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def tenant_view(self, catalog: Any) -> StaticTenants:
        return StaticTenants()  # the catalog's own tenants, no organizations

    def _maybe_fail(self, method: str) -> None:
        if method in self.fail:
            raise self.fail[method]

    def add(self, username: str, email: str, attributes: dict[str, list[str]],
            groups: set[str] | None = None, **fields: Any) -> str:
        user_id = f"u{next(self._ids)}"
        self.accounts[user_id] = Account(
            user_id, username, email.lower(),
            attributes={k: tuple(v) for k, v in attributes.items()}, **fields)
        self.groups[user_id] = set(groups or ())
        return user_id

    def get(self, user_id: str) -> Account | None:
        self._maybe_fail("get")
        return self.accounts.get(user_id)

    def find_by_email(self, email: str) -> list[Account]:
        self._maybe_fail("find_by_email")
        return [a for a in self.accounts.values() if a.email == email.lower()]

    def invited(self, first: int, max: int) -> list[Account]:
        found = sorted((a for a in self.accounts.values() if a.attributes.get(PENDING)),
                       key=lambda a: a.username)
        return found[first:first + max]

    def with_attribute(self, name: str, value: str, first: int, max: int) -> list[Account]:
        self._maybe_fail("with_attribute")
        found = sorted((a for a in self.accounts.values()
                        if value.lower() in (v.lower() for v in a.attributes.get(name, ()))),
                       key=lambda a: a.username)
        return found[first:first + max]

    def count_with_attribute(self, name: str, value: str) -> int:
        return len(self.with_attribute(name, value, 0, len(self.accounts)))

    def holders(self, tenant: str, profile: str) -> int:
        self._maybe_fail("holders")
        self.counted.append(("holders", tenant, profile))
        return sum(1 for a in self.accounts.values() if a.enabled
                   and tenant in (v.lower() for v in a.attributes.get("tenants", ()))
                   and profile in (v.lower() for v in a.attributes.get("profiles", ())))

    def members(self, tenant: str) -> int:
        self._maybe_fail("members")
        self.counted.append(("members", tenant, ""))
        return sum(1 for a in self.accounts.values()
                   if tenant in (v.lower() for v in a.attributes.get("tenants", ())))

    def groups_under(self, user_id: str, root: str) -> frozenset[str]:
        self._maybe_fail("groups_under")
        if user_id not in self.accounts:
            raise kc.NotFound("gone")
        return frozenset(g for g in self.groups[user_id] if g.startswith(root + "/"))

    def create(self, account: NewAccount) -> str:
        self._maybe_fail("create")
        if self.find_by_email(account.email):
            raise kc.Conflict("duplicate", detail="User exists with same email")
        user_id = self.add(account.email, account.email,
                           {k: list(v) for k, v in account.attributes.items()},
                           set(account.groups), first_name=account.first_name,
                           last_name=account.last_name,
                           required_actions=tuple(account.required_actions))
        return user_id

    def update(self, account: Account) -> None:
        self._maybe_fail("update")
        if account.id not in self.accounts:
            raise kc.NotFound("gone")
        self.writes.append(("update", account.id))
        self.accounts[account.id] = replace(account)

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        self._maybe_fail("set_groups")
        self.writes.append(("set_groups", user_id))
        kept = {g for g in self.groups[user_id] if not g.startswith(root + "/")}
        self.groups[user_id] = kept | set(wanted)

    def delete(self, user_id: str) -> None:
        self._maybe_fail("delete")
        if self.accounts.pop(user_id, None) is None:
            raise kc.NotFound("gone")
        self.groups.pop(user_id, None)

    def send_actions(self, user_id: str, actions: list[str], client_id: str | None,
                     redirect_uri: str | None, lifespan: int) -> None:
        self._maybe_fail("send_actions")
        self.sent.append(Sent(user_id, list(actions), client_id, redirect_uri, lifespan))

    def logout(self, user_id: str) -> None:
        self._maybe_fail("logout")
        self.logged_out.append(user_id)
