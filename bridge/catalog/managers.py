"""Who may manage which tenants through the API: the catalog's ``tenancy.managers`` rules.

Pure (no Keycloak call). An actor (a user of the product, from its access token) may do an
operation on a tenant when one rule both names the actor (its ``actor`` selector) and
allows the operation, on every tenant or, for a rule with ``own_tenants_only``, on the
actor's own tenants only. Reading (list, show) is allowed on the tenants some rule of the
actor covers. Operators through the CLI are not delegated and never come here.

Refusals are :class:`bridge.catalog.rules.RuleViolation` whose rule is
``delegation.tenant-manager`` (no rule of the actor allows the operation) or
``delegation.tenant`` (the rules that allow it cover only the actor's own tenants); the
message names the catalog rules considered, so the 403 says which rule decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.catalog.model import Assignment, Catalog, TenantManager
from bridge.catalog.rules import RuleViolation, selector_matches

NOT_A_MANAGER = "delegation.tenant-manager"
OUTSIDE = "delegation.tenant"


@dataclass(frozen=True)
class Reach:
    """The tenants an actor may read: every one (``every``), or ``own`` only."""

    every: bool
    own: frozenset[str]
    rules: tuple[str, ...]

    def covers(self, tenant: str) -> bool:
        return self.every or tenant in self.own


def _label(catalog: Catalog) -> str:
    return catalog.tenancy.label if catalog.tenancy else "tenant"


def _who(actor: Assignment) -> str:
    profiles = ", ".join(repr(p) for p in actor.profiles)
    return f"status {actor.status!r}" + (f" with profile {profiles}" if profiles else "")


def rules_of(catalog: Catalog, actor: Assignment) -> list[TenantManager]:
    """The ``tenancy.managers`` rules naming the actor."""
    if catalog.tenancy is None:
        return []
    return [r for r in catalog.tenancy.managers if selector_matches(catalog, r.actor, actor)]


def reach(catalog: Catalog, actor: Assignment) -> Reach:
    """What the actor may read; refuses an actor no rule names."""
    rules = rules_of(catalog, actor)
    if not rules:
        raise RuleViolation(NOT_A_MANAGER, f"{_who(actor)} may not manage "
                            f"{_label(catalog)}s (no tenancy.managers rule names it)")
    return Reach(every=any(not r.own_tenants_only for r in rules), own=actor.tenants,
                 rules=tuple(r.name for r in rules))


def check_operation(catalog: Catalog, actor: Assignment, operation: str,
                    tenant: str) -> TenantManager:
    """The rule that lets ``actor`` do ``operation`` on ``tenant``, or a RuleViolation
    naming the rules that do not."""
    label = _label(catalog)
    rules = rules_of(catalog, actor)
    if not rules:
        raise RuleViolation(NOT_A_MANAGER, f"{_who(actor)} may not manage {label}s (no "
                            f"tenancy.managers rule names it)")
    allowing = [r for r in rules if operation in r.may]
    if not allowing:
        names = ", ".join(repr(r.name) for r in rules)
        raise RuleViolation(NOT_A_MANAGER, f"{_who(actor)} may not {operation} a {label}: "
                            f"tenancy.managers rule {names} does not allow it")
    for rule in allowing:
        if not rule.own_tenants_only or tenant in actor.tenants:
            return rule
    names = ", ".join(repr(r.name) for r in allowing)
    raise RuleViolation(OUTSIDE, f"{_who(actor)} may {operation} only its own {label}s "
                        f"(tenancy.managers rule {names}); {tenant!r} is not one of them")
