"""The export round-trips: every covered kind and the user profile, only what the
configuration owns (hand-made objects are not adopted), secrets under the configuration's
own variable names; applied into a new realm the plan is empty, and so is the original
configuration's plan against that realm. An export never overwrites a non-empty folder
without --force."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from bridge.keycloak import realm as kc_realm
from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import bridge, config_with, converged
from tests.integration.test_realm_config_flows import BINDINGS, FLOWS, KIOSK
from tests.integration.test_realm_config_idp import IDPS
from tests.integration.test_realm_config_ldap import _closed_port, _federation
from tests.integration.test_realm_config_policies import POLICIES
from tests.integration.test_realm_config_scopes import SCOPES


def _every_kind(tmp_path: Path) -> Path:
    return config_with(tmp_path, {
        "extra.yaml": {
            "roles": [{"name": "auditor"}, {"name": "supervisor", "composites": {
                "realm": ["auditor"], "clients": {"portal": ["technician"]}}}],
            "defaultRoles": {"realm": ["offline_access", "auditor"]},
            "defaultGroups": ["/bridge/scim"],
            "requiredActions": [{"alias": "CONFIGURE_TOTP", "defaultAction": True,
                                 "priority": 5}],
            "flows": [*FLOWS, *IDPS["flows"]], "clients": [KIOSK],
            "identityProviders": IDPS["identityProviders"],
            "clientScopes": SCOPES["clientScopes"],
            "keys": [{"name": "rsa-signing-2026", "providerId": "rsa-generated",
                      "config": {"priority": 200}}],
            "userFederation": [_federation(f"ldap://127.0.0.1:{_closed_port()}")],
            **POLICIES},
        # In place of realm-config's own texts file: one realm text per kind is enough.
        "localization.yaml": {"localization": {"fr": {"loginAccountTitle": "Connexion"}}}},
        edit_realm=BINDINGS)


def _by_hand(realm: RealmUnderTest) -> None:
    base = f"/{realm.name}"
    realm.admin.post(f"{base}/roles", {"name": "hand-role"})
    realm.admin.post(f"{base}/groups", {"name": "hand-group"})
    realm.admin.post(f"{base}/clients", {"clientId": "hand-client", "publicClient": True})
    portal = realm.admin.get(f"{base}/clients", clientId="portal")[0]["id"]
    realm.admin.post(f"{base}/clients/{portal}/roles", {"name": "hand-portal-role"})
    realm.admin.post(f"{base}/identity-provider/instances", {
        "alias": "hand-idp", "providerId": "oidc", "config": {
            "authorizationUrl": "https://hand.test/auth", "tokenUrl": "https://hand.test/t",
            "clientId": "x", "clientSecret": "hand-secret"}})


def test_export_applied_into_a_new_realm_plans_empty_both_ways(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    fresh_realm.env.update(LDAP_BIND_CREDENTIAL="reader-secret-42",
                           ENTRA_CLIENT_SECRET="entra-secret-42")
    config = _every_kind(tmp_path)
    converged(fresh_realm, config)
    _by_hand(fresh_realm)
    out = tmp_path / "exported"
    result = bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name)
    assert result.returncode == 0, result.stdout + result.stderr
    text = "\n".join(p.read_text() for p in sorted(out.rglob("*.yaml")))
    for secret in ("reader-secret-42", "entra-secret-42", "hand-secret",
                   fresh_realm.env["BRIDGE_CLIENT_SECRET"],
                   fresh_realm.env["HR_SCIM_CLIENT_SECRET"]):
        assert secret not in text
    for hand_made in ("hand-role", "hand-group", "hand-client", "hand-portal-role",
                      "hand-idp"):
        assert hand_made not in text
    # Secrets keep the configuration's variable names.
    hr_system = yaml.safe_load((out / "clients" / "hr-system.yaml").read_text())["clients"][0]
    assert hr_system["secret"] == "${HR_SCIM_CLIENT_SECRET}"
    idps = {p["alias"]: p for p in yaml.safe_load(
        (out / "identity-providers.yaml").read_text())["identityProviders"]}
    assert idps["entra"]["config"]["clientSecret"] == "${ENTRA_CLIENT_SECRET}"
    ldap = yaml.safe_load((out / "user-federation.yaml").read_text())["userFederation"][0]
    assert ldap["config"]["bindCredential"] == "${LDAP_BIND_CREDENTIAL}"
    # The user profile is exported, Keycloak's message keys kept literal.
    profile = yaml.safe_load((out / "user-profile.yaml").read_text())["userProfile"]
    attributes = {a["name"]: a for a in profile["attributes"]}
    assert attributes["username"]["displayName"] == "$${username}"
    assert profile["unmanagedAttributePolicy"] == "ADMIN_EDIT"

    copy_realm = RealmUnderTest(f"{fresh_realm.name}-rt", out, copy.deepcopy(fresh_realm.env),
                                fresh_realm.keycloak, fresh_realm.admin)
    try:
        copy_realm.apply(out)
        leftover = copy_realm.plan(out)
        assert leftover.empty, [(c.kind, c.key, c.fields) for c in leftover.changes]
        original = copy_realm.plan(config)
        assert original.empty, [(c.kind, c.key, c.fields) for c in original.changes]
        assert copy_realm.admin.get(f"/{copy_realm.name}/users/profile")[
            "unmanagedAttributePolicy"] == "ADMIN_EDIT"
    finally:
        kc_realm.delete(fresh_realm.admin, copy_realm.name)


def test_export_into_a_non_empty_folder_needs_force(fresh_realm: RealmUnderTest,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "exported"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "is not empty" in result.stderr and "--force" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    result = bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name,
                    "--force")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "realm.yaml").exists() and (out / "notes.txt").read_text() == "mine"


def test_include_unmanaged_adopts_hand_made_objects(fresh_realm: RealmUnderTest,
                                                    tmp_path: Path) -> None:
    fresh_realm.admin.post(f"/{fresh_realm.name}/roles", {"name": "hand-role"})
    out = tmp_path / "exported"
    result = bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name,
                    "--include-unmanaged")
    assert result.returncode == 0, result.stdout + result.stderr
    roles = yaml.safe_load((out / "realm.yaml").read_text())["roles"]
    assert "hand-role" in {r["name"] for r in roles}
