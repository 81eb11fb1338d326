"""References checked before any write: a role, client, scope, flow, identity provider or
group that the configuration names but neither declares nor finds live is refused with its
file and key path, exit 1, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import yaml

from bridge.keycloak import client_scopes as kc_scopes
from bridge.keycloak import clients as kc_clients
from bridge.keycloak import flows as kc_flows
from bridge.keycloak import realm as kc_realm
from bridge.keycloak import roles as kc_roles
from bridge.realm import references
from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import config_with, refused

NEW_CLIENT = {"clientId": "reports", "publicClient": True, "standardFlowEnabled": True,
              "redirectUris": ["http://127.0.0.1:3001/*"]}


def _clients(realm: RealmUnderTest) -> set[str]:
    return {c["clientId"] for c in kc_clients.list_all(realm.admin, realm.name)}


def test_group_naming_a_missing_role_is_refused_before_any_write(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {"extra.yaml": {
        "clients": [NEW_CLIENT],
        "groups": [{"name": "auditors", "realmRoles": ["nope"],
                    "clientRoles": {"portal": ["ghost"], "no-such-client": ["x"]}}]}})
    stderr = refused(
        fresh_realm, config,
        "extra.yaml: groups[0].realmRoles[0]: realm role 'nope' is neither declared nor in "
        f"realm {fresh_realm.name}",
        "extra.yaml: groups[0].clientRoles.portal[0]: client role 'portal/ghost'",
        "extra.yaml: groups[0].clientRoles.no-such-client[0]: client 'no-such-client'")
    assert "not found" not in stderr
    assert "reports" not in _clients(fresh_realm)
    assert "auditors" not in {g["name"] for g in fresh_realm.admin.get(
        f"/{fresh_realm.name}/groups")}


def test_every_kind_of_reference_is_checked(fresh_realm: RealmUnderTest,
                                            tmp_path: Path) -> None:
    config = config_with(tmp_path, {"extra.yaml": {
        "clients": [{**NEW_CLIENT, "defaultClientScopes": ["profile", "no-scope"],
                     "authenticationFlowBindingOverrides": {"browser": "no-flow"}}],
        "identityProviders": [{"alias": "corp", "providerId": "oidc",
                               "firstBrokerLoginFlowAlias": "no-first-login",
                               "config": {"clientId": "x",
                                          "clientSecret": "${BRIDGE_CLIENT_SECRET}",
                                          "authorizationUrl": "https://idp.test/auth",
                                          "tokenUrl": "https://idp.test/token"}}],
        "flows": [{"alias": "to-corp", "executions": [{
            "authenticator": "identity-provider-redirector", "requirement": "REQUIRED",
            "config": {"alias": "to-corp", "config": {"defaultProvider": "no-idp"}}}]}],
        "defaultGroups": ["/no/group"],
        "roles": [{"name": "lead", "composites": {"realm": ["no-role"],
                                                  "clients": {"realm-management": [
                                                      "view-users", "no-admin-role"]}}}]}})
    refused(fresh_realm, config,
            "extra.yaml: clients[0].defaultClientScopes[1]: client scope 'no-scope'",
            "extra.yaml: clients[0].authenticationFlowBindingOverrides.browser: flow 'no-flow'",
            "extra.yaml: identityProviders[0].firstBrokerLoginFlowAlias: flow "
            "'no-first-login'",
            "extra.yaml: flows[0].executions[0].config.config.defaultProvider: identity "
            "provider 'no-idp'",
            "extra.yaml: defaultGroups[0]: group '/no/group'",
            "extra.yaml: roles[0].composites.realm[0]: realm role 'no-role'",
            "extra.yaml: roles[0].composites.clients.realm-management[1]: client role "
            "'realm-management/no-admin-role'")
    assert "reports" not in _clients(fresh_realm)
    assert "lead" not in {r["name"] for r in kc_roles.list_all(fresh_realm.admin,
                                                               fresh_realm.name)}


def test_a_name_the_same_plan_deletes_does_not_count(fresh_realm: RealmUnderTest,
                                                     tmp_path: Path) -> None:
    """mfa-required is live and managed; a configuration that drops it but still maps it
    onto a group would delete the role under the group's mapping."""
    config = config_with(tmp_path, {})
    realm_file = config / "realm.yaml"
    text = realm_file.read_text()
    assert "name: mfa-required" in text
    document = yaml.safe_load(text)
    document["roles"] = [r for r in document["roles"] if r["name"] != "mfa-required"]
    realm_file.write_text(yaml.safe_dump(document, sort_keys=False))
    refused(fresh_realm, config, "realm role 'mfa-required' is neither declared nor in realm")



def test_references_to_live_objects_made_by_hand_are_accepted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    fresh_realm.admin.post(f"/{fresh_realm.name}/roles", {"name": "made-by-hand"})
    config = config_with(tmp_path, {"extra.yaml": {
        "groups": [{"name": "auditors", "realmRoles": ["made-by-hand", "offline_access"],
                    "clientRoles": {"realm-management": ["view-users"]}}]}})
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty


def test_keycloaks_own_names_of_a_new_realm_are_known_before_it_exists(
        fresh_realm: RealmUnderTest) -> None:
    """A first apply plans against names Keycloak makes with the realm: the list the
    resolver relies on is exactly what this Keycloak makes."""
    name = f"{fresh_realm.name}-bare"
    kc_realm.create(fresh_realm.admin, name)
    try:
        gw = fresh_realm.admin
        roles = {r["name"] for r in kc_roles.list_all(gw, name)}
        assert roles == references.KEYCLOAK_REALM_ROLES | {f"default-roles-{name}"}
        clients = {c["clientId"]: c["id"] for c in kc_clients.list_all(gw, name)}
        assert set(clients) == set(references.KEYCLOAK_CLIENT_ROLES)
        for client_id, uuid in clients.items():
            assert {r["name"] for r in kc_roles.list_all(gw, name, client=uuid)} == \
                references.KEYCLOAK_CLIENT_ROLES[client_id], client_id
        assert {f["alias"] for f in kc_flows.list_all(gw, name)} == references.KEYCLOAK_FLOWS
        assert references.KEYCLOAK_SCOPES == set(kc_scopes.ids_by_name(gw, name))
    finally:
        kc_realm.delete(fresh_realm.admin, name)
