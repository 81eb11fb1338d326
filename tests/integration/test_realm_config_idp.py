"""Identity providers as code against a real Keycloak: OIDC (Entra ID) and SAML (Okta)
upstream IdPs, their mappers and their broker-login flow bindings; plan, apply, drift,
hand-made IdPs kept, invalid input refused before any write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REALM_CONFIG, RealmUnderTest

ENTRA_TENANT = "8d2f6e1c-0000-4000-8000-00000000c0de"
ENTRA = f"https://login.microsoftonline.com/{ENTRA_TENANT}"

IDPS: dict[str, Any] = {
    "flows": [{
        # Staff come from the HR system (SCIM): a first login through the company's IdP
        # links the account HR made (same e-mail), never creates one.
        "alias": "staff first broker login",
        "description": "Link the HR-provisioned account; never create one",
        "executions": [
            {"authenticator": "idp-detect-existing-broker-user", "requirement": "REQUIRED"},
            {"authenticator": "idp-auto-link", "requirement": "REQUIRED"},
        ]},
        # Partner staff come from an IdP whose MFA is not ours to trust: a one-time code
        # after every brokered login.
        {"alias": "partner post broker login",
         "description": "A one-time code after every login through the partner's IdP",
         "executions": [{"authenticator": "auth-otp-form", "requirement": "REQUIRED"}]}],
    "identityProviders": [
        {"alias": "entra", "displayName": "Staff (Entra ID)", "providerId": "oidc",
         "enabled": True, "trustEmail": True, "hideOnLogin": False,
         "firstBrokerLoginFlowAlias": "staff first broker login",
         "config": {
             "issuer": f"{ENTRA}/v2.0",
             "authorizationUrl": f"{ENTRA}/oauth2/v2.0/authorize",
             "tokenUrl": f"{ENTRA}/oauth2/v2.0/token",
             "jwksUrl": f"{ENTRA}/discovery/v2.0/keys",
             "validateSignature": "true", "useJwksUrl": "true",
             "clientId": "5b7c0d3e-product", "clientSecret": "${ENTRA_CLIENT_SECRET}",
             "clientAuthMethod": "client_secret_post", "pkceEnabled": "true",
             "pkceMethod": "S256", "defaultScope": "openid email profile",
             "syncMode": "IMPORT"},
         "mappers": [
             {"name": "employee id", "identityProviderMapper": "oidc-user-attribute-idp-mapper",
              "config": {"claim": "employeeid", "user.attribute": "employee_id",
                         "syncMode": "FORCE"}}]},
        {"alias": "okta-saml", "displayName": "Partner staff (Okta SAML)", "providerId": "saml",
         "enabled": True, "postBrokerLoginFlowAlias": "partner post broker login",
         "config": {
             "singleSignOnServiceUrl": "https://partner.okta.com/app/x/sso/saml",
             "idpEntityId": "http://www.okta.com/exk1partner",
             "entityId": "https://access.example.com/realms/access",
             "nameIDPolicyFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
             "principalType": "SUBJECT", "postBindingResponse": "true",
             "postBindingAuthnRequest": "true", "wantAssertionsSigned": "true",
             "validateSignature": "false", "syncMode": "IMPORT"},
         "mappers": [
             {"name": "department", "identityProviderMapper": "saml-user-attribute-idp-mapper",
              "config": {"attribute.name": "department", "user.attribute": "department",
                         "syncMode": "INHERIT"}}]},
    ],
}


def _overlay(tmp_path: Path, document: dict[str, Any], name: str = "idp.yaml") -> Path:
    directory = tmp_path / "overlay"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(yaml.safe_dump(document, sort_keys=False))
    return directory


@pytest.fixture
def with_idps(fresh_realm: RealmUnderTest, tmp_path: Path) -> list[Path]:
    fresh_realm.env["ENTRA_CLIENT_SECRET"] = "entra-secret-" + fresh_realm.name
    config = [REALM_CONFIG, _overlay(tmp_path, IDPS)]
    fresh_realm.apply(config)
    return config


def _idp(realm: RealmUnderTest, alias: str) -> dict[str, Any]:
    rep: dict[str, Any] = realm.admin.get(f"/{realm.name}/identity-provider/instances/{alias}")
    return rep


def _mappers(realm: RealmUnderTest, alias: str) -> dict[str, dict[str, Any]]:
    return {m["name"]: m for m in realm.admin.get(
        f"/{realm.name}/identity-provider/instances/{alias}/mappers")}


def _changes(plan: Any) -> list[tuple[str, str, str, list[str]]]:
    return sorted((c.kind, c.key, c.action, sorted(f.path for f in c.fields))
                  for c in plan.changes)


def test_idps_apply_then_plan_is_empty(fresh_realm: RealmUnderTest,
                                       with_idps: list[Path]) -> None:
    assert fresh_realm.plan(with_idps).empty
    entra = _idp(fresh_realm, "entra")
    assert entra["providerId"] == "oidc" and entra["trustEmail"] is True
    assert entra["firstBrokerLoginFlowAlias"] == "staff first broker login"
    assert entra["config"]["issuer"] == f"{ENTRA}/v2.0"
    assert entra["config"]["clientSecret"] != fresh_realm.env["ENTRA_CLIENT_SECRET"]
    assert _mappers(fresh_realm, "entra")["employee id"]["config"]["claim"] == "employeeid"
    saml = _idp(fresh_realm, "okta-saml")
    assert saml["providerId"] == "saml"
    assert saml["postBrokerLoginFlowAlias"] == "partner post broker login"
    assert saml["config"]["idpEntityId"] == "http://www.okta.com/exk1partner"
    assert _mappers(fresh_realm, "okta-saml")["department"]["identityProviderMapper"] == \
        "saml-user-attribute-idp-mapper"


def test_idp_drift_is_planned_and_reverted(fresh_realm: RealmUnderTest,
                                           with_idps: list[Path]) -> None:
    base = f"/{fresh_realm.name}/identity-provider/instances"
    entra = _idp(fresh_realm, "entra")
    fresh_realm.admin.put(f"{base}/entra", {
        **entra, "displayName": "changed by hand", "firstBrokerLoginFlowAlias":
        "first broker login", "config": {**entra["config"], "clientId": "someone-else"}})
    mapper = _mappers(fresh_realm, "entra")["employee id"]
    fresh_realm.admin.put(f"{base}/entra/mappers/{mapper['id']}", {
        **mapper, "config": {**mapper["config"], "syncMode": "IMPORT"}})
    saml = _idp(fresh_realm, "okta-saml")
    fresh_realm.admin.put(f"{base}/okta-saml", {**saml, "postBrokerLoginFlowAlias": ""})
    saml_mapper = _mappers(fresh_realm, "okta-saml")["department"]
    fresh_realm.admin.delete(f"{base}/okta-saml/mappers/{saml_mapper['id']}")
    plan = fresh_realm.plan(with_idps)
    assert _changes(plan) == [
        ("identity-provider", "entra", "update",
         ["config.clientId", "displayName", "firstBrokerLoginFlowAlias"]),
        ("identity-provider", "okta-saml", "update", ["postBrokerLoginFlowAlias"]),
        ("identity-provider-mapper", "entra/employee id", "update", ["config.syncMode"]),
        ("identity-provider-mapper", "okta-saml/department", "create", []),
    ]
    fresh_realm.apply(with_idps)
    assert fresh_realm.plan(with_idps).empty
    entra = _idp(fresh_realm, "entra")
    assert entra["displayName"] == "Staff (Entra ID)"
    assert entra["firstBrokerLoginFlowAlias"] == "staff first broker login"
    assert entra["config"]["clientId"] == "5b7c0d3e-product"
    assert _mappers(fresh_realm, "entra")["employee id"]["config"]["syncMode"] == "FORCE"
    assert "department" in _mappers(fresh_realm, "okta-saml")
    assert _idp(fresh_realm, "okta-saml")["postBrokerLoginFlowAlias"] == \
        "partner post broker login"


def test_hand_made_idp_and_mapper_are_kept(fresh_realm: RealmUnderTest,
                                           with_idps: list[Path], tmp_path: Path) -> None:
    base = f"/{fresh_realm.name}/identity-provider/instances"
    fresh_realm.admin.post(base, {
        "alias": "google-by-hand", "providerId": "google", "enabled": True,
        "config": {"clientId": "x.apps.googleusercontent.com", "clientSecret": "s"}})
    fresh_realm.admin.post(f"{base}/entra/mappers", {
        "name": "by hand", "identityProviderAlias": "entra",
        "identityProviderMapper": "hardcoded-attribute-idp-mapper",
        "config": {"attribute": "source", "attribute.value": "entra", "syncMode": "INHERIT"}})
    assert fresh_realm.plan(with_idps).empty
    # The SAML IdP leaves the configuration: it is deleted, the hand-made ones stay.
    document = {**IDPS, "identityProviders": IDPS["identityProviders"][:1]}
    config = [REALM_CONFIG, _overlay(tmp_path, document)]
    plan = fresh_realm.plan(config)
    assert _changes(plan) == [
        ("identity-provider", "okta-saml", "delete", []),
        ("identity-provider-mapper", "okta-saml/department", "delete", [])]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    aliases = {p["alias"] for p in fresh_realm.admin.get(base)}
    assert aliases == {"entra", "google-by-hand"}
    assert set(_mappers(fresh_realm, "entra")) == {"employee id", "by hand"}


def test_changing_the_bound_first_broker_login_flow_keeps_the_binding(
        fresh_realm: RealmUnderTest, with_idps: list[Path], tmp_path: Path) -> None:
    """A flow is rebuilt beside the old one when it changes; Keycloak refuses to delete a
    flow an IdP uses, so the IdP is moved to the new tree first."""
    flow = {**IDPS["flows"][0], "executions": [
        {"authenticator": "idp-review-profile", "requirement": "REQUIRED",
         "config": {"alias": "staff review profile", "config": {"update.profile.on.first.login":
                                                                 "missing"}}},
        *IDPS["flows"][0]["executions"]]}
    config = [REALM_CONFIG, _overlay(tmp_path, {**IDPS, "flows": [flow, IDPS["flows"][1]]})]
    assert [(c.kind, c.key, c.action) for c in fresh_realm.plan(config).changes] == [
        ("flow", "staff first broker login", "update")]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    assert _idp(fresh_realm, "entra")["firstBrokerLoginFlowAlias"] == "staff first broker login"


def _bridge_apply(realm: RealmUnderTest, *directories: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "realm", "apply", *map(str, directories),
         "--realm", realm.name], capture_output=True, text=True, env=realm.cli_env(),
        timeout=120, check=False)


def test_invalid_idp_names_file_and_key_and_writes_nothing(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    fresh_realm.env["ENTRA_CLIENT_SECRET"] = "unused"
    entra = IDPS["identityProviders"][0]
    clear = {**IDPS, "identityProviders": [
        {**entra, "config": {**entra["config"], "clientSecret": "written-in-clear"}}]}
    result = _bridge_apply(fresh_realm, REALM_CONFIG, _overlay(tmp_path, clear))
    assert result.returncode == 1, result.stdout + result.stderr
    assert ("overlay/idp.yaml: identityProviders[0].config.clientSecret: must be a ${VAR} "
            "reference, never the secret itself") in result.stderr
    assert "written-in-clear" not in result.stderr + result.stdout
    wrong = {**IDPS, "identityProviders": [
        entra, {**IDPS["identityProviders"][1], "providerId": "okta-magic"},
        {"alias": "google", "providerId": "google", "config": {}, "synchMode": "IMPORT"}]}
    result = _bridge_apply(fresh_realm, REALM_CONFIG, _overlay(tmp_path, wrong))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "overlay/idp.yaml: identityProviders[1].providerId:" in result.stderr
    assert "overlay/idp.yaml: identityProviders[2].synchMode: unknown key" in result.stderr
    assert "Traceback" not in result.stderr
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/identity-provider/instances") == []
    flows = {f["alias"] for f in fresh_realm.admin.get(
        f"/{fresh_realm.name}/authentication/flows")}
    assert "staff first broker login" not in flows


def test_export_writes_idps_with_secret_variables_and_round_trips(
        fresh_realm: RealmUnderTest, with_idps: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "realm", "export", str(out), "--realm",
         fresh_realm.name], capture_output=True, text=True, env=fresh_realm.cli_env(),
        timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    exported = {p["alias"]: p for p in yaml.safe_load(
        (out / "identity-providers.yaml").read_text())["identityProviders"]}
    assert set(exported) == {"entra", "okta-saml"}
    # The variable name the configuration gives the secret (idp.yaml), not a derived one.
    assert exported["entra"]["config"]["clientSecret"] == "${ENTRA_CLIENT_SECRET}"
    assert exported["entra"]["firstBrokerLoginFlowAlias"] == "staff first broker login"
    assert exported["okta-saml"]["postBrokerLoginFlowAlias"] == "partner post broker login"
    assert [m["name"] for m in exported["entra"]["mappers"]] == ["employee id"]
    for path in out.rglob("*.yaml"):
        assert fresh_realm.env["ENTRA_CLIENT_SECRET"] not in path.read_text()
    fresh_realm.env["HR_SYSTEM_CLIENT_SECRET"] = fresh_realm.env["HR_SCIM_CLIENT_SECRET"]
    plan = fresh_realm.plan(out)
    assert plan.empty, [(c.kind, c.key, c.fields) for c in plan.changes]
