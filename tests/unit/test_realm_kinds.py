"""The realm kinds' pure parts: what a configuration of each kind plans, and the problems
refused before any write (with file and key)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bridge.realm.desired import ConfigError, load
from bridge.realm.kinds.components import KeyProviders, config_lists
from bridge.realm.kinds.composites import DefaultRoles, RoleComposites, _parse
from tests.conftest import REALM_CONFIG

ENV = {"BRIDGE_CLIENT_SECRET": "b", "HR_SCIM_CLIENT_SECRET": "h"}


def _with(tmp_path: Path, document: dict, drop: tuple[str, ...] = ()) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(REALM_CONFIG, target, ignore=shutil.ignore_patterns("examples", *drop))
    (target / "extra.yaml").write_text(yaml.safe_dump(document))
    return target


def _problems(tmp_path: Path, document: dict, drop: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(_with(tmp_path, document, drop), ENV)
    return caught.value.problems


def test_composites_and_default_roles_are_one_key_per_member(tmp_path: Path) -> None:
    config = load(_with(tmp_path, {
        "roles": [{"name": "supervisor", "composites": {
            "realm": ["mfa-required"], "clients": {"portal": ["technician"]}}}],
        "defaultRoles": {"realm": ["offline_access"], "clients": {"account": ["view-profile"]}},
    }), ENV)
    assert sorted(RoleComposites().desired(config)) == [
        "supervisor > mfa-required", "supervisor > portal/technician"]
    assert sorted(DefaultRoles().desired(config)) == ["account/view-profile", "offline_access"]
    assert _parse("portal/technician", ["portal"]) == ("portal", "technician")
    assert _parse("ops/lead", ["portal"]) == (None, "ops/lead")  # a realm role's name


def test_component_config_is_written_as_keycloak_stores_it(tmp_path: Path) -> None:
    assert config_lists({"priority": 100, "active": True, "hosts": ["a", "b"]}) == {
        "priority": ["100"], "active": ["true"], "hosts": ["a", "b"]}
    config = load(_with(tmp_path, {"keys": [{"name": "k", "providerId": "rsa-generated",
                                             "config": {"priority": 200}}]}), ENV)
    assert KeyProviders().desired(config) == {
        "k": {"providerId": "rsa-generated", "config": {"priority": ["200"]}}}


def test_bad_kinds_are_refused_with_file_and_key(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {
        "requiredActions": [{"alias": "CONFIGURE_TOTP", "priority": "first"}],
        "otpPolicy": {"digits": 7},
        "userFederation": [{"name": "ldap", "config": {"connectionUrl": "http://x"}}],
    })
    assert ("cfg/extra.yaml: requiredActions[0].priority: Input should be a valid integer, "
            "unable to parse string as an integer") in problems
    assert "cfg/extra.yaml: otpPolicy.digits: Input should be 6 or 8" in problems
    assert any(p.startswith("cfg/extra.yaml: userFederation[0]: Value error, "
                            "config.connectionUrl must be an ldap://") for p in problems)


def test_cross_key_problems_are_refused(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {
        "requiredActions": [{"alias": "CONFIGURE_TOTP"}, {"alias": "CONFIGURE_TOTP"}],
        "events": {"eventsEnabled": True},
        "localization": {"de": {"loginTitle": "x"}},
        "components": [{"name": "k", "providerId": "rsa-generated",
                        "providerType": "org.keycloak.keys.KeyProvider"}],
    }, drop=("localization.yaml",))  # realm-config's own texts: this file gives them
    assert problems == [
        "required action 'CONFIGURE_TOTP' is declared twice",
        "component 'k': providerType org.keycloak.keys.KeyProvider is declared under keys:",
        "cfg/extra.yaml: events.eventsEnabled: also given as settings.eventsEnabled; keep one",
        "cfg/extra.yaml: localization.de: not one of settings.supportedLocales (en, fr, ro)",
    ]


def test_a_form_flow_names_its_form(tmp_path: Path) -> None:
    problems = _problems(tmp_path, {"flows": [{"alias": "reg", "executions": [
        {"requirement": "REQUIRED"}]}]})
    assert problems == ["cfg/extra.yaml: flows[0].executions[0]: Value error, an execution "
                        "names an authenticator or a flow"]
