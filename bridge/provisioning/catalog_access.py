"""The domain extension through the access catalog: every SCIM write of a user's status,
profile, toggles, perimeter or tenants is checked against the catalog's rules, then becomes
memberships of the catalog's groups (which carry the client roles) and the attributes the
token mappers emit.

SCIM extension ↔ catalog:
``userType`` → user type, ``status`` → status, ``profile`` → the user's profile,
``toggles``, ``perimeter`` ([{dimension, value}]) and ``tenants`` as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
from scim import errors

GROUP_ROOT = ROOT


class CatalogAccess:
    """A :class:`bridge.provisioning.mapping.DomainMapping` that enforces a catalog."""

    tenant_attribute = TENANTS
    group_root = GROUP_ROOT

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def attribute_names(self) -> set[str]:
        return set(managed_attributes(self.catalog))

    def state(self, extension: Mapping[str, Any] | None) -> UserState | None:
        """The Keycloak state the extension asks for, after every catalog rule; None when
        the request carries no domain facts."""
        if not extension or not any(extension.get(k) for k in (
                "userType", "status", "profile", "toggles", "perimeter", "tenants")):
            return None
        assignment = _assignment(extension)
        try:
            check_assignment(self.catalog, assignment)
        except RuleViolation as exc:
            # The rule's name leads the message: what an operator reads in the SCIM error.
            raise errors.InvalidValue(str(exc)) from None
        return user_state(self.catalog, assignment)

    def authorize(self, client_id: str, tenant: str | None,
                  extension: Mapping[str, Any] | None,
                  current: Mapping[str, list[str]] | None) -> None:
        """Refuse (SCIM 403, the rule named) a write the SCIM client may not make: the facts
        ``extension`` asks for, the user having the Keycloak attributes ``current`` (``None``
        for a new user). See :func:`bridge.catalog.rules.check_scim_client`."""
        target = None
        if extension and any(extension.get(k) for k in (
                "userType", "status", "profile", "toggles", "perimeter", "tenants")):
            target = _assignment(extension)
            if target.status not in self.catalog.status_by_name:
                target = None  # an unknown status is the assignment rules' 400
        now = None
        if current and current.get("status"):
            now = assignment_from_attributes(self.catalog, current)
        try:
            check_scim_client(self.catalog, client_id, tenant, target, now)
        except RuleViolation as exc:
            raise errors.Forbidden(str(exc)) from None

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
        if a.toggles:
            extension["toggles"] = sorted(a.toggles)
        if a.perimeter:
            extension["perimeter"] = [{"dimension": e.dimension, "value": e.value}
                                      for e in sorted(a.perimeter)]
        if a.tenants:
            extension["tenants"] = sorted(a.tenants)
        return extension


def _assignment(extension: Mapping[str, Any]) -> Assignment:
    perimeter = frozenset(
        PerimeterEntry(str(e.get("dimension") or ""), str(e.get("value") or ""))
        for e in extension.get("perimeter") or [] if isinstance(e, Mapping))
    profile = extension.get("profile")
    return Assignment(
        user_type=str(extension.get("userType") or ""),
        status=str(extension.get("status") or ""),
        profiles=(str(profile),) if profile else (),
        toggles=frozenset(str(t) for t in extension.get("toggles") or []),
        perimeter=perimeter,
        tenants=frozenset(str(t) for t in extension.get("tenants") or []),
    )


__all__ = ["CONFIGURE_TOTP", "CatalogAccess"]
