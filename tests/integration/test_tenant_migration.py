"""Migrating a realm whose tenants were YAML groups (the version before issue 14) to
tenants as Keycloak Organizations: ``bridge realm apply`` then ``bridge catalog
reconcile`` keep every token claim, and the users join their tenants' organizations."""

from __future__ import annotations

from typing import Any

from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import ROOT, user_state
from bridge.catalog.model import Assignment
from bridge.invitations import Actor, KeycloakDirectory
from bridge.keycloak import groups as kc_groups
from bridge.keycloak import realm as kc_realm
from bridge.realm import engine
from bridge.realm.kinds import RealmContext
from bridge.reconcile import reconcile
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.login import Browserless

EXAMPLE = REALM_CONFIG / "examples" / "004-accounting-portal"
PASSWORD = "A-long-enough-pass-1"
CLAIMS = ("user_type", "status", "profile", "permissions", "roles", "tenants")
USERS = {
    "anna.acme": Assignment.of("external", "client-user", "full-access",
                               tenants=["dossier-acme"]),
    "bob.two": Assignment.of("external", "client-user", "full-feedback",
                             tenants=["dossier-acme", "dossier-carpentry"]),
    "carl.bakery": Assignment.of("external", "client-user", "document-delivery",
                                 tenants=["dossier-bakery"]),
}


def _previous_version(realm: RealmUnderTest) -> None:
    """The state the previous version's ``realm apply`` and write paths left: no
    organizations; a group per YAML tenant under /bridge/catalog/tenant, owned by the
    configuration, with its caps; each user a member of its tenants' groups."""
    admin, name = realm.admin, realm.name
    catalog = load_catalog(EXAMPLE)
    assert catalog.tenancy is not None
    for org in admin.get(f"/{name}/organizations"):
        admin.delete(f"/{name}/organizations/{org['id']}")
    kc_realm.update(admin, name, {"organizationsEnabled": False})
    root = kc_groups.get_by_path(admin, name, ROOT)
    kinds = kc_groups.create_child(admin, name, root["id"], {"name": "tenant"})
    owned = engine.read_owned(kc_realm.get(admin, name))
    owned["group"] = set(owned.get("group", set())) | {f"{ROOT}/tenant"}
    owned.pop("tenant", None)
    for tenant in catalog.tenancy.tenants:
        kc_groups.create_child(admin, name, kinds, {"name": tenant.name, "attributes": {
            "bridge.catalog.kind": ["tenant"], "label": [tenant.label],
            "caps": sorted(catalog.caps(tenant.name))}})
        owned["group"].add(f"{ROOT}/tenant/{tenant.name}")
    engine.write_owned(RealmContext(admin, name), owned)
    for username, assignment in USERS.items():
        state = user_state(catalog, assignment)
        groups = sorted(state.groups | {f"{ROOT}/tenant/{t}" for t in assignment.tenants})
        admin.post(f"/{name}/users", {
            "username": username, "email": f"{username}@example.com", "enabled": True,
            "emailVerified": True, "firstName": "Test", "lastName": username,
            "attributes": state.attribute_lists(), "groups": groups,
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})


def _claims(realm: RealmUnderTest, username: str) -> dict[str, Any]:
    claims = Browserless().sign_in(realm.issuer, username, PASSWORD).access_claims
    return {k: v for k, v in claims.items() if k in CLAIMS}


def test_yaml_tenants_migrate_to_organizations_keeping_every_claim(
        fresh_realm: RealmUnderTest) -> None:
    fresh_realm.apply([REALM_CONFIG, EXAMPLE])
    _previous_version(fresh_realm)
    before = {u: _claims(fresh_realm, u) for u in USERS}
    assert before["bob.two"]["permissions"]  # a realm in use, with real claims
    assert "financial.view@dossier-carpentry" in before["bob.two"]["permissions"]

    # 1. realm apply: organizations on, the seeds created, the old tenant groups removed.
    plan = fresh_realm.apply([REALM_CONFIG, EXAMPLE])
    changes = {(c.kind, c.action, c.key) for c in plan.changes}
    assert {("tenant", "create", t) for t in ("dossier-acme", "dossier-bakery",
                                              "dossier-carpentry")} <= changes
    assert ("group", "delete", f"{ROOT}/tenant/dossier-acme") in changes
    assert ("group", "delete", f"{ROOT}/tenant") in changes
    assert fresh_realm.plan([REALM_CONFIG, EXAMPLE]).empty
    assert {u: _claims(fresh_realm, u) for u in USERS} == before  # nothing lost meanwhile

    # 2. catalog reconcile: each user joins its tenants' organizations.
    directory = KeycloakDirectory(fresh_realm.admin, fresh_realm.name)
    catalog = load_catalog(EXAMPLE)
    report = reconcile(directory, catalog, Actor.operator("migration-test"))
    assert sorted(r.username for r in report.results if r.changed) == sorted(USERS)
    for username, assignment in USERS.items():
        (user,) = fresh_realm.admin.get(f"/{fresh_realm.name}/users", username=username,
                                        exact="true")
        orgs = fresh_realm.admin.get(
            f"/{fresh_realm.name}/organizations/members/{user['id']}/organizations")
        assert sorted(o["alias"] for o in orgs) == sorted(assignment.tenants), username
        paths = [g["path"] for g in fresh_realm.admin.get(
            f"/{fresh_realm.name}/users/{user['id']}/groups")]
        assert not [p for p in paths if p.startswith(f"{ROOT}/tenant")]
    assert {u: _claims(fresh_realm, u) for u in USERS} == before
    # A second pass has nothing left to do.
    assert not [r for r in reconcile(directory, catalog,
                                     Actor.operator("migration-test")).results if r.changed]
