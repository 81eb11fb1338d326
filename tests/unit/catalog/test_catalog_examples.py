"""The seeds' own examples, on the catalogs of realm-config/examples (issue 4)."""

from __future__ import annotations

from collections.abc import Callable

from bridge.catalog.mapping import expected_claims, group_path, user_state
from bridge.catalog.model import Assignment, Catalog, Tenant
from bridge.catalog.rules import check_assignment, effective_permissions
from bridge.realm.from_catalog import realm_fragments

Seed = Callable[[str], Catalog]

FIGURES_AND_REPORTS = {"figures.view", "reports.view", "archive.view", "history.view"}


def _004(profile: str, *tenants: str) -> Assignment:
    return Assignment.of("external", "client-user", profile, tenants=tenants)


def test_004_document_delivery_has_no_figures_or_reports(seed: Seed) -> None:
    catalog = seed("004")
    user = _004("document-delivery", "dossier-acme", "dossier-carpentry")
    check_assignment(catalog, user)
    effective = effective_permissions(catalog, user)
    assert set(effective) == {"dossier-acme", "dossier-carpentry"}
    for permissions in effective.values():
        assert permissions == {"documents.import", "documents.send", "documents.view-own"}
        assert not permissions & FIGURES_AND_REPORTS
    claims = expected_claims(catalog, user_state(catalog, user))
    assert claims["permissions"] == ["documents.import", "documents.send",
                                     "documents.view-own"]
    assert claims["profile"] == "document-delivery"


def test_004_the_six_profiles(seed: Seed) -> None:
    catalog = seed("004")
    base = {p.name: effective_permissions(catalog, _004(p.name, "dossier-bakery"))
            ["dossier-bakery"] for p in catalog.profiles}
    docs = {"documents.import", "documents.process", "documents.send", "documents.view-all"}
    assert base["document-processing"] == docs
    assert base["document-processing-archive"] == docs | {"archive.view"}
    assert base["full-feedback"] == FIGURES_AND_REPORTS
    assert base["full-access"] == docs | FIGURES_AND_REPORTS
    assert base["administrator"] == base["full-access"] | {"dossier-settings.manage",
                                                           "users.manage"}


def test_004_payments_on_one_dossier_widen_full_access_there_only(seed: Seed) -> None:
    catalog = seed("004")
    full = _004("full-access", "dossier-acme", "dossier-bakery")
    before = effective_permissions(catalog, full)
    assert "payments.use" in before["dossier-acme"]          # acme enables payments
    assert "payments.use" not in before["dossier-bakery"]
    assert "financial.view" not in before["dossier-acme"]
    # Enabling payments on the bakery's dossier widens Full access users there...
    tenants = tuple(t.model_copy(update={"enables": ("payments.use",)})
                    if t.name == "dossier-bakery" else t for t in catalog.tenancy.tenants)
    widened = catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"tenants": tenants})})
    after = effective_permissions(widened, full)
    assert after["dossier-bakery"] == before["dossier-bakery"] | {"payments.use"}
    assert after["dossier-acme"] == before["dossier-acme"]
    # ...and nowhere else: not for a profile without payments, not in other dossiers.
    processing = _004("document-processing", "dossier-bakery")
    assert "payments.use" not in effective_permissions(widened, processing)["dossier-bakery"]
    other = _004("full-access", "dossier-carpentry")
    assert effective_permissions(widened, other) == effective_permissions(catalog, other)


def test_004_permissions_claim_qualifies_what_holds_in_some_dossiers_only(seed: Seed) -> None:
    catalog = seed("004")
    full = _004("full-access", "dossier-acme", "dossier-bakery", "dossier-carpentry")
    claims = expected_claims(catalog, user_state(catalog, full))
    assert claims["tenants"] == ["dossier-acme", "dossier-bakery", "dossier-carpentry"]
    permissions = claims["permissions"]
    assert "payments.use" not in permissions
    assert "payments.use@dossier-acme" in permissions
    assert "payments.use@dossier-carpentry" in permissions
    assert "financial.view@dossier-carpentry" in permissions
    assert "figures.view" in permissions
    assert not [p for p in permissions if p.endswith("@dossier-bakery")]


def test_004_a_profile_is_one_group_whatever_the_dossiers(seed: Seed) -> None:
    catalog = seed("004")
    state = user_state(catalog, _004("full-feedback", "dossier-acme", "dossier-bakery"))
    assert state.groups == {group_path("status", "client-user"),
                            group_path("profile", "full-feedback")}
    # Tenants are organizations now (memberships follow the attribute), not groups.
    assert state.attributes["tenants"] == ("dossier-acme", "dossier-bakery")


def test_004_new_tenant_is_capped_by_the_baseline(seed: Seed) -> None:
    catalog = seed("004")
    assert catalog.caps("dossier-bakery") == frozenset(catalog.tenancy.baseline)
    assert Tenant(name="x").enables == ()


def test_003_external_technician_holds_nothing_else_and_needs_otp(seed: Seed) -> None:
    catalog = seed("003")
    technician = Assignment.of("external", "external-technician", "external-technician")
    check_assignment(catalog, technician)
    state = user_state(catalog, technician)
    assert state.groups == {"/bridge/catalog/status/external-technician",
                            "/bridge/catalog/profile/external-technician"}
    assert state.required_actions == {"CONFIGURE_TOTP"}
    assert effective_permissions(catalog, technician) == {
        None: {"boards.manage", "tv.manage", "doors.manage"}}
    groups = {g.name: g for kind in realm_fragments(catalog).group.subGroups
              for g in kind.subGroups}
    # Both groups make the browser-mfa flow ask for a one-time code.
    assert groups["external-technician"].realmRoles == ["mfa-required"]
    assert groups["educator"].realmRoles == []
    claims = expected_claims(catalog, state)
    assert claims == {"user_type": "external", "status": "external-technician",
                      "profile": ["external-technician"],
                      "permissions": ["boards.manage", "doors.manage", "tv.manage"],
                      "roles": ["boards.manage", "doors.manage", "tv.manage"]}


def test_003_employees_tick_several_roles(seed: Seed) -> None:
    catalog = seed("003")
    educator = Assignment.of("internal", "employee", ["educator", "self-service"])
    check_assignment(catalog, educator)
    assert expected_claims(catalog, user_state(catalog, educator))["profile"] == [
        "educator", "self-service"]
    assert user_state(catalog, educator).required_actions == frozenset()


def test_000_client_perimeter_of_two_projects_and_one_team(seed: Seed) -> None:
    catalog = seed("000")
    client = Assignment.of("external", "client", perimeter={"project": ["p2", "p1"],
                                                            "team": ["t1"]})
    check_assignment(catalog, client)
    state = user_state(catalog, client)
    perimeter = {k: v for k, v in state.attributes.items() if k.startswith("perimeter")}
    assert perimeter == {"perimeter.project": ("p1", "p2"), "perimeter.team": ("t1",)}
    claims = expected_claims(catalog, state)
    assert claims["perimeter"] == {"project": ["p1", "p2"], "team": ["t1"]}
    assert "perimeter_ref" not in claims
    assert claims["user_type"] == "external"
    assert claims["status"] == "client"
    assert claims["permissions"] == ["data.read", "events.read", "incidents.read",
                                     "interventions.read", "reports.download",
                                     "reports.read"]


def test_000_client_reads_only(seed: Seed) -> None:
    catalog = seed("000")
    client = Assignment.of("external", "client", toggles=["no-report-download"],
                           perimeter={"project": ["p1"]})
    check_assignment(catalog, client)
    (permissions,) = effective_permissions(catalog, client).values()
    assert all(p.endswith(".read") for p in permissions)


def test_002_toggles_add_and_remove(seed: Seed) -> None:
    catalog = seed("002")
    plain = Assignment.of("internal", "staff", "user")
    tuned = Assignment.of("internal", "staff", "user",
                          toggles=["shared-view", "no-payments", "hide-client-contact",
                                   "client-bulk-edit"])
    check_assignment(catalog, tuned)
    (before,) = effective_permissions(catalog, plain).values()
    (after,) = effective_permissions(catalog, tuned).values()
    assert after - before == {"activities.view-shared", "clients.bulk-edit",
                              "clients.tags.edit"}
    assert before - after == {"payments.view", "clients.contact.view"}
    state = user_state(catalog, tuned)
    assert state.attributes["toggles"] == ("client-bulk-edit", "hide-client-contact",
                                           "no-payments", "shared-view")
    assert group_path("toggle", "shared-view") in state.groups


def test_002_roles_are_ordered(seed: Seed) -> None:
    catalog = seed("002")
    ranks = [p.rank for p in catalog.profiles]
    assert [p.name for p in catalog.profiles] == [
        "user", "contributor", "marketing", "manager", "administrator",
        "primary-administrator"]
    assert ranks == sorted(ranks)
    grants = {p.name: set(p.grants) for p in catalog.profiles}
    assert grants["primary-administrator"] - grants["administrator"] == {
        "primary-admin.credentials"}
    assert grants["administrator"] - grants["manager"] == {"staff.manage",
                                                           "subscription.manage"}
    assert "payments.view" not in grants["marketing"]


def test_001_basic_and_advanced_access(seed: Seed) -> None:
    catalog = seed("001")
    basic = Assignment.of("external", "contact", "client-basic",
                          perimeter={"company": ["acme"], "task": ["website/t-12"]})
    check_assignment(catalog, basic)
    (permissions,) = effective_permissions(catalog, basic).values()
    assert "client-panel.use" in permissions and "web.use" not in permissions
    claims = expected_claims(catalog, user_state(catalog, basic))
    assert claims["perimeter"] == {"company": ["acme"], "task": ["website/t-12"]}


def test_002_work_as_is_granted_to_contributors_and_above_only(seed: Seed) -> None:
    # The gate of "work as" (docs/access-catalog.md): the acting user's own token carries
    # work-as. Contributor, Manager and both administrators hold it; User and Marketing do
    # not, and no toggle adds it.
    catalog = seed("002")
    holders = {profile.name for profile in catalog.profiles
               if "work-as" in next(iter(effective_permissions(
                   catalog, Assignment.of("internal", "staff", profile.name)).values()))}
    assert holders == {"contributor", "manager", "administrator", "primary-administrator"}
    assert not any("work-as" in toggle.adds for toggle in catalog.toggles)
    claims = expected_claims(catalog, user_state(
        catalog, Assignment.of("internal", "staff", "contributor")))
    assert "work-as" in claims["permissions"]
