"""Sub-objects added by hand to managed objects (a client's role or protocol mapper, a
client scope's or an identity provider's mapper, a composite's member) are shown in the
plan as unmanaged and never deleted; ``--strict`` turns them into exit 1."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import bridge


def _portal(realm: RealmUnderTest) -> str:
    return realm.admin.get(f"/{realm.name}/clients", clientId="portal")[0]["id"]


def test_a_fresh_realm_has_nothing_unmanaged(fresh_realm: RealmUnderTest) -> None:
    assert fresh_realm.plan().unmanaged == ()
    result = bridge(fresh_realm, "realm", "plan", str(fresh_realm.config_dir), "--realm",
                    fresh_realm.name, "--strict")
    assert result.returncode == 0, result.stdout + result.stderr


def test_role_and_mapper_added_by_hand_are_shown_and_kept(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    base = f"/{fresh_realm.name}/clients/{_portal(fresh_realm)}"
    fresh_realm.admin.post(f"{base}/roles", {"name": "made-by-hand"})
    fresh_realm.admin.post(f"{base}/protocol-mappers/models", {
        "name": "hand-mapper", "protocol": "openid-connect",
        "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {"claim.name": "hand", "claim.value": "1", "access.token.claim": "true"}})
    plan = fresh_realm.plan()
    assert plan.empty
    assert set(plan.unmanaged) == {("client-role", "portal/made-by-hand"),
                                   ("mapper", "portal/hand-mapper")}
    result = bridge(fresh_realm, "realm", "plan", str(fresh_realm.config_dir), "--realm",
                    fresh_realm.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "? unmanaged client-role portal/made-by-hand (not in the configuration: kept)" \
        in result.stdout
    assert "? unmanaged mapper portal/hand-mapper" in result.stdout
    strict = bridge(fresh_realm, "realm", "plan", str(fresh_realm.config_dir), "--realm",
                    fresh_realm.name, "--strict")
    assert strict.returncode == 1, strict.stdout + strict.stderr
    assert "--strict: 2 unmanaged sub-object(s)" in strict.stderr
    strict_apply = bridge(fresh_realm, "realm", "apply", str(fresh_realm.config_dir),
                          "--realm", fresh_realm.name, "--strict")
    assert strict_apply.returncode == 1, strict_apply.stdout + strict_apply.stderr
    result = bridge(fresh_realm, "realm", "apply", str(fresh_realm.config_dir), "--realm",
                    fresh_realm.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "made-by-hand" in {r["name"] for r in fresh_realm.admin.get(f"{base}/roles")}
    assert "hand-mapper" in {m["name"] for m in fresh_realm.admin.get(
        f"{base}/protocol-mappers/models")}
