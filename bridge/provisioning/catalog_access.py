"""The domain extension through the access catalog: every SCIM write of a user's status,
profile, toggles, perimeter or tenants is checked against the catalog's rules, then becomes
memberships of the catalog's groups (which carry the client roles) and the attributes the
token mappers emit.

SCIM extension ↔ catalog:
``userType`` → user type, ``status`` → status, ``profiles`` → the user's profiles (all of
them: seed 003 allows several), ``toggles``, ``perimeter`` ([{dimension, value}]) and
``tenants`` as they are. ``profile`` (single-valued, the first profile) stays readable and
writable for clients that know one profile per user: written alone, it sets the user's
profiles to that one; written with ``profiles``, it must be one of them.

**What a write does not name is kept** (RFC 7644 §3.5.1 lets a service provider treat an
attribute a PUT omits as "not asserted"): a PUT without the extension leaves every catalog
fact as it is, and one whose extension omits ``tenants`` (say) keeps the tenants. An
attribute the request names, even as ``null`` or ``[]``, is replaced, so a PUT or a PATCH
``remove`` still clears toggles or a perimeter. Nothing a client did not name disappears
(issue 9: an IdP's GET then PUT kept one profile of several).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bridge.audit import with_rule
from bridge.catalog.mapping import (
    CONFIGURE_TOTP,
    ROOT,
    TENANTS,
    UserState,
    assignment_from_attributes,
    managed_attributes,
    user_state,
)
from bridge.catalog.model import Assignment, Catalog, PerimeterEntry
from bridge.catalog.rules import RuleViolation, check_assignment, check_scim_client
from bridge.tenants.membership import TenantView
from scim import errors

GROUP_ROOT = ROOT


class CatalogAccess:
    """A :class:`bridge.provisioning.mapping.DomainMapping` that enforces a catalog."""

    tenant_attribute = TENANTS
    group_root = GROUP_ROOT

    def __init__(self, catalog: Catalog, *,
                 on_refusal: Callable[[str], None] | None = None) -> None:
        self.catalog = catalog
        # Told the rule's name of each refused write (the server counts them: /metrics).
        self._on_refusal = on_refusal or (lambda _rule: None)

    def attribute_names(self) -> set[str]:
        return set(managed_attributes(self.catalog))

    def live(self, view: TenantView, names: Iterable[str]) -> CatalogAccess:
        """This mapping over the live catalog of the tenants ``names`` (read through
        ``view``: once per request), which every rule of the write then computes with."""
        if self.catalog.tenancy is None:
            return self
        live = CatalogAccess(view.live_catalog(self.catalog, names))
        live._on_refusal = self._on_refusal
        return live

    def bound_tenant_exists(self, client_id: str, tenant: str) -> None:
        """A tenant-bound client whose tenant is gone (deleted) writes nothing: 403
        ``scim-client.tenant``. Reads this mapping's (live) catalog."""
        if self.catalog.tenancy is not None and tenant not in self.catalog.tenant_by_name:
            self._on_refusal("scim-client.tenant")
            raise with_rule(errors.Forbidden(
                f"scim-client.tenant: SCIM client {client_id!r} is bound to "
                f"{self.catalog.tenancy.label} {tenant!r}, which does not exist"),
                "scim-client.tenant")

    def state(self, extension: Mapping[str, Any] | None) -> UserState | None:
        """The Keycloak state the extension asks for (a new user), after every catalog
        rule; None when the request carries no domain facts."""
        if not extension or not any(extension.get(k) for k in FACT_KEYS):
            return None
        return self._checked(_assignment(extension, None, None))

    def change(self, extension: Mapping[str, Any] | None, named: set[str] | None,
               stored: Mapping[str, list[str]]) -> UserState | None:
        """The state an existing user (``stored`` attributes) is to have: the facts the
        extension names laid over the stored ones (``named``: the keys the client gave;
        None: every key present). None when it names none: the stored state stays."""
        wanted = self.wanted(extension, named, stored)
        return None if wanted is None else self._checked(wanted)

    def wanted(self, extension: Mapping[str, Any] | None, named: set[str] | None,
               stored: Mapping[str, list[str]]) -> Assignment | None:
        """The facts :meth:`change` checks (unchecked), None when the write changes none:
        then no rule runs and no tenant needs reading."""
        if extension is None:
            return None
        keys = {k for k in (named if named is not None else extension) if k in FACT_KEYS}
        if not keys:
            return None
        current = assignment_from_attributes(self.catalog, stored) if stored.get(
            "status") else None
        wanted = _assignment(extension, keys, current)
        if wanted == current:
            # The same facts (a PATCH of active or a name, a GET sent back by a PUT): the
            # stored state stays, and no rule blocks a write that changes no fact.
            return None
        return wanted

    def checked(self, assignment: Assignment) -> UserState:
        """Every catalog rule on ``assignment`` (SCIM 400 naming the rule), then its state."""
        return self._checked(assignment)

    def facts(self, extension: Mapping[str, Any] | None) -> Assignment | None:
        """The facts a new user's extension names (unchecked), None when it names none."""
        if not extension or not any(extension.get(k) for k in FACT_KEYS):
            return None
        return _assignment(extension, None, None)

    def refused(self, rule: str) -> None:
        """Count a write refused by ``rule`` elsewhere (a tenant's invariant): /metrics."""
        self._on_refusal(rule)

    def _checked(self, assignment: Assignment) -> UserState:
        try:
            check_assignment(self.catalog, assignment)
        except RuleViolation as exc:
            self._on_refusal(exc.rule)
            # The rule's name leads the message: what an operator reads in the SCIM error
            # (and the rule of its audit event).
            raise with_rule(errors.InvalidValue(str(exc)), exc.rule) from None
        return user_state(self.catalog, assignment)

    def authorize(self, client_id: str, tenant: str | None,
                  extension: Mapping[str, Any] | None,
                  current: Mapping[str, list[str]] | None) -> None:
        """Refuse (SCIM 403, the rule named) a write the SCIM client may not make: the facts
        ``extension`` asks for, the user having the Keycloak attributes ``current`` (``None``
        for a new user). See :func:`bridge.catalog.rules.check_scim_client`."""
        now = None
        if current and current.get("status"):
            now = assignment_from_attributes(self.catalog, current)
        target = None
        if extension and any(extension.get(k) for k in FACT_KEYS):
            # The user as it will be: the facts named, over those it keeps (see change()).
            target = _assignment(extension, None, now)
            if target.status not in self.catalog.status_by_name:
                target = None  # an unknown status is the assignment rules' 400
        try:
            check_scim_client(self.catalog, client_id, tenant, target, now)
        except RuleViolation as exc:
            self._on_refusal(exc.rule)
            raise with_rule(errors.Forbidden(str(exc)), exc.rule) from None

    def to_attributes(self, extension: Mapping[str, Any] | None) -> dict[str, list[str]]:
        state = self.state(extension)
        return state.attribute_lists() if state else {}

    def groups(self, extension: Mapping[str, Any] | None) -> set[str]:
        """Paths of the catalog groups the user must be in (and no other under the root)."""
        state = self.state(extension)
        return set(state.groups) if state else set()

    def required_actions(self, extension: Mapping[str, Any] | None) -> set[str]:
        state = self.state(extension)
        return set(state.required_actions) if state else set()

    def from_attributes(self, attributes: Mapping[str, list[str]]) -> dict[str, Any] | None:
        if not attributes.get("status"):
            return None
        a = assignment_from_attributes(self.catalog, attributes)
        extension: dict[str, Any] = {"userType": a.user_type, "status": a.status}
        if a.profiles:
            extension["profile"] = a.profiles[0]
            extension["profiles"] = list(a.profiles)
        if a.toggles:
            extension["toggles"] = sorted(a.toggles)
        if a.perimeter:
            extension["perimeter"] = [{"dimension": e.dimension, "value": e.value}
                                      for e in sorted(a.perimeter)]
        if a.tenants:
            extension["tenants"] = sorted(a.tenants)
        return extension


FACT_KEYS = ("userType", "status", "profile", "profiles", "toggles", "perimeter", "tenants")


def tenant_names(extension: Mapping[str, Any] | None,
                 stored: Mapping[str, list[str]] | None) -> set[str]:
    """Every tenant a write may compute with: the stored ones and those it asks for."""
    names = set((stored or {}).get(TENANTS) or ())
    names |= {str(t) for t in (extension or {}).get("tenants") or () if t}
    return names


def _profiles(extension: Mapping[str, Any], named: Callable[[str], bool],
              current: tuple[str, ...]) -> tuple[str, ...]:
    """The profiles a write asks for. ``profiles`` changed: it wins (``profile``, if changed
    too, must be one of them). Only ``profile`` changed (a client knowing one profile per
    user): the user's profile is that one. Neither changed (a GET sent back by a PUT, where
    ``profile`` is the first of several): the profiles stay."""
    listed = tuple(dict.fromkeys(str(p) for p in extension.get("profiles") or []))
    single = extension.get("profile")
    single = str(single) if single else None
    profiles_changed = named("profiles") and listed != current
    profile_changed = named("profile") and single != (current[0] if current else None)
    if profiles_changed:
        if profile_changed and single is not None and single not in listed:
            raise errors.InvalidValue(
                f"profile {single!r} is not one of profiles {list(listed)!r}: give "
                f"profiles alone (profile is the first of them)")
        return listed
    if profile_changed:
        return (single,) if single else ()
    return current


def _assignment(extension: Mapping[str, Any], keys: set[str] | None,
                current: Assignment | None) -> Assignment:
    """The facts of ``extension`` (those in ``keys``; None: all) over ``current``."""
    base = current or Assignment("", "")

    def named(key: str) -> bool:
        return key in keys if keys is not None else key in extension

    def strings(key: str, kept: frozenset[str]) -> frozenset[str]:
        return frozenset(str(v) for v in extension.get(key) or []) if named(key) else kept

    perimeter = frozenset(
        PerimeterEntry(str(e.get("dimension") or ""), str(e.get("value") or ""))
        for e in extension.get("perimeter") or [] if isinstance(e, Mapping)
    ) if named("perimeter") else base.perimeter
    return Assignment(
        user_type=str(extension.get("userType") or "") if named("userType")
        else base.user_type,
        status=str(extension.get("status") or "") if named("status") else base.status,
        profiles=_profiles(extension, named, base.profiles),
        toggles=strings("toggles", base.toggles),
        perimeter=perimeter,
        tenants=strings("tenants", base.tenants),
    )


__all__ = ["CONFIGURE_TOTP", "CatalogAccess"]
