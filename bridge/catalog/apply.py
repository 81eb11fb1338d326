"""Writing a user's catalog state: the one function every write path calls.

SCIM (``KeycloakScimBackend``), the API and CLI (``AccessAdministration.update``) and the
catalog reconcile (``CatalogReconciler``) all change an existing user the same way:

1. :func:`plan_user_state` (pure): drop the attributes the catalog owns, overlay the new
   state (or keep the stored facts when the request names none, or remove the access
   they gave when they break a rule), add the required actions the state needs (added,
   never dropped: a pending ``UPDATE_PASSWORD`` of an invitation stays), and decide
   whether the user's sessions must end;
2. :func:`apply_user_state`: one write of the account, the groups under
   ``/bridge/catalog`` made exact when they may differ, and one logout when the plan says
   so. The writes go through an :class:`AccountWriter`, which each path implements over
   the gateway's typed functions (``bridge.keycloak.users``).

**Sessions end** (seed 003: "an active employee made a technician keeps their sessions")
when the change raises the required authentication (the user now needs MFA and did not)
or removes anything the tokens carried: a permission, a tenant, a perimeter entry, a
profile, or the status or user type itself. Keycloak's ``POST /users/{id}/logout`` ends
every session and sets the user's not-before, so no refresh token issued before the change
works again, and the next token comes from a login at the new level (OTP included). A
change that only widens keeps the sessions: the next refresh carries it, and the logout
call is spent only when the rule fires. An access token already issued stays valid until it
expires (``accessTokenLifespan``): it is self-contained.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bridge.catalog.mapping import (
    ACCESS_REF,
    PERMISSIONS,
    PERMISSIONS_OVERFLOW,
    PROFILE_ATTRIBUTE,
    ROOT,
    STATUS,
    TENANTS,
    TENANTS_OVERFLOW,
    USER_TYPE,
    UserState,
    access_attributes,
    assignment_from_attributes,
    managed_attributes,
    stored_access,
)
from bridge.catalog.model import Assignment, Catalog

Attributes = Mapping[str, Iterable[str]]


class AccountWriter(Protocol):
    """The three writes a catalog state needs, over one Keycloak user."""

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        """One update of the account: these attributes (replacing them all) and required
        actions, with whatever else the path writes in the same call."""

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        """Make the account's groups under ``root`` exactly ``wanted``."""

    def logout(self, user_id: str) -> None:
        """End every session of the account."""

    def join_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        """Make the account a member of these tenants (their organizations)."""

    def leave_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        """End the account's membership of these tenants."""


@dataclass(frozen=True)
class StatePlan:
    """What writing one user's catalog state changes."""

    attributes: dict[str, tuple[str, ...]]
    """Every attribute the account must hold (others than the catalog's as given)."""
    required_actions: tuple[str, ...]
    groups: frozenset[str] | None
    """Exactly these groups under ``/bridge/catalog``; None: leave them as they are."""
    catalog_changed: bool
    """The catalog's attributes differ from the stored ones."""
    end_sessions: bool
    """MFA rises or a right is removed: the sessions must end (see the module doc)."""
    tenants: frozenset[str] = frozenset()
    """The tenants the account must be a member of (its ``tenants`` attribute)."""
    stored_tenants: frozenset[str] = frozenset()
    """The tenants of the stored attributes (the memberships, unless told otherwise)."""

    def attribute_lists(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.attributes.items()}


KEEP = None
"""``state`` of :func:`plan_user_state` when the request names no catalog fact."""


def plan_user_state(catalog: Catalog, stored: Attributes, required_actions: Iterable[str],
                    state: UserState | None, *, attributes: Attributes | None = None,
                    remove_access: bool = False) -> StatePlan:
    """The plan for a user whose attributes are ``stored``.

    ``attributes``: the attributes the path wants besides the catalog's (SCIM's own,
    ``locale``...; default: ``stored``). ``state``: the new catalog state (checked by the
    rules already), or :data:`KEEP` to keep the stored facts as they are. ``remove_access``
    (reconcile of facts that break a rule): the facts stay, ``permissions`` and the
    catalog groups go.
    """
    owned = managed_attributes(catalog)
    before = {k: tuple(v) for k, v in stored.items()}
    given = before if attributes is None else {k: tuple(v) for k, v in attributes.items()}
    result = {k: v for k, v in given.items() if k not in owned}
    actions = list(dict.fromkeys(required_actions))
    groups: frozenset[str] | None
    if remove_access:
        access = {TENANTS, PERMISSIONS, TENANTS_OVERFLOW, PERMISSIONS_OVERFLOW, ACCESS_REF}
        result |= {k: v for k, v in before.items() if k in owned and k not in access}
        # The tenants stay (facts), the permissions go: inline again if they now fit.
        result |= access_attributes(catalog, stored_access(before)[0], [])
        groups = frozenset()
    elif state is None:
        result |= {k: v for k, v in before.items() if k in owned}
        groups = None
    else:
        result |= dict(state.attributes)
        actions += [a for a in sorted(state.required_actions) if a not in actions]
        groups = state.groups
    changed = _owned(before, owned) != _owned(result, owned)
    end = changed and (_mfa_rises(catalog, before, result) or _narrows(catalog, before, result))
    # Inline or behind an access_ref alike (a user of hundreds of tenants keeps them all).
    tenants = frozenset(stored_access(result)[0]) if catalog.tenancy is not None \
        else frozenset()
    stored = frozenset(stored_access(before)[0]) if catalog.tenancy is not None \
        else frozenset()
    return StatePlan(result, tuple(actions), groups, changed, end, tenants, stored)


def apply_user_state(writer: AccountWriter, user_id: str, plan: StatePlan, *,
                     write: bool = True, groups: frozenset[str] | None = None,
                     memberships: frozenset[str] | None = None) -> None:
    """Write ``plan``: the tenants the account gains joined, the account (unless ``write``
    is False: nothing but groups or memberships differ), the catalog groups (when
    ``groups``, the current ones, differ from the plan's, or are unknown and the catalog's
    attributes changed), the tenants it loses left, then the logout when the plan needs it.
    ``memberships``: the tenants the account is a member of now (default: those of its
    stored attributes).

    Joining comes first: a cap change lists a tenant's members after it wrote the tenant,
    so a write that computed with the old caps is listed and recomputed (on N replicas
    alike). Leaving comes after the attributes: the user never holds a tenant's
    permissions without being listed as its member. The logout comes last, after every
    write: a login racing the change then sees the new state, and a failed write leaves
    the sessions as they were (nothing changed)."""
    members = plan.stored_tenants if memberships is None else memberships
    joins, leaves = plan.tenants - members, members - plan.tenants
    if joins:
        writer.join_tenants(user_id, joins)
    if write:
        writer.write_user(user_id, plan.attribute_lists(), list(plan.required_actions))
    if plan.groups is not None and (plan.groups != groups if groups is not None
                                    else plan.catalog_changed):
        writer.set_groups(user_id, ROOT, plan.groups)
    if leaves:
        writer.leave_tenants(user_id, leaves)
    if plan.end_sessions:
        writer.logout(user_id)


# -- the rule -----------------------------------------------------------------------------

def _owned(attributes: Mapping[str, tuple[str, ...]], owned: frozenset[str]
           ) -> dict[str, frozenset[str]]:
    return {k: frozenset(v) for k, v in attributes.items() if k in owned and v}


def _facts(catalog: Catalog, attributes: Mapping[str, tuple[str, ...]]) -> Assignment:
    return assignment_from_attributes(catalog, attributes)


def mfa_needed(catalog: Catalog, attributes: Mapping[str, tuple[str, ...]]) -> bool:
    """The stored facts require a second factor (names the catalog does not know count
    for nothing: they grant nothing either)."""
    a = _facts(catalog, attributes)
    status = catalog.status_by_name.get(a.status)
    return bool(status and status.mfa) or any(
        p.mfa for p in (catalog.profile_by_name.get(name) for name in a.profiles) if p)


def _mfa_rises(catalog: Catalog, before: Mapping[str, tuple[str, ...]],
               after: Mapping[str, tuple[str, ...]]) -> bool:
    return mfa_needed(catalog, after) and not mfa_needed(catalog, before)


def _narrows(catalog: Catalog, before: Mapping[str, tuple[str, ...]],
             after: Mapping[str, tuple[str, ...]]) -> bool:
    """Something the tokens carried is gone: a permission, tenant, profile, the status or
    user type, or a perimeter entry (inline or by reference alike)."""
    for name in (PROFILE_ATTRIBUTE, STATUS, USER_TYPE):
        if set(before.get(name, ())) - set(after.get(name, ())):
            return True
    # Tenants and permissions inline or behind an access_ref alike: moving them behind the
    # reference (or back) removes nothing.
    for was, now in zip(stored_access(before), stored_access(after), strict=True):
        if set(was) - set(now):
            return True
    return bool(_facts(catalog, before).perimeter - _facts(catalog, after).perimeter)
