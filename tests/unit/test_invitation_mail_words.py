"""What the invitation mail names (bridge/invitations/mailwords.py): the dossier by its
catalog label, else the perimeter by dimension; the inviter by name."""

from __future__ import annotations

from bridge.catalog.load import load
from bridge.catalog.model import Assignment, PerimeterEntry
from bridge.invitations.mailwords import invitation_scope
from bridge.invitations.values import SCOPE_MAX, Actor
from tests.conftest import REALM_CONFIG

EXAMPLES = REALM_CONFIG / "examples"


def test_tenants_are_named_by_their_label_and_the_tenancy_word() -> None:
    catalog = load(EXAMPLES / "004-accounting-portal")
    tenant = next(t for t in catalog.tenancy.tenants if t.name == "dossier-acme")
    scope = invitation_scope(catalog, Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-acme"]))
    assert scope == f"dossier {tenant.label or tenant.name}"


def test_perimeter_is_named_by_dimension_and_cut_when_long() -> None:
    catalog = load(EXAMPLES / "000-field-services")
    client = Assignment("external", "client", perimeter=frozenset(
        {PerimeterEntry("project", "p2"), PerimeterEntry("project", "p1"),
         PerimeterEntry("team", "t1")}))
    scope = invitation_scope(catalog, client)
    assert scope.endswith(": t1") and ": p1, p2; " in scope
    many = Assignment("external", "client", perimeter=frozenset(
        PerimeterEntry("project", f"project-{i:04d}") for i in range(200)))
    long_scope = invitation_scope(catalog, many)
    assert len(long_scope) == SCOPE_MAX and long_scope.endswith("…")


def test_the_inviter_is_shown_by_name() -> None:
    assert Actor("user:anna", "id", display_name="Anna Admin").shown_name == "Anna Admin"
    assert Actor.operator("ops-team").shown_name == "ops-team"
