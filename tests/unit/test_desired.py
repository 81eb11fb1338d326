"""Loading realm-config/: validation is complete and precise before anything is written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bridge.realm.desired import ConfigError, load
from tests.conftest import REALM_CONFIG

ENV = {"BRIDGE_CLIENT_SECRET": "b", "HR_SCIM_CLIENT_SECRET": "h"}


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(REALM_CONFIG, target, ignore=shutil.ignore_patterns("examples"))
    return target


def test_shipped_config_loads() -> None:
    config = load(REALM_CONFIG, ENV)
    assert config.realm == "access"
    # The product's clients, and Keycloak's own, hardened (clients/keycloak.yaml).
    assert {c.clientId for c in config.clients} == {"portal", "bridge", "hr-system",
                                                    "bridge-review", "admin-cli", "account"}
    portal = next(c for c in config.clients if c.clientId == "portal")
    assert portal.publicClient is True
    assert portal.attributes["pkce.code.challenge.method"] == "S256"
    bridge = next(c for c in config.clients if c.clientId == "bridge")
    assert bridge.secret == "b"
    assert "realm-admin" not in bridge.serviceAccountRoles.clients["realm-management"]
    # Never view-clients (it reads every client's secret): one admin permission instead.
    assert "view-clients" not in bridge.serviceAccountRoles.clients["realm-management"]
    assert [(p.resourceType, p.scopes, p.resources)
            for p in bridge.serviceAccountPermissions] == [
        ("Clients", ["view"], ["realm-management"])]
    assert config.settings.adminPermissionsEnabled is True


def test_defaults_and_overrides_of_variables() -> None:
    assert load(REALM_CONFIG, {**ENV, "BRIDGE_REALM": "other"}).realm == "other"
    smtp = load(REALM_CONFIG, {**ENV, "SMTP_PORT": "2525"}).settings.smtpServer
    assert smtp["port"] == "2525"


def test_missing_variables_are_all_reported_with_file_and_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load(REALM_CONFIG, {})
    assert caught.value.problems == [
        "realm-config/clients/bridge.yaml: clients[0].secret: environment variable "
        "BRIDGE_CLIENT_SECRET is not set",
        "realm-config/clients/hr-system.yaml: clients[0].secret: environment variable "
        "HR_SCIM_CLIENT_SECRET is not set",
    ]


def test_unknown_key_is_reported_with_its_path(tmp_path: Path) -> None:
    cfg = _copy(tmp_path)
    portal = cfg / "clients" / "portal.yaml"
    portal.write_text(portal.read_text().replace("    redirectUris:", "    redirectUri:"))
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert caught.value.problems == ["cfg/clients/portal.yaml: clients[0].redirectUri: "
                                     "unknown key"]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    cfg = _copy(tmp_path)
    (cfg / "extra.yaml").write_text("clientz: []\n")
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert caught.value.problems[0].startswith("cfg/extra.yaml: clientz: unknown key")


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    cfg = _copy(tmp_path)
    (cfg / "groups.yaml").write_text("groups:\n  - name: a\n   bad: [\n")
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert caught.value.problems[0].startswith("cfg/groups.yaml: line 3 invalid YAML")


def test_wrong_type_and_duplicates(tmp_path: Path) -> None:
    cfg = _copy(tmp_path)
    (cfg / "more.yaml").write_text(
        "groups:\n  - name: bridge\nflows:\n  - alias: x\n    executions:\n"
        "      - authenticator: auth-cookie\n        requirement: SOMETIMES\n")
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert any(p.startswith("cfg/more.yaml: flows[0].executions[0].requirement: Input should be")
               for p in caught.value.problems)
    (cfg / "more.yaml").write_text("groups:\n  - name: bridge\n")
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert caught.value.problems == ["group '/bridge' is declared twice"]


def test_variables_never_inject_structure() -> None:
    config = load(REALM_CONFIG, {**ENV, "PORTAL_URL": "x]\n  evil: {"})
    portal = next(c for c in config.clients if c.clientId == "portal")
    assert portal.redirectUris == ["x]\n  evil: {/*"]


def test_admin_permissions_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    cfg = _copy(tmp_path)
    bridge = cfg / "clients" / "bridge.yaml"
    bridge.write_text(bridge.read_text().replace(
        "resources: [realm-management]", "resources: [realm-managment]"))
    realm = cfg / "realm.yaml"
    realm.write_text(realm.read_text().replace("adminPermissionsEnabled: true",
                                               "adminPermissionsEnabled: false"))
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert caught.value.problems == [
        "serviceAccountPermissions need settings.adminPermissionsEnabled: true",
        "client bridge: admin permission 'bridge-views-realm-management': resource "
        "'realm-managment' is no client of the configuration",
    ]
    # No resource at all would mean every client to Keycloak: refused by the model.
    bridge.write_text(bridge.read_text().replace("resources: [realm-managment]",
                                                 "resources: []"))
    with pytest.raises(ConfigError) as caught:
        load(cfg, ENV)
    assert any("serviceAccountPermissions[0].resources" in p for p in caught.value.problems)
