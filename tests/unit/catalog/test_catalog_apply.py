"""The one function that writes a user's catalog state: what it writes, and when the user's
sessions end (MFA rises or rights shrink), one call only then."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bridge.catalog.apply import KEEP, apply_user_state, plan_user_state
from bridge.catalog.mapping import CONFIGURE_TOTP, PERMISSIONS, user_state
from bridge.catalog.model import Assignment, Catalog

pytestmark = pytest.mark.unit

Seed = Callable[[str], Catalog]


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        self.calls.append(("write", dict(attributes)))

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        self.calls.append(("groups", wanted))

    def logout(self, user_id: str) -> None:
        self.calls.append(("logout", user_id))

    def join_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        self.calls.append(("join", tenants))

    def leave_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        self.calls.append(("leave", tenants))


def _stored(catalog: Catalog, a: Assignment, **extra: list[str]) -> dict[str, list[str]]:
    return {**user_state(catalog, a).attribute_lists(), **extra}


def _names(recorder: Recorder) -> list[str]:
    return [name for name, _ in recorder.calls]


def test_003_employee_made_technician_ends_the_sessions_and_adds_otp(seed: Seed) -> None:
    catalog = seed("003")
    stored = _stored(catalog, Assignment.of("internal", "employee", "educator"),
                     locale=["fr"])
    technician = Assignment.of("external", "external-technician", "external-technician")
    plan = plan_user_state(catalog, stored, ["VERIFY_EMAIL"], user_state(catalog, technician))
    assert plan.end_sessions and plan.catalog_changed
    assert plan.required_actions == ("VERIFY_EMAIL", CONFIGURE_TOTP)  # added, none dropped
    assert plan.attributes["locale"] == ("fr",)  # not the catalog's: kept
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan)
    assert _names(recorder) == ["write", "groups", "logout"]  # the logout comes last


def test_widening_keeps_the_sessions(seed: Seed) -> None:
    catalog = seed("003")
    stored = _stored(catalog, Assignment.of("internal", "employee", "educator"))
    wider = Assignment.of("internal", "employee", ["educator", "self-service"])
    plan = plan_user_state(catalog, stored, [], user_state(catalog, wider))
    assert plan.catalog_changed and not plan.end_sessions
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan)
    assert _names(recorder) == ["write", "groups"]


@pytest.mark.parametrize(("before", "after"), [
    # a toggle removes a permission (seed 002)
    (Assignment.of("internal", "staff", "user"),
     Assignment.of("internal", "staff", "user", toggles=["no-payments"])),
])
def test_002_a_removed_permission_ends_the_sessions(seed: Seed, before: Assignment,
                                                    after: Assignment) -> None:
    catalog = seed("002")
    plan = plan_user_state(catalog, _stored(catalog, before), [], user_state(catalog, after))
    assert plan.end_sessions


def test_004_a_removed_dossier_or_000_perimeter_entry_ends_the_sessions(seed: Seed) -> None:
    accounting = seed("004")
    two = Assignment.of("external", "client-user", "document-delivery",
                        tenants=["dossier-acme", "dossier-bakery"])
    one = Assignment.of("external", "client-user", "document-delivery",
                        tenants=["dossier-acme"])
    assert plan_user_state(accounting, _stored(accounting, two), [],
                           user_state(accounting, one)).end_sessions
    assert not plan_user_state(accounting, _stored(accounting, one), [],
                               user_state(accounting, two)).end_sessions
    field = seed("000")
    wide = Assignment.of("external", "client", perimeter={"project": ["p1", "p2"]})
    narrow = Assignment.of("external", "client", perimeter={"project": ["p1"]})
    assert plan_user_state(field, _stored(field, wide), [],
                           user_state(field, narrow)).end_sessions
    assert not plan_user_state(field, _stored(field, narrow), [],
                               user_state(field, wide)).end_sessions


def test_keep_leaves_the_catalog_state_and_the_groups_alone(seed: Seed) -> None:
    catalog = seed("003")
    stored = _stored(catalog, Assignment.of("internal", "employee",
                                            ["educator", "self-service"]))
    plan = plan_user_state(catalog, stored, [], KEEP,
                           attributes={"scim.userName": ["x"], "profiles": ["hand-made"]})
    assert plan.attributes["profiles"] == ("educator", "self-service")
    assert plan.attributes["scim.userName"] == ("x",)
    assert plan.groups is None and not plan.catalog_changed and not plan.end_sessions
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan)
    assert _names(recorder) == ["write"]


def test_removed_access_keeps_the_facts_drops_permissions_and_groups(seed: Seed) -> None:
    catalog = seed("002")
    stored = _stored(catalog, Assignment.of("internal", "staff", "user"))
    plan = plan_user_state(catalog, stored, [], None, remove_access=True)
    assert PERMISSIONS not in plan.attributes
    assert plan.attributes["profiles"] == ("user",)
    assert plan.groups == frozenset() and plan.end_sessions
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan, write=True, groups=frozenset({"/x"}))
    assert _names(recorder) == ["write", "groups", "logout"]
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan, write=False, groups=frozenset())
    assert _names(recorder) == ["logout"]


def _many(catalog: Catalog, count: int) -> Catalog:
    from bridge.catalog.model import Tenant
    assert catalog.tenancy is not None
    tenants = tuple(Tenant(name=f"dossier-{i:04d}", enables=("payments.use",) if i % 2 else ())
                    for i in range(count))
    return catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"tenants": tenants})})


def test_004_dossiers_moving_behind_the_access_ref_keep_the_sessions(seed: Seed) -> None:
    """Growing past the access budget moves tenants and permissions to the overflow
    attributes: nothing is removed, so the sessions stay; losing a dossier behind the
    reference still ends them."""
    catalog = _many(seed("004"), 300)
    names = [t.name for t in catalog.tenancy.tenants]  # type: ignore[union-attr]
    few = Assignment.of("external", "client-user", "full-access", tenants=names[:3])
    many = Assignment.of("external", "client-user", "full-access", tenants=names)
    fewer = Assignment.of("external", "client-user", "full-access", tenants=names[1:])
    grow = plan_user_state(catalog, _stored(catalog, few), [], user_state(catalog, many))
    assert "access_ref" in grow.attributes and PERMISSIONS not in grow.attributes
    assert grow.catalog_changed and not grow.end_sessions
    assert plan_user_state(catalog, _stored(catalog, many), [],
                           user_state(catalog, fewer)).end_sessions


def test_004_removed_access_behind_the_access_ref_drops_its_permissions(seed: Seed) -> None:
    catalog = _many(seed("004"), 300)
    names = [t.name for t in catalog.tenancy.tenants]  # type: ignore[union-attr]
    many = Assignment.of("external", "client-user", "full-access", tenants=names)
    plan = plan_user_state(catalog, _stored(catalog, many), [], None, remove_access=True)
    assert "access_overflow.permissions" not in plan.attributes
    assert PERMISSIONS not in plan.attributes
    assert plan.attributes["access_overflow.tenants"] == tuple(sorted(names))
    assert plan.attributes["access_ref"] != _stored(catalog, many)["access_ref"]
    assert plan.end_sessions


def test_004_memberships_follow_the_tenants_behind_the_access_ref(seed: Seed) -> None:
    """The tenants a plan joins and leaves are the user's, inline or overflowing: growing
    past the budget leaves no organization."""
    catalog = _many(seed("004"), 300)
    names = [t.name for t in catalog.tenancy.tenants]  # type: ignore[union-attr]
    few = Assignment.of("external", "client-user", "full-access", tenants=names[:3])
    many = Assignment.of("external", "client-user", "full-access", tenants=names)
    grow = plan_user_state(catalog, _stored(catalog, few), [], user_state(catalog, many))
    assert grow.tenants == frozenset(names) and grow.stored_tenants == frozenset(names[:3])
    shrink = plan_user_state(catalog, _stored(catalog, many), [], user_state(catalog, few))
    assert shrink.stored_tenants == frozenset(names)
    assert shrink.tenants == frozenset(names[:3])


def test_004_tenants_gained_are_joined_before_the_write_and_lost_left_after(
        seed: Seed) -> None:
    """Join first (a cap change lists members after writing the tenant, so a write that
    read old caps is recomputed); leave last (never a tenant's permissions without its
    membership)."""
    catalog = seed("004")
    stored = _stored(catalog, Assignment.of("external", "client-user", "full-access",
                                            tenants=["dossier-acme"]))
    moved = Assignment.of("external", "client-user", "full-access",
                          tenants=["dossier-bakery"])
    plan = plan_user_state(catalog, stored, [], user_state(catalog, moved))
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan)
    assert recorder.calls[0] == ("join", frozenset({"dossier-bakery"}))
    assert _names(recorder) == ["join", "write", "groups", "leave", "logout"]
    assert recorder.calls[3] == ("leave", frozenset({"dossier-acme"}))


def test_memberships_told_apart_from_the_attribute_are_repaired(seed: Seed) -> None:
    """Reconcile passes the memberships it read: a missing one is joined, a stray one
    left, with no attribute write when the attributes are right."""
    catalog = seed("004")
    a = Assignment.of("external", "client-user", "full-access", tenants=["dossier-acme"])
    stored = _stored(catalog, a)
    plan = plan_user_state(catalog, stored, [], user_state(catalog, a))
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan, write=False, groups=plan.groups,
                     memberships=frozenset({"dossier-carpentry"}))
    assert recorder.calls == [("join", frozenset({"dossier-acme"})),
                              ("leave", frozenset({"dossier-carpentry"}))]


def test_without_tenancy_no_membership_call(seed: Seed) -> None:
    catalog = seed("000")
    stored = _stored(catalog, Assignment.of("external", "client",
                                            perimeter={"project": ["p1"]}))
    plan = plan_user_state(catalog, stored, [], user_state(catalog, Assignment.of(
        "external", "client", perimeter={"project": ["p2"]})))
    recorder = Recorder()
    apply_user_state(recorder, "u1", plan)
    assert "join" not in _names(recorder) and "leave" not in _names(recorder)
