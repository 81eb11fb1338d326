"""The export of the realm kinds (composites, default roles and groups, required actions,
form flows and client overrides, policies, events, texts, keys, LDAP): applied as exported,
the plan is empty, and no secret is written."""

from __future__ import annotations

from pathlib import Path

import yaml

from bridge.keycloak import realm as kc_realm
from bridge.realm import desired, engine
from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import bridge, config_with, converged
from tests.integration.test_realm_config_flows import BINDINGS, FLOWS, KIOSK
from tests.integration.test_realm_config_ldap import _closed_port, _federation
from tests.integration.test_realm_config_policies import POLICIES


def test_export_of_every_kind_plans_empty_and_holds_no_secret(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    fresh_realm.env["LDAP_BIND_CREDENTIAL"] = "reader-secret-42"
    config = config_with(tmp_path, {
        "extra.yaml": {
            "roles": [{"name": "auditor"}, {"name": "supervisor", "composites": {
                "realm": ["auditor"], "clients": {"portal": ["technician"]}}}],
            "defaultRoles": {"realm": ["offline_access", "auditor"]},
            "defaultGroups": ["/bridge/scim"],
            "requiredActions": [{"alias": "CONFIGURE_TOTP", "defaultAction": True,
                                 "priority": 5}],
            "flows": FLOWS, "clients": [KIOSK],
            "keys": [{"name": "rsa-signing-2026", "providerId": "rsa-generated",
                      "config": {"priority": 200}}],
            "userFederation": [_federation(f"ldap://127.0.0.1:{_closed_port()}")],
            **POLICIES},
        # In place of realm-config's own texts (one file gives them).
        "localization.yaml": {"localization": {"fr": {"loginAccountTitle": "Connexion"}}}},
        edit_realm=BINDINGS)
    converged(fresh_realm, config)
    out = tmp_path / "exported"
    result = bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name)
    assert result.returncode == 0, result.stderr
    for path in out.rglob("*.yaml"):
        assert "reader-secret-42" not in path.read_text()
    realm = yaml.safe_load((out / "realm.yaml").read_text())
    supervisor = next(r for r in realm["roles"] if r["name"] == "supervisor")
    assert supervisor["composites"] == {"realm": ["auditor"],
                                        "clients": {"portal": ["technician"]}}
    assert "auditor" in realm["defaultRoles"]["realm"]
    assert "eventsEnabled" not in realm["settings"]
    assert realm["settings"]["registrationFlow"] == "registration-invite"
    kiosk = yaml.safe_load((out / "clients" / "kiosk.yaml").read_text())["clients"][0]
    assert kiosk["authenticationFlowBindingOverrides"] == KIOSK[
        "authenticationFlowBindingOverrides"]
    flows = {f["alias"]: f for f in yaml.safe_load((out / "flows.yaml").read_text())["flows"]}
    assert flows["registration-invite"]["executions"][0]["authenticator"] == \
        "registration-page-form"
    ldap = yaml.safe_load((out / "user-federation.yaml").read_text())["userFederation"][0]
    # The variable the configuration names the secret with (test_realm_config_ldap).
    assert ldap["config"]["bindCredential"] == "${LDAP_BIND_CREDENTIAL}"
    assert {m["name"] for m in ldap["mappers"]} == {"email", "department"}
    policies = yaml.safe_load((out / "policies.yaml").read_text())
    assert policies["otpPolicy"]["digits"] == 8
    fresh_realm.env["HR_SYSTEM_CLIENT_SECRET"] = fresh_realm.env["HR_SCIM_CLIENT_SECRET"]
    fresh_realm.env["CORPORATE_LDAP_BINDCREDENTIAL"] = "reader-secret-42"
    plan = fresh_realm.plan(out)
    assert plan.empty, [(c.kind, c.key, c.fields) for c in plan.changes]

    # Applied into a realm that does not exist yet: everything is planned as a create, and
    # what Keycloak makes with a realm (its keys, default roles) is updated, not duplicated.
    other = f"{fresh_realm.name}-copy"
    load = desired.load(out, fresh_realm.env)
    try:
        engine.apply(fresh_realm.admin, engine.plan(fresh_realm.admin, load, other))
        again = engine.plan(fresh_realm.admin, load, other)
        assert again.empty, [(c.kind, c.key, c.fields) for c in again.changes]
        names = [c["name"] for c in fresh_realm.admin.get(
            f"/{other}/components", type="org.keycloak.keys.KeyProvider")]
        assert sorted(names) == sorted(set(names))
    finally:
        kc_realm.delete(fresh_realm.admin, other)
