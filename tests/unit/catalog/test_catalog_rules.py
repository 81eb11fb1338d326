"""Every rule refuses with an error naming the rule (the seed examples as fixtures)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.catalog.model import Assignment, Catalog
from bridge.catalog.rules import (
    RuleViolation,
    check_assignment,
    check_delegation,
    check_mfa,
    effective_permissions,
    mfa_required,
)

Seed = Callable[[str], Catalog]


def refused(catalog: Catalog, a: Assignment) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_assignment(catalog, a)
    assert str(caught.value) == f"{caught.value.rule}: {caught.value.message}"
    return str(caught.value)


def client_000(**kw: object) -> Assignment:
    args: dict[str, object] = {"perimeter": {"project": ["p1"]}} | kw
    return Assignment.of("external", "client", **args)  # type: ignore[arg-type]


# -- unknown names ------------------------------------------------------------------------

def test_unknown_user_type(seed: Seed) -> None:
    assert refused(seed("000"), Assignment.of("partner", "client")) == (
        "unknown.user-type: unknown user type 'partner' (known: 'external', 'internal')")


def test_unknown_status(seed: Seed) -> None:
    assert refused(seed("000"), Assignment.of("external", "auditor")) == (
        "unknown.status: unknown status 'auditor' (known: 'administrator', 'client', "
        "'manager')")


def test_unknown_profile(seed: Seed) -> None:
    assert refused(seed("004"), Assignment.of("external", "client-user", "read-only")) == (
        "unknown.profile: unknown profile 'read-only' (known: 'administrator', "
        "'document-delivery', 'document-processing', 'document-processing-archive', "
        "'full-access', 'full-feedback')")


def test_unknown_toggle(seed: Seed) -> None:
    assert refused(seed("002"), Assignment.of("internal", "staff", "user",
                                              toggles=["see-everything"])) == (
        "unknown.toggle: unknown toggle 'see-everything' (known: 'all-loyalty-cards', "
        "'client-bulk-edit', 'hide-client-contact', 'no-documents', 'no-payments', "
        "'packages', 'shared-view')")


def test_unknown_dimension(seed: Seed) -> None:
    assert refused(seed("000"), client_000(perimeter={"region": ["north"]})) == (
        "unknown.dimension: unknown perimeter dimension 'region' (known: 'position', "
        "'project', 'team')")


def test_malformed_perimeter_entry(seed: Seed) -> None:
    assert refused(seed("000"), client_000(perimeter={"position": ["gate-3"]})) == (
        "unknown.perimeter-entry: entry 'gate-3' of dimension 'position' must be written "
        "<project>/<position>")
    assert refused(seed("000"), client_000(perimeter={"team": ["night shift"]})) == (
        "unknown.perimeter-entry: entry 'night shift': 'night shift' does not match the "
        "pattern of dimension 'team'")


def test_perimeter_entry_outside_a_closed_list(seed: Seed) -> None:
    catalog = seed("000")
    dims = [d.model_copy(update={"values": ("p1", "p2")}) if d.name == "project" else d
            for d in catalog.dimensions]
    closed = catalog.model_copy(update={"dimensions": tuple(dims)})
    assert refused(closed, client_000(perimeter={"position": ["p9/gate-1"]})) == (
        "unknown.perimeter-entry: 'p9' is not a known entry of dimension 'project'")


def test_unknown_tenant(seed: Seed) -> None:
    assert refused(seed("004"), Assignment.of("external", "client-user", "full-access",
                                              tenants=["dossier-zeta"])) == (
        "unknown.tenant: unknown dossier 'dossier-zeta'")
    assert refused(seed("000"), client_000(tenants=["acme"])) == (
        "unknown.tenant: unknown tenant 'acme' (the catalog has no tenancy)")


def test_unknown_tenant_names_only_the_unknown_one(seed: Seed) -> None:
    """A realm may hold 10,000 tenants: the refusal never lists the known ones."""
    message = refused(seed("004"), Assignment.of("external", "client-user", "full-access",
                                                 tenants=["dossier-acme", "dossier-zeta"]))
    assert "dossier-zeta" in message
    assert "dossier-acme" not in message and "dossier-bakery" not in message


def test_suspended_tenant_enables_nothing(seed: Seed) -> None:
    """Its ``@tenant`` permissions vanish; the tenant stays known and one of the user's."""
    catalog = seed("004")
    assert catalog.tenancy is not None
    suspended = tuple(t.model_copy(update={"suspended": t.name == "dossier-acme"})
                      for t in catalog.tenancy.tenants)
    live = catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"tenants": suspended})})
    assert catalog.caps("dossier-acme")
    assert live.caps("dossier-acme") == frozenset()
    assert live.caps("dossier-bakery") == catalog.caps("dossier-bakery")
    user = Assignment.of("external", "client-user", "full-access",
                         tenants=["dossier-acme", "dossier-bakery"])
    check_assignment(live, user)
    effective = effective_permissions(live, user)
    assert effective["dossier-acme"] == frozenset()
    assert effective["dossier-bakery"]


# -- status and profile rules -------------------------------------------------------------

def test_status_of_another_user_type(seed: Seed) -> None:
    assert refused(seed("000"), Assignment.of("internal", "client")) == (
        "status.user-type: status 'client' is for external users, not internal")


def test_exclusive_profile_cannot_be_combined_seed_003(seed: Seed) -> None:
    assert refused(seed("003"), Assignment.of(
        "external", "external-technician", ["external-technician", "educator"])) == (
        "exclusive.profile: profile 'external-technician' is exclusive: it cannot be "
        "combined with 'educator'")
    # Also for an employee ticking the technician role among others.
    assert refused(seed("003"), Assignment.of(
        "internal", "employee", ["administration", "external-technician"])) == (
        "exclusive.profile: profile 'external-technician' is exclusive: it cannot be "
        "combined with 'administration'")


def test_exclusive_status_cannot_be_combined_seed_003(seed: Seed) -> None:
    assert refused(seed("003"), Assignment.of("external", "external-technician",
                                              ["educator"])) == (
        "exclusive.status: status 'external-technician' is exclusive: it cannot be "
        "combined with 'educator'")


def test_exclusive_profile_refuses_toggles(seed: Seed) -> None:
    catalog = seed("002")
    profiles = tuple(p.model_copy(update={"exclusive": True}) if p.name == "user" else p
                     for p in catalog.profiles)
    exclusive_user = catalog.model_copy(update={"profiles": profiles})
    assert refused(exclusive_user, Assignment.of("internal", "staff", "user",
                                                 toggles=["packages"])) == (
        "exclusive.profile: profile 'user' is exclusive: it cannot be combined with "
        "'packages'")


def test_one_profile_per_user_seed_004(seed: Seed) -> None:
    assert refused(seed("004"), Assignment.of(
        "external", "client-user", ["full-access", "document-delivery"],
        tenants=["dossier-acme"])) == (
        "profile.count: a user holds at most 1 profile(s); got 'document-delivery', "
        "'full-access'")


def test_profile_set_per_tenant_is_refused_seed_004(seed: Seed) -> None:
    a = Assignment.of("external", "client-user", "full-access",
                      tenants=["dossier-acme", "dossier-bakery"],
                      tenant_profiles={"dossier-bakery": "document-delivery"})
    assert refused(seed("004"), a) == (
        "profile.per-tenant: profile 'document-delivery' cannot be set for "
        "'dossier-bakery' only: a profile is per user, for all its tenants (set the user's "
        "profile, or create another account for another profile)")
    # Naming the user's own profile for a dossier is no per-tenant profile.
    same = Assignment.of("external", "client-user", "full-access", tenants=["dossier-acme"],
                         tenant_profiles={"dossier-acme": "full-access"})
    check_assignment(seed("004"), same)


def test_forbidden_permission_for_clients_seed_000(seed: Seed) -> None:
    assert refused(seed("000"), client_000(toggles=["manage-alerts"])) == (
        "status.forbidden-permission: status 'client' may never hold 'alerts.write' "
        "(granted by toggle 'manage-alerts')")


def test_client_never_auditor_seed_001(seed: Seed) -> None:
    assert refused(seed("001"), Assignment.of("external", "contact", "client-advanced",
                                              toggles=["auditor"])) == (
        "status.forbidden-permission: status 'contact' may never hold 'projects.audit' "
        "(granted by toggle 'auditor')")
    assert refused(seed("001"), Assignment.of("external", "contact", "administrator")) == (
        "status.forbidden-permission: status 'contact' may never hold "
        "'clients.grant-access' (granted by profile 'administrator')")


def test_profile_not_allowed_for_status(seed: Seed) -> None:
    assert refused(seed("001"), Assignment.of("external", "contact", "employee")) == (
        "status.profile: status 'contact' may not hold profile 'employee' (allowed: "
        "'client-advanced', 'client-basic')")
    assert refused(seed("003"), Assignment.of("internal", "employee",
                                              "external-technician")) == (
        "status.profile: status 'employee' may not hold profile 'external-technician' "
        "(allowed: 'accounting', 'administration', 'educator', 'self-service')")


def test_toggle_layered_on_its_profiles_only_seed_002(seed: Seed) -> None:
    assert refused(seed("002"), Assignment.of("internal", "staff", "marketing",
                                              toggles=["packages"])) == (
        "toggle.not-applicable: toggle 'packages' is layered on profile 'contributor', "
        "'user' only")
    assert refused(seed("001"), Assignment.of("external", "contact", "client-basic",
                                              toggles=["may-grant-client-access"])) == (
        "status.forbidden-permission: status 'contact' may never hold "
        "'clients.grant-access' (granted by toggle 'may-grant-client-access')")


def test_toggle_restricted_to_statuses(seed: Seed) -> None:
    catalog = seed("001")
    contact = catalog.status_by_name["contact"].model_copy(update={"forbids": ()})
    lax = catalog.model_copy(update={"statuses": (catalog.statuses[0], contact)})
    assert refused(lax, Assignment.of("external", "contact", "client-basic",
                                      toggles=["may-grant-client-access"])) == (
        "toggle.not-applicable: toggle 'may-grant-client-access' is not available to "
        "status 'contact' (only 'employee')")


def test_perimeter_dimension_not_for_status(seed: Seed) -> None:
    catalog = seed("000")
    client = catalog.status_by_name["client"].model_copy(update={"dimensions": ("project",)})
    narrow = catalog.model_copy(update={"statuses": (*catalog.statuses[:2], client)})
    assert refused(narrow, client_000(perimeter={"team": ["t1"]})) == (
        "perimeter.dimension: status 'client' has no perimeter of dimension 'team' (only "
        "'project')")


def test_mfa_required_seed_003(seed: Seed) -> None:
    technician = Assignment.of("external", "external-technician", "external-technician")
    assert mfa_required(seed("003"), technician)
    with pytest.raises(RuleViolation) as caught:
        check_mfa(seed("003"), technician, second_factor=False)
    assert str(caught.value) == (
        "mfa.required: status 'external-technician' and profile 'external-technician' "
        "require(s) a second factor (OTP); the user has none configured")
    check_mfa(seed("003"), technician, second_factor=True)
    educator = Assignment.of("internal", "employee", "educator")
    assert not mfa_required(seed("003"), educator)
    check_mfa(seed("003"), educator, second_factor=False)


def test_valid_assignments_of_every_seed_pass(seed: Seed) -> None:
    check_assignment(seed("000"), client_000(perimeter={"project": ["p1", "p2"],
                                                        "position": ["p1/gate-3"],
                                                        "team": ["t1"]}))
    check_assignment(seed("001"), Assignment.of("internal", "employee", "employee",
                                                toggles=["may-grant-client-access",
                                                         "auditor"]))
    check_assignment(seed("002"), Assignment.of("internal", "staff", "contributor",
                                                toggles=["shared-view", "no-payments"]))
    check_assignment(seed("003"), Assignment.of("internal", "employee",
                                                ["educator", "self-service"]))
    check_assignment(seed("004"), Assignment.of("external", "client-user", "full-feedback",
                                                tenants=["dossier-acme"]))


# -- delegation ---------------------------------------------------------------------------

def denied(catalog: Catalog, actor: Assignment, target: Assignment,
           current: Assignment | None = None) -> str:
    with pytest.raises(RuleViolation) as caught:
        check_delegation(catalog, actor, target, current)
    return str(caught.value)


ADMIN_ACME = Assignment.of("external", "client-user", "administrator",
                           tenants=["dossier-acme"])


def test_tenant_administrator_creates_users_of_own_dossier_only_seed_004(seed: Seed) -> None:
    catalog = seed("004")
    own = Assignment.of("external", "client-user", "document-delivery",
                        tenants=["dossier-acme"])
    assert check_delegation(catalog, ADMIN_ACME, own).name == "dossier-administrators"
    other = Assignment.of("external", "client-user", "document-delivery",
                          tenants=["dossier-acme", "dossier-bakery"])
    assert denied(catalog, ADMIN_ACME, other) == (
        "delegation.tenant: status 'client-user' with profile 'administrator' may act only "
        "within its own dossiers; the user is in 'dossier-bakery'")


def test_change_checks_the_user_as_it_is_seed_004(seed: Seed) -> None:
    catalog = seed("004")
    stolen = Assignment.of("external", "client-user", "full-access",
                           tenants=["dossier-bakery"])
    moved = Assignment.of("external", "client-user", "full-access", tenants=["dossier-acme"])
    assert denied(catalog, ADMIN_ACME, moved, current=stolen) == (
        "delegation.tenant: status 'client-user' with profile 'administrator' may act only "
        "within its own dossiers; the user as it is now is in 'dossier-bakery'")


def test_non_administrators_may_not_delegate_seed_004(seed: Seed) -> None:
    full = Assignment.of("external", "client-user", "full-access", tenants=["dossier-acme"])
    target = Assignment.of("external", "client-user", "document-delivery",
                           tenants=["dossier-acme"])
    assert denied(seed("004"), full, target) == (
        "delegation.not-allowed: status 'client-user' with profile 'full-access' may not "
        "invite or change users (no delegation rule names it)")


def test_firm_staff_without_profile_grant_up_to_max_rank_seed_004(seed: Seed) -> None:
    staff = Assignment.of("internal", "firm-staff")
    target = Assignment.of("external", "client-user", "administrator",
                           tenants=["dossier-carpentry"])
    assert check_delegation(seed("004"), staff, target).name == "firm-collaborators"


def test_may_grant_client_access_seed_001(seed: Seed) -> None:
    catalog = seed("001")
    client = Assignment.of("external", "contact", "client-advanced",
                           perimeter={"company": ["acme"]})
    plain = Assignment.of("internal", "employee", "employee")
    assert denied(catalog, plain, client) == (
        "delegation.not-allowed: status 'employee' with profile 'employee' may not invite "
        "or change users (no delegation rule names it)")
    granter = Assignment.of("internal", "employee", "employee",
                            toggles=["may-grant-client-access"])
    assert check_delegation(catalog, granter, client).name == "client-access-granters"
    colleague = Assignment.of("internal", "employee", "employee")
    assert denied(catalog, granter, colleague) == (
        "delegation.not-allowed: status 'employee' with profile 'employee' may not assign "
        "status 'employee', profile 'employee' to the user (rules 'client-access-granters')")
    admin = Assignment.of("internal", "employee", "administrator")
    assert check_delegation(catalog, admin, colleague).name == "administrators"


def test_never_a_profile_above_own_seed_002(seed: Seed) -> None:
    catalog = seed("002")
    admin = Assignment.of("internal", "staff", "administrator")
    assert check_delegation(catalog, admin, Assignment.of("internal", "staff", "manager"))
    assert denied(catalog, admin, Assignment.of("internal", "staff",
                                                "primary-administrator")) == (
        "delegation.rank: profile 'primary-administrator' ranks above what the actor may "
        "grant (60 > 50): nobody grants a profile above its own")
    manager = Assignment.of("internal", "staff", "manager")
    assert denied(catalog, manager, Assignment.of("internal", "staff", "user")) == (
        "delegation.not-allowed: status 'staff' with profile 'manager' may not invite or "
        "change users (no delegation rule names it)")


def test_never_a_perimeter_outside_own_seed_000(seed: Seed) -> None:
    catalog = seed("000")
    manager = Assignment.of("internal", "manager", perimeter={"project": ["p1"],
                                                              "team": ["t1"]})
    inside = client_000(perimeter={"project": ["p1"], "position": ["p1/gate-3"],
                                   "team": ["t1"]})
    assert check_delegation(catalog, manager, inside).name == "managers-invite-clients"
    outside = client_000(perimeter={"position": ["p2/gate-1"]})
    assert denied(catalog, manager, outside) == (
        "delegation.perimeter: position 'p2/gate-1' is outside the actor's own perimeter")
    manager_of_gate = Assignment.of("internal", "manager", perimeter={"position":
                                                                      ["p1/gate-3"]})
    assert denied(catalog, manager_of_gate, client_000(perimeter={"project": ["p1"]})) == (
        "delegation.perimeter: project 'p1' is outside the actor's own perimeter")
    admin = Assignment.of("internal", "administrator")
    assert check_delegation(catalog, admin, outside).name == "administrators"
    assert denied(catalog, manager, Assignment.of("internal", "administrator")) == (
        "delegation.not-allowed: status 'manager' may not assign status 'administrator' to "
        "the user (rules 'managers-invite-clients')")


def test_restricted_actor_may_not_create_unrestricted_users(seed: Seed) -> None:
    catalog = seed("000")
    rule = catalog.delegation[1].model_copy(
        update={"may_assign": catalog.delegation[1].may_assign.model_copy(
            update={"statuses": ("client", "administrator")})})
    lax = catalog.model_copy(update={"delegation": (catalog.delegation[0], rule)})
    manager = Assignment.of("internal", "manager", perimeter={"project": ["p1"]})
    assert denied(lax, manager, Assignment.of("internal", "administrator")) == (
        "delegation.perimeter: status 'administrator' sees everything; an actor with a "
        "perimeter may not give it to the user")


def test_delegated_toggles_are_limited(seed: Seed) -> None:
    manager = Assignment.of("internal", "manager", perimeter={"project": ["p1"]})
    target = client_000(toggles=["manage-alerts"])
    assert denied(seed("000"), manager, target) == (
        "delegation.not-allowed: status 'manager' may not assign status 'client', toggles "
        "'manage-alerts' to the user (rules 'managers-invite-clients')")


def test_000_a_restricted_status_needs_a_perimeter(seed: Seed) -> None:
    catalog = seed("000")
    assert refused(catalog, Assignment.of("external", "client")).startswith(
        "perimeter.required: ")
    assert refused(catalog, Assignment.of("internal", "manager")).startswith(
        "perimeter.required: ")
    check_assignment(catalog, client_000())
    check_assignment(catalog, Assignment.of("internal", "administrator"))  # unrestricted
    # A status without dimensions has no perimeter to give (seed 004: dossiers, not entries).
    check_assignment(seed("004"), Assignment.of("external", "client-user", "full-access",
                                                tenants=["dossier-acme"]))


def test_000_client_forbids_every_write(seed: Seed) -> None:
    client = seed("000").status_by_name["client"]
    writes = {p.name for p in seed("000").permissions if p.name.endswith(".write")}
    assert writes <= set(client.forbids)
