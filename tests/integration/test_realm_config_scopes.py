"""Client scopes as code against a real Keycloak: scopes with their protocol mappers, the
realm's default and optional scopes, a client's own default and optional scopes; plan,
apply, drift, hand-made scopes kept, invalid input refused before any write."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.login import Browserless

PERIMETER_MAPPER = {
    "name": "perimeter", "protocolMapper": "oidc-usermodel-attribute-mapper",
    "config": {"user.attribute": "perimeter", "claim.name": "perimeter_ref",
               "jsonType.label": "String", "multivalued": "true",
               "access.token.claim": "true", "id.token.claim": "false",
               "userinfo.token.claim": "true"}}

SCOPES: dict[str, Any] = {
    "clientScopes": [
        {"name": "perimeter", "description": "The user's perimeter (projects, sites, dossiers)",
         "protocol": "openid-connect",
         "attributes": {"include.in.token.scope": "true",
                        "display.on.consent.screen": "false"},
         "protocolMappers": [PERIMETER_MAPPER]},
        {"name": "reports:read", "description": "Download reports (asked for by scope)",
         "attributes": {"include.in.token.scope": "true"},
         "protocolMappers": [
             {"name": "reports audience", "protocolMapper": "oidc-audience-mapper",
              "config": {"included.custom.audience": "reports-api",
                         "access.token.claim": "true", "id.token.claim": "false"}}]},
    ],
}
REALM_DEFAULTS = {"defaultDefaultClientScopes": ["acr", "basic", "email", "perimeter",
                                                 "profile", "web-origins"],
                  "defaultOptionalClientScopes": ["reports:read", "phone"]}


def _overlay(tmp_path: Path, scopes: dict[str, Any], portal_scopes: bool = True) -> list[Path]:
    """realm-config with its realm defaults and portal's scopes edited, plus the scopes."""
    config = tmp_path / "realm-config"
    if not config.exists():
        shutil.copytree(REALM_CONFIG, config, ignore=shutil.ignore_patterns("examples"))
    realm = yaml.safe_load((config / "realm.yaml").read_text())
    realm["settings"].update(REALM_DEFAULTS)
    (config / "realm.yaml").write_text(yaml.safe_dump(realm, sort_keys=False))
    if portal_scopes:
        portal = yaml.safe_load((config / "clients" / "portal.yaml").read_text())
        portal["clients"][0]["defaultClientScopes"] = ["acr", "basic", "email", "perimeter",
                                                       "profile", "web-origins"]
        portal["clients"][0]["optionalClientScopes"] = ["reports:read"]
        (config / "clients" / "portal.yaml").write_text(yaml.safe_dump(portal, sort_keys=False))
    (config / "scopes.yaml").write_text(yaml.safe_dump(scopes, sort_keys=False))
    return [config]


@pytest.fixture
def with_scopes(fresh_realm: RealmUnderTest, tmp_path: Path) -> list[Path]:
    config = _overlay(tmp_path, SCOPES)
    fresh_realm.apply(config)
    return config


def _scopes(realm: RealmUnderTest) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in realm.admin.get(f"/{realm.name}/client-scopes")}


def _names(items: list[dict[str, Any]]) -> list[str]:
    return sorted(i["name"] for i in items)


def _portal(realm: RealmUnderTest) -> str:
    return str(realm.admin.get(f"/{realm.name}/clients", clientId="portal")[0]["id"])


def _changes(plan: Any) -> list[tuple[str, str, str, list[str]]]:
    return sorted((c.kind, c.key, c.action, sorted(f.path for f in c.fields))
                  for c in plan.changes)


def test_scopes_apply_then_plan_is_empty(fresh_realm: RealmUnderTest,
                                         with_scopes: list[Path]) -> None:
    assert fresh_realm.plan(with_scopes).empty
    scopes = _scopes(fresh_realm)
    assert scopes["perimeter"]["attributes"]["include.in.token.scope"] == "true"
    assert _names(scopes["perimeter"]["protocolMappers"]) == ["perimeter"]
    assert _names(scopes["reports:read"]["protocolMappers"]) == ["reports audience"]
    base = f"/{fresh_realm.name}"
    assert _names(fresh_realm.admin.get(f"{base}/default-default-client-scopes")) == \
        REALM_DEFAULTS["defaultDefaultClientScopes"]
    assert _names(fresh_realm.admin.get(f"{base}/default-optional-client-scopes")) == [
        "phone", "reports:read"]
    portal = _portal(fresh_realm)
    assert "perimeter" in _names(fresh_realm.admin.get(
        f"{base}/clients/{portal}/default-client-scopes"))
    assert _names(fresh_realm.admin.get(f"{base}/clients/{portal}/optional-client-scopes")) == [
        "reports:read"]
    # A client made afterwards (by hand) starts with the realm's defaults.
    fresh_realm.admin.post(f"{base}/clients", {"clientId": "made-by-hand", "publicClient": True})
    made = fresh_realm.admin.get(f"{base}/clients", clientId="made-by-hand")[0]["id"]
    assert _names(fresh_realm.admin.get(f"{base}/clients/{made}/default-client-scopes")) == \
        REALM_DEFAULTS["defaultDefaultClientScopes"]
    assert fresh_realm.plan(with_scopes).empty


def test_scope_drift_is_planned_and_reverted(fresh_realm: RealmUnderTest,
                                             with_scopes: list[Path]) -> None:
    base = f"/{fresh_realm.name}"
    scopes = _scopes(fresh_realm)
    perimeter = scopes["perimeter"]
    fresh_realm.admin.put(f"{base}/client-scopes/{perimeter['id']}", {
        **perimeter, "description": "changed by hand",
        "attributes": {**perimeter["attributes"], "include.in.token.scope": "false"}})
    mapper = perimeter["protocolMappers"][0]
    fresh_realm.admin.put(
        f"{base}/client-scopes/{perimeter['id']}/protocol-mappers/models/{mapper['id']}",
        {**mapper, "config": {**mapper["config"], "claim.name": "everything"}})
    reports = scopes["reports:read"]
    fresh_realm.admin.delete(f"{base}/client-scopes/{reports['id']}/protocol-mappers/models/"
                             f"{reports['protocolMappers'][0]['id']}")
    fresh_realm.admin.delete(f"{base}/default-default-client-scopes/{perimeter['id']}")
    fresh_realm.admin.put(f"{base}/default-default-client-scopes/{scopes['address']['id']}")
    portal = _portal(fresh_realm)
    fresh_realm.admin.delete(f"{base}/clients/{portal}/default-client-scopes/{perimeter['id']}")
    fresh_realm.admin.put(f"{base}/clients/{portal}/optional-client-scopes/"
                          f"{scopes['phone']['id']}")
    plan = fresh_realm.plan(with_scopes)
    assert _changes(plan) == [
        ("client", "portal", "update", ["defaultClientScopes", "optionalClientScopes"]),
        ("client-scope", "perimeter", "update",
         ["attributes.include.in.token.scope", "description"]),
        ("client-scope-mapper", "perimeter/perimeter", "update", ["config.claim.name"]),
        ("client-scope-mapper", "reports:read/reports audience", "create", []),
        ("realm-default-scopes", "default", "update", ["scopes"]),
    ]
    fresh_realm.apply(with_scopes)
    assert fresh_realm.plan(with_scopes).empty
    scopes = _scopes(fresh_realm)
    assert scopes["perimeter"]["description"] == SCOPES["clientScopes"][0]["description"]
    assert scopes["perimeter"]["protocolMappers"][0]["config"]["claim.name"] == "perimeter_ref"
    assert _names(fresh_realm.admin.get(f"{base}/default-default-client-scopes")) == \
        REALM_DEFAULTS["defaultDefaultClientScopes"]
    assert _names(fresh_realm.admin.get(f"{base}/clients/{portal}/optional-client-scopes")) == [
        "reports:read"]


def test_hand_made_scope_and_mapper_are_kept(fresh_realm: RealmUnderTest,
                                             with_scopes: list[Path], tmp_path: Path) -> None:
    base = f"/{fresh_realm.name}"
    fresh_realm.admin.post(f"{base}/client-scopes", {"name": "by-hand",
                                                     "protocol": "openid-connect"})
    perimeter = _scopes(fresh_realm)["perimeter"]["id"]
    fresh_realm.admin.post(f"{base}/client-scopes/{perimeter}/protocol-mappers/models", {
        "name": "by hand", "protocol": "openid-connect",
        "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {"claim.name": "by_hand", "claim.value": "x", "access.token.claim": "true"}})
    assert fresh_realm.plan(with_scopes).empty
    # reports:read leaves the configuration: deleted (and unlinked); by-hand ones stay.
    config = _overlay(tmp_path, {"clientScopes": SCOPES["clientScopes"][:1]},
                      portal_scopes=False)
    realm = yaml.safe_load((config[0] / "realm.yaml").read_text())
    realm["settings"]["defaultOptionalClientScopes"] = ["phone"]
    (config[0] / "realm.yaml").write_text(yaml.safe_dump(realm, sort_keys=False))
    portal = yaml.safe_load((config[0] / "clients" / "portal.yaml").read_text())
    portal["clients"][0]["optionalClientScopes"] = []
    (config[0] / "clients" / "portal.yaml").write_text(yaml.safe_dump(portal, sort_keys=False))
    plan = fresh_realm.plan(config)
    assert _changes(plan) == [
        ("client", "portal", "update", ["optionalClientScopes"]),
        ("client-scope", "reports:read", "delete", []),
        ("client-scope-mapper", "reports:read/reports audience", "delete", []),
        ("realm-default-scopes", "optional", "update", ["scopes"]),
    ]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    scopes = _scopes(fresh_realm)
    assert "reports:read" not in scopes and "by-hand" in scopes
    assert _names(scopes["perimeter"]["protocolMappers"]) == ["by hand", "perimeter"]


def test_invalid_scope_names_file_and_key_and_writes_nothing(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    bad = {"clientScopes": [
        SCOPES["clientScopes"][0],
        {"name": "reports:read", "protocol": "oauth1",
         "protocolMappers": [{"name": "m", "protocolMapper": "oidc-audience-mapper",
                              "konfig": {}}]}]}
    config = _overlay(tmp_path, bad)
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "realm", "apply", str(config[0]),
         "--realm", fresh_realm.name], capture_output=True, text=True,
        env=fresh_realm.cli_env(), timeout=120, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "scopes.yaml: clientScopes[1].protocol:" in result.stderr
    assert "scopes.yaml: clientScopes[1].protocolMappers[0].konfig: unknown key" in result.stderr
    assert "Traceback" not in result.stderr
    assert "perimeter" not in _scopes(fresh_realm)
    assert "perimeter" not in _names(fresh_realm.admin.get(
        f"/{fresh_realm.name}/default-default-client-scopes"))


def test_export_writes_scopes_and_realm_defaults_and_round_trips(
        fresh_realm: RealmUnderTest, with_scopes: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "realm", "export", str(out), "--realm",
         fresh_realm.name], capture_output=True, text=True, env=fresh_realm.cli_env(),
        timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    scopes = {s["name"]: s for s in yaml.safe_load(
        (out / "client-scopes.yaml").read_text())["clientScopes"]}
    assert set(scopes) == {"perimeter", "reports:read"}
    assert [m["name"] for m in scopes["perimeter"]["protocolMappers"]] == ["perimeter"]
    settings = yaml.safe_load((out / "realm.yaml").read_text())["settings"]
    assert settings["defaultDefaultClientScopes"] == REALM_DEFAULTS["defaultDefaultClientScopes"]
    assert settings["defaultOptionalClientScopes"] == ["phone", "reports:read"]
    portal = yaml.safe_load((out / "clients" / "portal.yaml").read_text())["clients"][0]
    assert portal["optionalClientScopes"] == ["reports:read"]
    fresh_realm.env["HR_SYSTEM_CLIENT_SECRET"] = fresh_realm.env["HR_SCIM_CLIENT_SECRET"]
    plan = fresh_realm.plan(out)
    assert plan.empty, [(c.kind, c.key, c.fields) for c in plan.changes]


def test_tokens_carry_the_default_scope_and_the_optional_one_only_when_asked(
        fresh_realm: RealmUnderTest, with_scopes: list[Path]) -> None:
    """What a portal sees: the default ``perimeter`` scope's claim in every token, the
    optional ``reports:read`` scope's audience only when the portal asks for it."""
    password = "A-long-enough-pass-1"
    fresh_realm.admin.post(f"/{fresh_realm.name}/users", {
        "username": "claire", "email": "claire@client.example", "enabled": True,
        "emailVerified": True, "firstName": "Claire", "lastName": "Client",
        "attributes": {"perimeter": ["project:p1", "site:s1"]},
        "credentials": [{"type": "password", "value": password, "temporary": False}]})
    plain = Browserless().sign_in(fresh_realm.issuer, "claire", password).access_claims
    assert sorted(plain["perimeter_ref"]) == ["project:p1", "site:s1"]
    assert "reports-api" not in str(plain.get("aud"))
    assert "reports:read" not in plain["scope"].split()
    asked = Browserless().sign_in(fresh_realm.issuer, "claire", password,
                                  scope="openid reports:read").access_claims
    assert "reports-api" in (asked["aud"] if isinstance(asked["aud"], list) else [asked["aud"]])
    assert "reports:read" in asked["scope"].split()
