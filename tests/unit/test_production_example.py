"""The production example and the identity-provider kind's pure parts: every secret is a
``${VAR}`` (never a value, never a default), a secret written in clear is refused with its
file and key, and a secret Keycloak masks is never planned as a change."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.realm.desired import ConfigError, load
from bridge.realm.kinds.identity_providers import IdentityProviders
from tests.conftest import REALM_CONFIG

PRODUCTION = REALM_CONFIG / "examples" / "production"
COMPANY_IDP = REALM_CONFIG / "examples" / "company-idp"
SECRET_KEYS = {"secret", "clientSecret", "password", "bindCredential"}
SECRETS = {"BRIDGE_CLIENT_SECRET", "HR_SCIM_CLIENT_SECRET", "STAFF_IDP_CLIENT_SECRET"}


def _values(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _values(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _values(value, f"{path}[{index}]")
    else:
        yield path, node


def _env(without: set[str] = frozenset()) -> dict[str, str]:
    names = set(re.findall(r"\$\{([A-Z_]+)\}", "".join(
        p.read_text() for p in PRODUCTION.rglob("*.yaml"))))
    return {n: "25" if n == "SMTP_PORT" else f"value-of-{n}" for n in names - without}


@pytest.mark.parametrize("directory", [PRODUCTION, COMPANY_IDP], ids=lambda p: p.name)
def test_every_secret_is_a_variable_without_default(directory: Path) -> None:
    found = []
    for path in sorted(directory.rglob("*.yaml")):
        for where, value in _values(yaml.safe_load(path.read_text())):
            if where.rsplit(".", 1)[-1] in SECRET_KEYS:
                found.append(where)
                assert isinstance(value, str) and re.fullmatch(r"\$\{[A-Z_]+\}", value), (
                    f"{path.name}: {where} = {value!r}")
    assert found


def test_production_names_each_missing_secret_and_shows_none() -> None:
    with pytest.raises(ConfigError) as refused:
        load(PRODUCTION, _env(without=SECRETS))
    text = str(refused.value)
    for name in SECRETS:
        assert f"environment variable {name} is not set" in text
    assert "value-of-" not in text


def test_production_example_loads_whole() -> None:
    config = load(PRODUCTION, _env())
    [staff] = config.identityProviders
    assert (staff.providerId, staff.trustEmail) == ("oidc", True)
    assert staff.firstBrokerLoginFlowAlias in {f.alias for f in config.flows}
    assert staff.config["clientSecret"] == "value-of-STAFF_IDP_CLIENT_SECRET"
    assert config.settings.browserFlow == "browser-mfa"
    assert config.settings.defaultOptionalClientScopes == []
    # The hardened built-in clients are there.
    builtin = {c.clientId: c for c in config.clients}
    assert builtin["admin-cli"].directAccessGrantsEnabled is False
    assert builtin["account"].attributes == {"pkce.code.challenge.method": "S256"}


def test_a_secret_in_clear_is_refused_with_its_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "realm.yaml").write_text(yaml.safe_dump({
        "realm": "r", "identityProviders": [
            {"alias": "ok", "providerId": "google", "config": {"clientSecret": "${GOOGLE}"}},
            {"alias": "bad", "providerId": "oidc", "config": {"clientSecret": "hunter2"}}]}))
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, {"GOOGLE": "g"})
    assert refused.value.problems == [
        f"{tmp_path.name}/realm.yaml: identityProviders[1].config.clientSecret: must be a "
        "${VAR} reference, never the secret itself"]


def test_a_masked_secret_is_no_change_but_other_fields_are() -> None:
    kind = IdentityProviders()
    desired = {"displayName": "Staff", "config": {"clientId": "a", "clientSecret": "s"}}
    actual = {"displayName": "Staff", "config": {"clientId": "a", "clientSecret": "**********"}}
    assert kind.changed(desired, actual) == []
    drifted = {**actual, "config": {**actual["config"], "clientId": "b"}}
    assert [c.path for c in kind.changed(desired, drifted)] == ["config.clientId"]
