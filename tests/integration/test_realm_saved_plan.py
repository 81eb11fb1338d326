"""A reviewed plan is applied exactly: ``realm plan --out FILE`` saves it with digests of the
configuration and of the live state, ``realm apply FILE`` applies it, and refuses when either
changed since the file was written."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import bridge, config_with


def _edited(tmp_path: Path, uri: str) -> Path:
    config = config_with(tmp_path, {})
    portal = config / "clients" / "portal.yaml"
    document = yaml.safe_load(portal.read_text())
    document["clients"][0]["redirectUris"] = [uri]
    portal.write_text(yaml.safe_dump(document, sort_keys=False))
    return config


def _save(realm: RealmUnderTest, config: Path, out: Path) -> dict:
    result = bridge(realm, "realm", "plan", str(config), "--realm", realm.name, "--out",
                    str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    return json.loads(out.read_text())


def _portal_uris(realm: RealmUnderTest) -> list[str]:
    return realm.admin.get(f"/{realm.name}/clients", clientId="portal")[0]["redirectUris"]


def test_a_fresh_saved_plan_applies_and_the_next_plan_is_empty(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _edited(tmp_path, "https://portal.example.com/callback")
    saved = _save(fresh_realm, config, tmp_path / "reviewed.json")
    assert saved["realm"] == fresh_realm.name
    assert [(c["kind"], c["key"], c["action"], c["fields"]) for c in saved["changes"]] == [
        ("client", "portal", "update", ["redirectUris"])]
    assert "~ client portal" in saved["plan"]
    text = (tmp_path / "reviewed.json").read_text()
    for secret in (fresh_realm.env["BRIDGE_CLIENT_SECRET"],
                   fresh_realm.env["HR_SCIM_CLIENT_SECRET"]):
        assert secret not in text
    result = bridge(fresh_realm, "realm", "apply", str(tmp_path / "reviewed.json"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _portal_uris(fresh_realm) == ["https://portal.example.com/callback"]
    assert fresh_realm.plan(config).empty


def test_a_stale_saved_plan_is_refused(fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _edited(tmp_path, "https://portal.example.com/callback")
    out = tmp_path / "reviewed.json"
    _save(fresh_realm, config, out)
    # The live realm changes after the review: the plan is refused, nothing written.
    portal = fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="portal")[0]
    fresh_realm.admin.put(f"/{fresh_realm.name}/clients/{portal['id']}",
                          {**portal, "description": "edited by hand"})
    result = bridge(fresh_realm, "realm", "apply", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"realm {fresh_realm.name} changed since this plan was written" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _portal_uris(fresh_realm) == ["http://127.0.0.1:3000/*"]
    # Planned again, then the configuration changes after the review: refused too.
    _save(fresh_realm, config, out)
    _edited(tmp_path, "https://elsewhere.example.com/callback")
    result = bridge(fresh_realm, "realm", "apply", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the configuration changed since this plan was written" in result.stderr
    assert _portal_uris(fresh_realm) == ["http://127.0.0.1:3000/*"]
