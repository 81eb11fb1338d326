"""The rules of the seeds, checked on every write (SCIM, API, CLI) before Keycloak is touched.

Each rule is one function citing its seed; it raises :class:`RuleViolation` whose ``rule``
is a stable name (``exclusive.profile``, ``status.forbidden-permission``...) that the write
paths translate at their edge (SCIM 400/409 with a scimType, CLI exit 1). Other modules ask
these functions rather than test ``status == "client"`` themselves.

:func:`check_assignment` runs the assignment rules in a fixed order, most fundamental first
(unknown names, then exclusivity, then what a status forbids...), so that the error names the
rule a person would name. :func:`check_delegation` decides whether an actor (a user of the
product: a dossier Administrator, an employee who may grant client access) may invite or
change a target; operator writes (HR provisioning, the CLI) are not delegated.
:func:`lost_holdings` and :func:`check_invariant` keep each tenant's invariants (seed 004:
at least one Administrator per dossier), :func:`default_profile` gives a tenant's first
user its default profile; the write paths count the holders and take the tenant's lock
(:mod:`bridge.tenants.invariants`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace

from bridge.catalog.load import entry_problem
from bridge.catalog.model import (
    ANY,
    Assignment,
    Catalog,
    Delegation,
    Invariant,
    ScimClientRule,
    Selector,
)


class RuleViolation(Exception):
    """A write the catalog refuses; ``rule`` names the rule, ``message`` says why."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{rule}: {message}")
        self.rule = rule
        self.message = message


def _names(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in sorted(values))


# -- assignment rules ---------------------------------------------------------------------

def check_known(catalog: Catalog, a: Assignment) -> None:
    """Every name is declared by the catalog: a user type, status, profile, toggle,
    dimension, perimeter entry or tenant the product does not know is refused (all seeds:
    000's statuses and perimeter, 002's toggles, 004's profiles and dossiers)."""
    if a.user_type not in catalog.user_types:
        raise RuleViolation("unknown.user-type",
                            f"unknown user type {a.user_type!r} (known: "
                            f"{_names(catalog.user_types)})")
    if a.status not in catalog.status_by_name:
        raise RuleViolation("unknown.status", f"unknown status {a.status!r} (known: "
                            f"{_names(catalog.status_by_name)})")
    known_profiles = (_names(catalog.profile_by_name)
                      or "none: the catalog has no profiles")
    for profile in (*a.profiles, *(p for _tenant, p in a.tenant_profiles)):
        if profile not in catalog.profile_by_name:
            raise RuleViolation("unknown.profile", f"unknown profile {profile!r} (known: "
                                f"{known_profiles})")
    for toggle in sorted(a.toggles):
        if toggle not in catalog.toggle_by_name:
            raise RuleViolation("unknown.toggle", f"unknown toggle {toggle!r} (known: "
                                f"{_names(catalog.toggle_by_name) or 'none'})")
    for entry in sorted(a.perimeter):
        if entry.dimension not in catalog.dimension_by_name:
            raise RuleViolation("unknown.dimension",
                                f"unknown perimeter dimension {entry.dimension!r} (known: "
                                f"{_names(catalog.dimension_by_name) or 'none'})")
        problem = entry_problem(catalog, entry.dimension, entry.value)
        if problem:
            raise RuleViolation("unknown.perimeter-entry", problem)
    tenants = sorted({*a.tenants, *(t for t, _ in a.tenant_profiles)})
    for tenant in tenants:
        if tenant not in catalog.tenant_by_name:
            # Only the unknown one is named: a realm may hold 10,000 tenants.
            if catalog.tenancy is None:
                raise RuleViolation("unknown.tenant", f"unknown tenant {tenant!r} (the "
                                    f"catalog has no tenancy)")
            raise RuleViolation("unknown.tenant",
                                f"unknown {catalog.tenancy.label} {tenant!r}")


def check_user_type(catalog: Catalog, a: Assignment) -> None:
    """A status belongs to one user type (seed 000: type External, status Client)."""
    status = catalog.status_by_name[a.status]
    if status.user_type != a.user_type:
        raise RuleViolation("status.user-type",
                            f"status {a.status!r} is for {status.user_type} users, not "
                            f"{a.user_type}")


def check_exclusive(catalog: Catalog, a: Assignment) -> None:
    """An exclusive status or profile is held alone (seed 003: "lorsque ce rôle est octroyé,
    aucun autre rôle ne peut être coché"): an exclusive profile with no other profile and no
    toggle; an exclusive status with at most its one profile and no toggle."""
    for name in a.profiles:
        if catalog.profile_by_name[name].exclusive and (len(set(a.profiles)) > 1 or a.toggles):
            others = sorted({*a.profiles, *a.toggles} - {name})
            raise RuleViolation("exclusive.profile",
                                f"profile {name!r} is exclusive: it cannot be combined with "
                                f"{_names(others)}")
    status = catalog.status_by_name[a.status]
    if status.exclusive and (len(set(a.profiles)) > 1 or a.toggles
                             or set(a.profiles) - set(status.profiles)):
        others = sorted({*a.profiles, *a.toggles} - set(status.profiles))
        raise RuleViolation("exclusive.status",
                            f"status {a.status!r} is exclusive: it cannot be combined with "
                            f"{_names(others or a.profiles)}")


def check_profile_count(catalog: Catalog, a: Assignment) -> None:
    """At most ``profiles_per_user`` profiles (seed 004: one profile per user)."""
    if len(set(a.profiles)) > catalog.profiles_per_user:
        raise RuleViolation("profile.count",
                            f"a user holds at most {catalog.profiles_per_user} profile(s); "
                            f"got {_names(set(a.profiles))}")


def check_profile_per_user(catalog: Catalog, a: Assignment) -> None:
    """A profile is per user, for all its tenants (seed 004: "si un profil est modifié pour
    un dossier, il est automatiquement modifié pour cet utilisateur pour tous les
    dossiers"): a profile asked for one tenant only is refused, unless it is the user's own
    profile anyway. A different profile needs a different account."""
    for tenant, profile in a.tenant_profiles:
        if (profile,) != tuple(dict.fromkeys(a.profiles)):
            raise RuleViolation("profile.per-tenant",
                                f"profile {profile!r} cannot be set for {tenant!r} only: a "
                                f"profile is per user, for all its tenants (set the user's "
                                f"profile, or create another account for another profile)")


def base_permissions(catalog: Catalog, a: Assignment) -> frozenset[str]:
    """Status grants ∪ profile grants ∪ toggle additions, minus toggle removals (seed 002's
    toggles adjust a role per employee), before any tenant cap."""
    granted = set(catalog.status_by_name[a.status].grants)
    for profile in a.profiles:
        granted |= set(catalog.profile_by_name[profile].grants)
    toggles = [catalog.toggle_by_name[t] for t in sorted(a.toggles)]
    for toggle in toggles:
        granted |= set(toggle.adds)
    for toggle in toggles:
        granted -= set(toggle.removes)
    return frozenset(granted)


def _granted_by(catalog: Catalog, a: Assignment, permission: str) -> str:
    if permission in catalog.status_by_name[a.status].grants:
        return f"status {a.status!r}"
    for profile in a.profiles:
        if permission in catalog.profile_by_name[profile].grants:
            return f"profile {profile!r}"
    for toggle in sorted(a.toggles):
        if permission in catalog.toggle_by_name[toggle].adds:
            return f"toggle {toggle!r}"
    return "?"


def check_forbidden_permissions(catalog: Catalog, a: Assignment) -> None:
    """A status never holds the permissions it forbids, whatever grants them (seed 000: a
    client "ne pourra ni créer ni modifier des bornes, des positions, des alertes ou des
    utilisateurs", nor change project or badge settings)."""
    status = catalog.status_by_name[a.status]
    held = base_permissions(catalog, a) & set(status.forbids)
    if held:
        permission = sorted(held)[0]
        raise RuleViolation("status.forbidden-permission",
                            f"status {a.status!r} may never hold {permission!r} (granted by "
                            f"{_granted_by(catalog, a, permission)})")


def check_status_profiles(catalog: Catalog, a: Assignment) -> None:
    """A status holds only the profiles it lists (seed 004: client users hold one of the six
    profiles; seed 001: a contact holds basic or advanced access, never employee rights)."""
    status = catalog.status_by_name[a.status]
    for profile in a.profiles:
        if profile not in status.profiles:
            allowed = _names(status.profiles) or "none"
            raise RuleViolation("status.profile",
                                f"status {a.status!r} may not hold profile {profile!r} "
                                f"(allowed: {allowed})")


def check_toggles(catalog: Catalog, a: Assignment) -> None:
    """A toggle is layered only on the profiles and statuses it names (seed 002: "vous
    pouvez personnaliser les rôles de Contributeurs et d'Utilisateurs")."""
    for name in sorted(a.toggles):
        toggle = catalog.toggle_by_name[name]
        if toggle.statuses is not None and a.status not in toggle.statuses:
            raise RuleViolation("toggle.not-applicable",
                                f"toggle {name!r} is not available to status {a.status!r} "
                                f"(only {_names(toggle.statuses)})")
        if toggle.profiles is not None and not set(a.profiles) & set(toggle.profiles):
            raise RuleViolation("toggle.not-applicable",
                                f"toggle {name!r} is layered on profile "
                                f"{_names(toggle.profiles)} only")


def check_perimeter(catalog: Catalog, a: Assignment) -> None:
    """A status is given entries only of its dimensions (seed 000: a client's perimeter is
    projects, positions and teams)."""
    status = catalog.status_by_name[a.status]
    if status.dimensions is None:
        return
    for entry in sorted(a.perimeter):
        if entry.dimension not in status.dimensions:
            raise RuleViolation("perimeter.dimension",
                                f"status {a.status!r} has no perimeter of dimension "
                                f"{entry.dimension!r} (only {_names(status.dimensions)})")


def check_perimeter_required(catalog: Catalog, a: Assignment) -> None:
    """A status with a perimeter (it lists ``dimensions`` and is not unrestricted) holds at
    least one entry (seed 000: a client sees "the exact projects, positions and teams" it
    is given). Its token then always carries a ``perimeter`` (or ``perimeter_ref``) claim:
    no claim at all is what an unrestricted administrator's token looks like, and must
    never be what a client's looks like."""
    status = catalog.status_by_name[a.status]
    if status.unrestricted_perimeter or not status.dimensions or a.perimeter:
        return
    raise RuleViolation("perimeter.required",
                        f"status {a.status!r} sees only its perimeter: give at least one "
                        f"entry ({_names(status.dimensions)})")


def mfa_required(catalog: Catalog, a: Assignment) -> bool:
    """The status or a profile requires a second factor (seed 003: the external technician
    "pourra ... paramétrer la connexion multi-facteurs")."""
    return catalog.status_by_name[a.status].mfa or any(
        catalog.profile_by_name[p].mfa for p in a.profiles)


def check_mfa(catalog: Catalog, a: Assignment, second_factor: bool) -> None:
    """A user whose status or profile requires MFA has a second factor configured (seed
    003). Keycloak enforces it at login (``mfa-required`` realm role → OTP step, with OTP
    set-up as a required action); this check is for paths that must not treat the user as
    ready (activation reports, an attempt to remove the user's OTP credential)."""
    if mfa_required(catalog, a) and not second_factor:
        why = ([f"status {a.status!r}"] if catalog.status_by_name[a.status].mfa else []) + [
            f"profile {p!r}" for p in a.profiles if catalog.profile_by_name[p].mfa]
        raise RuleViolation("mfa.required",
                            f"{' and '.join(why)} require(s) a second factor (OTP); the user "
                            f"has none configured")


ASSIGNMENT_RULES = (check_known, check_user_type, check_exclusive, check_profile_count,
                    check_profile_per_user, check_forbidden_permissions,
                    check_status_profiles, check_toggles, check_perimeter,
                    check_perimeter_required)


def check_assignment(catalog: Catalog, a: Assignment) -> None:
    """Every assignment rule, in order; the first refusal is raised."""
    for rule in ASSIGNMENT_RULES:
        rule(catalog, a)


def effective_permissions(catalog: Catalog, a: Assignment) -> dict[str | None, frozenset[str]]:
    """What the user may do, per tenant: (status ∪ profile ∪ toggles) ∩ caps(tenant) (seed
    004: "la configuration définit la largeur maximale de l'accès"). A catalog without
    tenancy answers ``{None: permissions}``; with tenancy, one key per tenant of the user
    (none: no tenant, no permission)."""
    base = base_permissions(catalog, a)
    if catalog.tenancy is None:
        return {None: base}
    return {tenant: base & catalog.caps(tenant) for tenant in sorted(a.tenants)}


@dataclass(frozen=True)
class Grant:
    """One effective permission and the catalog rule that grants it."""

    permission: str
    granted_by: str
    """``status 'x'``, ``profile 'y'`` or ``toggle 'z'``: the first that grants it."""


@dataclass(frozen=True)
class TenantAccess:
    """What the user may do in one tenant (``tenant`` None: a catalog without tenancy)."""

    tenant: str | None
    grants: tuple[Grant, ...]
    withheld: tuple[str, ...]
    """Permissions the user's facts grant that this tenant does not enable (its caps)."""


def explain_permissions(catalog: Catalog, a: Assignment) -> tuple[TenantAccess, ...]:
    """:func:`effective_permissions`, each permission with the rule that grants it, and per
    tenant what its caps withhold: what ``bridge user show`` prints (one computation)."""
    base = base_permissions(catalog, a)
    return tuple(
        TenantAccess(tenant,
                     tuple(Grant(p, _granted_by(catalog, a, p)) for p in sorted(permissions)),
                     tuple(sorted(base - permissions)))
        for tenant, permissions in effective_permissions(catalog, a).items())


def holds(catalog: Catalog, a: Assignment, permission: str, tenant: str | None = None) -> bool:
    """The user holds ``permission`` (in ``tenant``; in any, when ``None``)."""
    effective = effective_permissions(catalog, a)
    if tenant is not None or catalog.tenancy is None:
        return permission in effective.get(tenant, frozenset())
    return any(permission in p for p in effective.values())


# -- delegation ---------------------------------------------------------------------------

def _actor_matches(catalog: Catalog, rule: Delegation, actor: Assignment) -> bool:
    return selector_matches(catalog, rule.actor, actor)


def selector_matches(catalog: Catalog, selector: Selector, actor: Assignment) -> bool:
    """``actor`` is one of the users ``selector`` names (every kind given matches)."""
    if selector.statuses is not None and actor.status not in selector.statuses:
        return False
    if selector.profiles is not None and not set(actor.profiles) & set(selector.profiles):
        return False
    return selector.permissions is None or any(
        holds(catalog, actor, p) for p in selector.permissions)


def _assignable(rule: Delegation | ScimClientRule, target: Assignment) -> bool:
    may = rule.may_assign
    return ((ANY in may.statuses or target.status in may.statuses)
            and (may.profiles is None or set(target.profiles) <= set(may.profiles))
            and (may.toggles is None or target.toggles <= set(may.toggles)))


def rank(catalog: Catalog, a: Assignment) -> int:
    """The highest rank among the user's profiles (0 without a profile)."""
    return max((catalog.profile_by_name[p].rank for p in a.profiles), default=0)


def check_delegation(catalog: Catalog, actor: Assignment, target: Assignment,
                     current: Assignment | None = None) -> Delegation:
    """May ``actor`` give ``target`` (a new user, or ``current`` changed into ``target``)?

    - some delegation rule names the actor and lets it assign the target's status, profile
      and toggles (seed 001: only administrators and employees holding "may grant client
      access" give clients access; seed 004: Administrators create users of their dossier);
    - with ``own_tenants_only``, every tenant of the target is one of the actor's (seed 004);
    - never a profile ranked above the actor's own (seed 002's ordered roles: an
      Administrator cannot make a Primary administrator), or above the rule's ``max_rank``
      when it sets one (the firm's staff of seed 004 hold no profile);
    - never a perimeter entry outside the actor's own, unless the actor's status is
      unrestricted (seed 000: the client sees only its perimeter, so whoever invites it can
      hand out only what it sees).

    A change is checked against the user as it is and as it will be: an actor may not take
    over a user it could not have invited. Returns the delegation rule that allows it.
    """
    chosen = _check_target(catalog, actor, target, "the user")
    if current is not None:
        _check_target(catalog, actor, current, "the user as it is now")
    return chosen


def _check_target(catalog: Catalog, actor: Assignment, target: Assignment,
                  what: str) -> Delegation:
    rules = [r for r in catalog.delegation if _actor_matches(catalog, r, actor)]
    who = f"status {actor.status!r}" + (f" with profile {_names(actor.profiles)}"
                                        if actor.profiles else "")
    if not rules:
        raise RuleViolation("delegation.not-allowed",
                            f"{who} may not invite or change users (no delegation rule "
                            f"names it)")
    fitting = [r for r in rules if _assignable(r, target)]
    if not fitting:
        shape = f"status {target.status!r}" + (
            f", profile {_names(target.profiles)}" if target.profiles else "") + (
            f", toggles {_names(target.toggles)}" if target.toggles else "")
        raise RuleViolation("delegation.not-allowed",
                            f"{who} may not assign {shape} to {what} (rules "
                            f"{_names(r.name for r in rules)})")
    fitting_tenants = [r for r in fitting
                       if not r.own_tenants_only or target.tenants <= actor.tenants]
    if not fitting_tenants:
        outside = sorted(target.tenants - actor.tenants)
        label = catalog.tenancy.label if catalog.tenancy else "tenant"
        raise RuleViolation("delegation.tenant",
                            f"{who} may act only within its own {label}s; {what} is in "
                            f"{_names(outside)}")
    own_rank = rank(catalog, actor)
    ceiling = max(own_rank if r.max_rank is None else r.max_rank for r in fitting_tenants)
    for profile in sorted(set(target.profiles)):
        if catalog.profile_by_name[profile].rank > ceiling:
            raise RuleViolation("delegation.rank",
                                f"profile {profile!r} ranks above what the actor may grant "
                                f"({catalog.profile_by_name[profile].rank} > {ceiling}): "
                                f"nobody grants a profile above its own")
    _check_perimeter_within(catalog, actor, target, what)
    return max(fitting_tenants,
               key=lambda r: own_rank if r.max_rank is None else r.max_rank)


def _check_perimeter_within(catalog: Catalog, actor: Assignment, target: Assignment,
                            what: str) -> None:
    if catalog.status_by_name[actor.status].unrestricted_perimeter:
        return
    if catalog.status_by_name[target.status].unrestricted_perimeter:
        raise RuleViolation("delegation.perimeter",
                            f"status {target.status!r} sees everything; an actor with a "
                            f"perimeter may not give it to {what}")
    for entry in sorted(target.perimeter):
        if not any(own.covers(entry, catalog) for own in actor.perimeter):
            raise RuleViolation("delegation.perimeter",
                                f"{entry.dimension} {entry.value!r} is outside the actor's "
                                f"own perimeter")



# -- SCIM clients ---------------------------------------------------------------------------

def bound_client_may_hold(catalog: Catalog, status: str) -> bool:
    """Whether a tenant-bound SCIM client may ever give ``status``: never an internal or an
    unrestricted one (issue 9: a client bound to one dossier made firm staff, who then
    invited administrators into every other dossier)."""
    declared = catalog.status_by_name[status]
    return declared.user_type != "internal" and not declared.unrestricted_perimeter


def check_scim_client(catalog: Catalog, client_id: str, tenant: str | None,
                      target: Assignment | None,
                      current: Assignment | None = None) -> ScimClientRule | None:
    """May SCIM client ``client_id`` (bound to ``tenant``, or unbound when ``None``) give a
    user ``target`` (``None``: no domain facts), the user being ``current`` now?

    - a tenant-bound client never gives an internal or unrestricted status
      (``scim-client.tenant-bound``) nor a tenant but its own (``scim-client.tenant``);
    - some rule of ``catalog.scim_clients`` names the client and lets it assign the
      status, profiles, toggles, perimeter dimensions and tenants
      (``scim-client.not-allowed``, ``scim-client.perimeter``, ``scim-client.tenant``);
      a catalog that declares no rule lets unbound clients assign anything the assignment
      rules allow and tenant-bound clients nothing;
    - a change is checked against the user as it is too: a client may not take over a user
      it could not have provisioned.

    Returns the rule that allows it (``None``: allowed by the default, or nothing to check).
    """
    chosen = None
    if target is not None:
        chosen = _check_scim_target(catalog, client_id, tenant, target, "the user")
    if current is not None:
        _check_scim_target(catalog, client_id, tenant, current, "the user as it is now")
    return chosen


def _check_scim_target(catalog: Catalog, client_id: str, tenant: str | None,
                       target: Assignment, what: str) -> ScimClientRule | None:
    who = f"SCIM client {client_id!r}" + (f" (bound to {tenant!r})" if tenant else "")
    label = catalog.tenancy.label if catalog.tenancy else "tenant"
    if tenant is not None:
        if target.status in catalog.status_by_name and not bound_client_may_hold(
                catalog, target.status):
            raise RuleViolation("scim-client.tenant-bound",
                                f"{who} may not give {what} status {target.status!r}: a "
                                f"tenant-bound client never assigns an internal or "
                                f"unrestricted status")
        foreign = sorted(target.tenants - {tenant})
        if foreign:
            raise RuleViolation("scim-client.tenant",
                                f"{who} may act only within its own {label}; {what} is in "
                                f"{_names(foreign)}")
    if catalog.scim_clients is None:
        if tenant is None:
            return None
        raise RuleViolation("scim-client.not-allowed",
                            f"{who} may not assign access: the catalog declares no "
                            f"scim_clients rule, and tenant-bound clients get none by default")
    rules = [r for r in catalog.scim_clients if _client_matches(r, client_id, tenant)]
    if not rules:
        raise RuleViolation("scim-client.not-allowed",
                            f"{who} may not assign access (no scim_clients rule names it)")
    fitting = [r for r in rules if _assignable(r, target)]
    if not fitting:
        shape = f"status {target.status!r}" + (
            f", profile {_names(target.profiles)}" if target.profiles else "") + (
            f", toggles {_names(target.toggles)}" if target.toggles else "")
        raise RuleViolation("scim-client.not-allowed",
                            f"{who} may not assign {shape} to {what} (rules "
                            f"{_names(r.name for r in rules)})")
    dimensions = {e.dimension for e in target.perimeter}
    in_perimeter = [r for r in fitting if r.may_assign.dimensions is None
                    or dimensions <= set(r.may_assign.dimensions)]
    if not in_perimeter:
        outside = sorted(dimensions - set().union(
            *(set(r.may_assign.dimensions or ()) for r in fitting)))
        raise RuleViolation("scim-client.perimeter",
                            f"{who} may not assign perimeter entries of "
                            f"{_names(outside or dimensions)} (rules "
                            f"{_names(r.name for r in fitting)})")
    in_tenants = [r for r in in_perimeter if r.may_assign.tenants is None
                  or target.tenants <= set(r.may_assign.tenants)]
    if not in_tenants:
        outside = sorted(target.tenants - set().union(
            *(set(r.may_assign.tenants or ()) for r in in_perimeter)))
        raise RuleViolation("scim-client.tenant",
                            f"{who} may not assign {label} {_names(outside)} (rules "
                            f"{_names(r.name for r in in_perimeter)})")
    return in_tenants[0]


def _client_matches(rule: ScimClientRule, client_id: str, tenant: str | None) -> bool:
    selector = rule.client
    if selector.clients is not None and client_id not in selector.clients:
        return False
    return selector.bound is None or selector.bound == (tenant is not None)


# -- tenant invariants and defaults (seed 004) ---------------------------------------------

class InvariantViolation(RuleViolation):
    """A write that would break a tenant's invariant (rule ``tenant.invariant``)."""

    def __init__(self, invariant: Invariant, tenant: str, message: str) -> None:
        super().__init__(INVARIANT_RULE, message)
        self.invariant = invariant
        self.tenant = tenant


INVARIANT_RULE = "tenant.invariant"


@dataclass(frozen=True)
class Holding:
    """A user counts towards ``invariant`` in ``tenant``."""

    invariant: Invariant
    tenant: str


def holdings(catalog: Catalog, a: Assignment | None, active: bool) -> frozenset[Holding]:
    """Where the user counts towards an invariant: in each of its tenants, for each
    invariant whose profile it holds, if it is active (a disabled user holds nothing).

    The facts as stored, valid or not: the same predicate as the count the write paths
    ask Keycloak for (``tenants`` and ``profiles`` attributes holding the whole value,
    compared case-insensitively as Keycloak compares them, and enabled), so that the user a
    write changes is counted exactly when this says it holds."""
    if a is None or not active or catalog.tenancy is None:
        return frozenset()
    profiles = {p.lower() for p in a.profiles}
    tenants = sorted({t.lower() for t in a.tenants})
    return frozenset(Holding(invariant, tenant)
                     for invariant in catalog.tenancy.invariants
                     if invariant.profile in profiles
                     for tenant in tenants)


def lost_holdings(catalog: Catalog, before: Assignment | None, before_active: bool,
                  after: Assignment | None, after_active: bool) -> tuple[Holding, ...]:
    """What a write takes from the tenants: each holding of the user before that it no
    longer has after (``after`` None: the user is deleted). Sorted by tenant, then
    invariant. Empty for every write that removes no holder: those count nothing and take
    no tenant lock."""
    lost = holdings(catalog, before, before_active) - holdings(catalog, after, after_active)
    return tuple(sorted(lost, key=lambda h: (h.tenant, h.invariant.name)))


def check_invariant(catalog: Catalog, holding: Holding, holders: int) -> None:
    """Refuse a write that takes ``holding`` away when ``holders`` active users (the
    user included) hold it now: refused when the tenant satisfies the invariant now and
    would not after (seed 004: "au moins un Administrateur par dossier"). A tenant already
    below it (an invariant just declared, a holder disabled in the admin console) does not
    refuse: the write does not break what was broken, and an operator must be able to
    clean such a tenant up."""
    invariant, tenant = holding.invariant, holding.tenant
    needed = invariant.at_least
    if holders >= needed > holders - 1:
        label = catalog.tenancy.label if catalog.tenancy else "tenant"
        profile = catalog.profile_by_name.get(invariant.profile)
        shown = f"{profile.label} ({invariant.profile!r})" if profile and profile.label \
            else repr(invariant.profile)
        left = holders - 1
        raise InvariantViolation(
            invariant, tenant,
            f"invariant {invariant.name!r}: {label} {tenant!r} must keep at least {needed} "
            f"active holder{'s' if needed > 1 else ''} of profile {shown}; this change "
            f"would leave {left if left else 'none'} (give the profile to another user of "
            f"the {label} first)")


def default_profile(catalog: Catalog, a: Assignment) -> str | None:
    """The profile a new user gets if one of its tenants has no member yet (seed 004: a
    dossier's first user is its Administrator): the catalog's ``first_user_profile``, when
    the write gives no profile, the user has tenants, and its status may hold it. None:
    no default applies, and the write paths count nothing."""
    if catalog.tenancy is None or a.profiles or not a.tenants:
        return None
    default = catalog.tenancy.defaults.first_user_profile
    status = catalog.status_by_name.get(a.status)
    if default is None or status is None or default not in status.profiles:
        return None
    return default


def with_default_profile(catalog: Catalog, a: Assignment,
                         empty_tenants: Collection[str]) -> Assignment:
    """``a`` with :func:`default_profile` when one of ``empty_tenants`` (its tenants that
    have no member) is among its tenants; else ``a`` as it is."""
    default = default_profile(catalog, a)
    if default is None or not set(empty_tenants) & a.tenants:
        return a
    return replace(a, profiles=(default,))
