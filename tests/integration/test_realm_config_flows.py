"""Authentication flows as code on a real Keycloak: a registration form flow, a client
authentication flow, per-client overrides and every realm binding; drift reverted (a
rebuilt flow keeps its bindings and overrides), hand-made flows kept, bad input refused."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import config_with, converged, refused

FLOWS = [
    {"alias": "registration-invite", "description": "Registration with terms",
     "executions": [
         {"flow": "registration-invite form", "authenticator": "registration-page-form",
          "requirement": "REQUIRED", "executions": [
              {"authenticator": "registration-user-creation", "requirement": "REQUIRED"},
              {"authenticator": "registration-password-action", "requirement": "REQUIRED"},
              {"authenticator": "registration-terms-and-conditions",
               "requirement": "REQUIRED"}]}]},
    {"alias": "direct-grant-strict", "executions": [
        {"authenticator": "direct-grant-validate-username", "requirement": "REQUIRED"},
        {"authenticator": "direct-grant-validate-password", "requirement": "REQUIRED"}]},
    {"alias": "browser-kiosk", "executions": [
        {"authenticator": "auth-username-password-form", "requirement": "REQUIRED"}]},
    {"alias": "reset-strict", "executions": [
        {"authenticator": "reset-credentials-choose-user", "requirement": "REQUIRED"},
        {"authenticator": "reset-credential-email", "requirement": "REQUIRED"},
        {"authenticator": "reset-password", "requirement": "REQUIRED"}]},
    {"alias": "clients-secret-only", "providerId": "client-flow", "executions": [
        {"authenticator": "client-secret", "requirement": "ALTERNATIVE"},
        {"authenticator": "client-jwt", "requirement": "ALTERNATIVE"}]},
    {"alias": "docker-strict", "executions": [
        {"authenticator": "docker-http-basic-authenticator", "requirement": "REQUIRED"}]},
    {"alias": "first-broker-strict", "executions": [
        {"authenticator": "idp-create-user-if-unique", "requirement": "REQUIRED"}]},
]
BINDINGS = {"browserFlow": "browser-mfa", "registrationFlow": "registration-invite",
            "directGrantFlow": "direct-grant-strict", "resetCredentialsFlow": "reset-strict",
            "clientAuthenticationFlow": "clients-secret-only",
            "dockerAuthenticationFlow": "docker-strict",
            "firstBrokerLoginFlow": "first-broker-strict"}
KIOSK = {"clientId": "kiosk", "publicClient": True, "standardFlowEnabled": True,
         "directAccessGrantsEnabled": True, "redirectUris": ["http://127.0.0.1:3001/*"],
         "authenticationFlowBindingOverrides": {"browser": "browser-kiosk",
                                                "direct_grant": "direct-grant-strict"}}


def _config(tmp_path: Path, flows: list[dict] = FLOWS, kiosk: dict = KIOSK) -> Path:
    return config_with(tmp_path, {"flows-extra.yaml": {"flows": flows, "clients": [kiosk]}},
                       edit_realm=BINDINGS)


def _flow_ids(realm: RealmUnderTest) -> dict[str, str]:
    return {f["id"]: f["alias"] for f in realm.admin.get(
        f"/{realm.name}/authentication/flows")}


def _overrides(realm: RealmUnderTest, client_id: str) -> dict[str, str]:
    [client] = realm.admin.get(f"/{realm.name}/clients", clientId=client_id)
    ids = _flow_ids(realm)
    return {k: ids.get(v, v) for k, v in client["authenticationFlowBindingOverrides"].items()}


def _executions(realm: RealmUnderTest, alias: str) -> list[dict]:
    return realm.admin.get(f"/{realm.name}/authentication/flows/{alias}/executions")


def test_flows_bindings_and_overrides_converge_and_drift_is_reverted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _config(tmp_path)
    converged(fresh_realm, config)
    realm = fresh_realm.admin.get(f"/{fresh_realm.name}")
    assert {b: realm[b] for b in BINDINGS} == BINDINGS
    assert _overrides(fresh_realm, "kiosk") == {"browser": "browser-kiosk",
                                                "direct_grant": "direct-grant-strict"}
    registration = _executions(fresh_realm, "registration-invite")
    assert [(e["level"], e["providerId"], e["requirement"]) for e in registration] == [
        (0, "registration-page-form", "REQUIRED"),
        (1, "registration-user-creation", "REQUIRED"),
        (1, "registration-password-action", "REQUIRED"),
        (1, "registration-terms-and-conditions", "REQUIRED")]
    flows = {f["alias"]: f for f in fresh_realm.admin.get(
        f"/{fresh_realm.name}/authentication/flows")}
    assert flows["clients-secret-only"]["providerId"] == "client-flow"

    # Drift by hand: a form action disabled, a flow used by an override edited, a binding
    # and an override moved back to Keycloak's own flows.
    base = f"/{fresh_realm.name}/authentication/flows"
    terms = registration[3]
    fresh_realm.admin.put(f"{base}/registration-invite/executions",
                          {**terms, "requirement": "DISABLED"})
    password = _executions(fresh_realm, "direct-grant-strict")[1]
    fresh_realm.admin.put(f"{base}/direct-grant-strict/executions",
                          {**password, "requirement": "DISABLED"})
    fresh_realm.admin.put(f"/{fresh_realm.name}", {"resetCredentialsFlow": "reset credentials"})
    [kiosk] = fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="kiosk")
    builtin_browser = next(i for i, a in _flow_ids(fresh_realm).items() if a == "browser")
    fresh_realm.admin.put(f"/{fresh_realm.name}/clients/{kiosk['id']}", {
        **kiosk, "authenticationFlowBindingOverrides": {
            **kiosk["authenticationFlowBindingOverrides"], "browser": builtin_browser}})
    plan = fresh_realm.plan(config)
    assert sorted((c.kind, c.key, c.action, tuple(f.path for f in c.fields))
                  for c in plan.changes) == [
        ("client-flow-override", "kiosk", "update", ("authenticationFlowBindingOverrides",)),
        ("flow", "direct-grant-strict", "update",
         ("executions[direct-grant-validate-password].requirement",)),
        ("flow", "registration-invite", "update",
         ("executions[registration-invite form/registration-terms-and-conditions]"
          ".requirement",)),
        ("realm", "settings", "update", ("resetCredentialsFlow",))]
    converged(fresh_realm, config)
    realm = fresh_realm.admin.get(f"/{fresh_realm.name}")
    assert {b: realm[b] for b in BINDINGS} == BINDINGS
    # Rebuilt flows keep their bindings: the realm's and the client's.
    assert _overrides(fresh_realm, "kiosk") == {"browser": "browser-kiosk",
                                                "direct_grant": "direct-grant-strict"}
    assert [e["requirement"] for e in _executions(fresh_realm, "registration-invite")] == [
        "REQUIRED"] * 4
    assert not [a for a in _flow_ids(fresh_realm).values() if a.endswith("--next")]


def test_hand_made_flows_and_overrides_are_kept(fresh_realm: RealmUnderTest,
                                                tmp_path: Path) -> None:
    config = _config(tmp_path)
    converged(fresh_realm, config)
    base = f"/{fresh_realm.name}/authentication/flows"
    fresh_realm.admin.post(f"{base}/browser/copy", {"newName": "hand-browser"})
    hand = next(i for i, a in _flow_ids(fresh_realm).items() if a == "hand-browser")
    [account] = fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="account")
    fresh_realm.admin.put(f"/{fresh_realm.name}/clients/{account['id']}", {
        **account, "authenticationFlowBindingOverrides": {"browser": hand}})
    assert fresh_realm.plan(config).empty
    # Overrides dropped from the configuration: the client's are removed, the rest stays.
    kiosk = {k: v for k, v in KIOSK.items() if k != "authenticationFlowBindingOverrides"}
    kiosk["authenticationFlowBindingOverrides"] = {}
    config = _config(tmp_path, kiosk=kiosk)
    converged(fresh_realm, config)
    assert _overrides(fresh_realm, "kiosk") == {}
    assert _overrides(fresh_realm, "account") == {"browser": "hand-browser"}
    assert "hand-browser" in _flow_ids(fresh_realm).values()


def test_invalid_flow_names_file_and_key_and_nothing_is_written(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    flows = copy.deepcopy(FLOWS)
    flows[0]["executions"][0]["executions"][2]["requirement"] = "SOMETIMES"
    refused(fresh_realm, _config(tmp_path, flows=flows),
            "flows-extra.yaml: flows[0].executions[0].executions[2].requirement: "
            "Input should be 'REQUIRED', 'ALTERNATIVE', 'CONDITIONAL' or 'DISABLED'")
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="kiosk") == []
    assert "registration-invite" not in _flow_ids(fresh_realm).values()
    assert fresh_realm.admin.get(f"/{fresh_realm.name}")["registrationFlow"] == "registration"
