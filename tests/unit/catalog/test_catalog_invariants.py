"""Tenant invariants and defaults (issue 14, seed 004): the catalog declares them, the
loader validates them, and the pure rules say which write loses a holder, when a tenant
refuses it, and which new user gets the default profile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bridge.catalog.load import parse
from bridge.catalog.model import Assignment, Catalog, Invariant
from bridge.catalog.rules import (
    Holding,
    InvariantViolation,
    check_invariant,
    default_profile,
    holdings,
    lost_holdings,
    with_default_profile,
)
from bridge.realm.desired import ConfigError

Seed = Callable[[str], Catalog]


def admin(*tenants: str) -> Assignment:
    return Assignment.of("external", "client-user", "administrator", tenants=tenants)


def viewer(*tenants: str) -> Assignment:
    return Assignment.of("external", "client-user", "full-feedback", tenants=tenants)


def one_administrator(catalog: Catalog) -> Invariant:
    assert catalog.tenancy is not None
    return catalog.tenancy.invariants[0]


# -- the catalog -------------------------------------------------------------------------

def test_seed_004_declares_one_administrator_and_its_default(seed: Seed) -> None:
    tenancy = seed("004").tenancy
    assert tenancy is not None
    assert [(i.name, i.profile, i.at_least) for i in tenancy.invariants] == [
        ("one-administrator", "administrator", 1)]
    assert tenancy.defaults.first_user_profile == "administrator"


def _tenancy_catalog(**tenancy: Any) -> dict[str, Any]:
    return {"catalog": {
        "name": "t", "permissions": [{"name": "a.read"}],
        "statuses": [{"name": "client", "user_type": "external", "profiles": ["boss"]},
                     {"name": "staff", "user_type": "internal"}],
        "profiles": [{"name": "boss", "rank": 2, "grants": ["a.read"]},
                     {"name": "orphan", "rank": 1}],
        "tenancy": {"tenants": [{"name": "t1"}], **tenancy}}}


def _problems(document: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse(document, "cat.yaml", {})
    return caught.value.problems


def test_invariants_and_defaults_load() -> None:
    catalog = parse(_tenancy_catalog(
        invariants=[{"name": "one-boss", "profile": "boss"},
                    {"name": "two-bosses", "profile": "boss", "at_least": 2}],
        defaults={"first_user_profile": "boss"}), "cat.yaml", {})
    assert catalog.tenancy is not None
    assert [i.at_least for i in catalog.tenancy.invariants] == [1, 2]
    assert catalog.tenancy.defaults.first_user_profile == "boss"
    # Not declared: none, and no default.
    bare = parse(_tenancy_catalog(), "cat.yaml", {})
    assert bare.tenancy is not None
    assert bare.tenancy.invariants == ()
    assert bare.tenancy.defaults.first_user_profile is None


def test_an_unknown_profile_is_named_with_its_key_path() -> None:
    assert _problems(_tenancy_catalog(
        invariants=[{"name": "one-boss", "profile": "chief"}],
        defaults={"first_user_profile": "chef"})) == [
        "cat.yaml: catalog.tenancy.invariants[0].profile: unknown profile 'chief'",
        "cat.yaml: catalog.tenancy.defaults.first_user_profile: unknown profile 'chef'"]


def test_a_profile_no_status_may_hold_is_refused() -> None:
    """An invariant on it could never be satisfied, a default never given."""
    assert _problems(_tenancy_catalog(
        invariants=[{"name": "one-orphan", "profile": "orphan"}],
        defaults={"first_user_profile": "orphan"})) == [
        "cat.yaml: catalog.tenancy.invariants[0].profile: no status may hold profile "
        "'orphan' (list it in a status)",
        "cat.yaml: catalog.tenancy.defaults.first_user_profile: no status may hold profile "
        "'orphan' (list it in a status)"]


def test_malformed_invariants_are_refused() -> None:
    assert _problems(_tenancy_catalog(invariants=[
        {"name": "one-boss", "profile": "boss", "at_least": 0},
        {"name": "x", "profile": "boss", "atleast": 1}])) == [
        "cat.yaml: catalog.tenancy.invariants[0].at_least: Input should be greater than or "
        "equal to 1",
        "cat.yaml: catalog.tenancy.invariants[1].atleast: unknown key"]
    assert _problems(_tenancy_catalog(invariants=[
        {"name": "one-boss", "profile": "boss"}, {"name": "one-boss", "profile": "boss"}],
        defaults={"first_profile": "boss"})) == [
        "cat.yaml: catalog.tenancy.defaults.first_profile: unknown key"]
    assert _problems(_tenancy_catalog(invariants=[
        {"name": "one-boss", "profile": "boss"}, {"name": "one-boss", "profile": "boss"}])) \
        == ["cat.yaml: catalog.tenancy.invariants[1].name: invariant 'one-boss' is "
            "declared twice"]


# -- which writes lose a holder ------------------------------------------------------------

def test_an_active_administrator_holds_in_each_of_its_dossiers(seed: Seed) -> None:
    catalog = seed("004")
    invariant = one_administrator(catalog)
    assert holdings(catalog, admin("dossier-acme", "dossier-bakery"), True) == {
        Holding(invariant, "dossier-acme"), Holding(invariant, "dossier-bakery")}
    assert holdings(catalog, admin("dossier-acme"), False) == frozenset()  # disabled
    assert holdings(catalog, viewer("dossier-acme"), True) == frozenset()
    assert holdings(catalog, None, True) == frozenset()


@pytest.mark.parametrize(("what", "after", "after_active", "lost"), [
    ("deactivated", admin("dossier-acme", "dossier-bakery"), False,
     ["dossier-acme", "dossier-bakery"]),
    ("deleted", None, False, ["dossier-acme", "dossier-bakery"]),
    ("profile changed", viewer("dossier-acme", "dossier-bakery"), True,
     ["dossier-acme", "dossier-bakery"]),
    ("removed from one dossier", admin("dossier-acme"), True, ["dossier-bakery"]),
    ("moved to another dossier", admin("dossier-acme", "dossier-carpentry"), True,
     ["dossier-bakery"]),
    ("renamed only", admin("dossier-acme", "dossier-bakery"), True, []),
    ("given a dossier", admin("dossier-acme", "dossier-bakery", "dossier-carpentry"), True,
     []),
])
def test_lost_holdings(seed: Seed, what: str, after: Assignment | None, after_active: bool,
                       lost: list[str]) -> None:
    catalog = seed("004")
    found = lost_holdings(catalog, admin("dossier-acme", "dossier-bakery"), True, after,
                          after_active)
    assert [h.tenant for h in found] == lost, what
    assert all(h.invariant.name == "one-administrator" for h in found)


def test_writes_of_users_who_hold_nothing_lose_nothing(seed: Seed) -> None:
    catalog = seed("004")
    assert lost_holdings(catalog, viewer("dossier-acme"), True, None, False) == ()
    assert lost_holdings(catalog, admin("dossier-acme"), False, None, False) == ()
    assert lost_holdings(catalog, None, True, admin("dossier-acme"), True) == ()
    # A catalog without invariants never counts.
    assert lost_holdings(seed("002"), None, True, None, False) == ()


# -- when a tenant refuses -------------------------------------------------------------------

def test_the_last_administrator_may_not_go(seed: Seed) -> None:
    catalog = seed("004")
    holding = Holding(one_administrator(catalog), "dossier-acme")
    with pytest.raises(InvariantViolation) as caught:
        check_invariant(catalog, holding, 1)
    assert caught.value.rule == "tenant.invariant"
    assert caught.value.invariant.name == "one-administrator"
    assert caught.value.tenant == "dossier-acme"
    assert str(caught.value) == (
        "tenant.invariant: invariant 'one-administrator': dossier 'dossier-acme' must keep "
        "at least 1 active holder of profile Administrator ('administrator'); this change "
        "would leave none (give the profile to another user of the dossier first)")


def test_with_two_administrators_one_may_go(seed: Seed) -> None:
    catalog = seed("004")
    check_invariant(catalog, Holding(one_administrator(catalog), "dossier-acme"), 2)


def test_a_tenant_refuses_only_what_breaks_its_invariant() -> None:
    """Refused when satisfied before and not after: at_least 2 refuses at 2 holders only;
    at 1 (already broken) the write does not break it."""
    catalog = parse(_tenancy_catalog(invariants=[
        {"name": "two-bosses", "profile": "boss", "at_least": 2}]), "cat.yaml", {})
    holding = Holding(one_administrator(catalog), "t1")
    check_invariant(catalog, holding, 3)
    check_invariant(catalog, holding, 1)
    with pytest.raises(InvariantViolation, match="at least 2 active holders of profile "
                       "'boss'; this change would leave 1"):
        check_invariant(catalog, holding, 2)


# -- defaults --------------------------------------------------------------------------------

def test_a_first_user_without_profile_gets_the_default(seed: Seed) -> None:
    catalog = seed("004")
    bare = Assignment.of("external", "client-user", tenants=["dossier-acme"])
    assert default_profile(catalog, bare) == "administrator"
    assert with_default_profile(catalog, bare, {"dossier-acme"}).profiles == (
        "administrator",)
    # The dossier has members: no default.
    assert with_default_profile(catalog, bare, set()) == bare
    assert with_default_profile(catalog, bare, {"dossier-bakery"}) == bare


def test_no_default_where_it_does_not_apply(seed: Seed) -> None:
    catalog = seed("004")
    # A profile given; no tenant; a status that may not hold the default; no default.
    given = Assignment.of("external", "client-user", "document-delivery",
                          tenants=["dossier-acme"])
    assert default_profile(catalog, given) is None
    assert default_profile(catalog, Assignment.of("external", "client-user")) is None
    staff = Assignment.of("internal", "firm-staff", tenants=["dossier-acme"])
    assert default_profile(catalog, staff) is None
    assert default_profile(seed("002"), Assignment.of("internal", "employee")) is None
