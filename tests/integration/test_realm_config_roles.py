"""Role composites, the realm's default roles and its default groups, as code, on a real
Keycloak: converge, drift reverted, hand-made members kept, bad input refused."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import changes, config_with, converged, refused

DEFAULT_GROUP = "/bridge/scim"


def _roles_file(supervisor: list[str], default_realm: list[str]) -> dict:
    return {
        "roles": [
            {"name": "auditor", "description": "Reads reports"},
            {"name": "supervisor", "composites": {"realm": supervisor,
                                                  "clients": {"portal": ["technician"]}}},
        ],
        "defaultRoles": {"realm": default_realm, "clients": {"account": ["view-profile"]}},
        "defaultGroups": [DEFAULT_GROUP],
        "clients": [{"clientId": "reports", "publicClient": True, "roles": [
            {"name": "viewer"},
            {"name": "editor", "composites": {"realm": ["auditor"],
                                              "clients": {"reports": ["viewer"]}}}]}],
    }


def _composites(realm: RealmUnderTest, role: str) -> list[str]:
    found = realm.admin.get(f"/{realm.name}/roles/{role}/composites")
    return sorted(("portal/" if r["clientRole"] else "") + r["name"] for r in found)


def _default_roles(realm: RealmUnderTest) -> list[str]:
    return _composites(realm, f"default-roles-{realm.name}")


def _default_groups(realm: RealmUnderTest) -> list[str]:
    return sorted(g["path"] for g in realm.admin.get(f"/{realm.name}/default-groups"))


def _role(realm: RealmUnderTest, name: str) -> dict:
    return realm.admin.get(f"/{realm.name}/roles/{name}")


def test_composites_default_roles_and_groups_converge_and_drift_is_reverted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {"roles-extra.yaml": _roles_file(
        ["auditor", "mfa-required"], ["offline_access", "auditor"])})
    converged(fresh_realm, config)
    assert _composites(fresh_realm, "supervisor") == ["auditor", "mfa-required",
                                                      "portal/technician"]
    assert {"auditor", "offline_access"} <= set(_default_roles(fresh_realm))
    assert _default_groups(fresh_realm) == [DEFAULT_GROUP]
    [reports] = fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="reports")
    editor = fresh_realm.admin.get(
        f"/{fresh_realm.name}/clients/{reports['id']}/roles/editor/composites")
    assert sorted((r["clientRole"], r["name"]) for r in editor) == [
        (False, "auditor"), (True, "viewer")]

    # Drift through the admin API: a member and a default group removed by hand.
    base = f"/{fresh_realm.name}"
    supervisor = _role(fresh_realm, "supervisor")
    fresh_realm.admin.delete(f"{base}/roles-by-id/{supervisor['id']}/composites",
                             [_role(fresh_realm, "auditor")])
    default_role = fresh_realm.admin.get(base)["defaultRole"]
    fresh_realm.admin.delete(f"{base}/roles-by-id/{default_role['id']}/composites",
                             [_role(fresh_realm, "offline_access")])
    group = fresh_realm.admin.get(f"{base}/group-by-path{DEFAULT_GROUP}")
    fresh_realm.admin.delete(f"{base}/default-groups/{group['id']}")
    assert changes(fresh_realm, config) == [
        ("default-group", DEFAULT_GROUP, "create"),
        ("default-role", "offline_access", "create"),
        ("role-composite", "supervisor > auditor", "create")]
    converged(fresh_realm, config)
    assert _composites(fresh_realm, "supervisor") == ["auditor", "mfa-required",
                                                      "portal/technician"]
    assert "offline_access" in _default_roles(fresh_realm)
    assert _default_groups(fresh_realm) == [DEFAULT_GROUP]


def test_members_added_by_hand_are_kept_and_only_owned_ones_pruned(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {"roles-extra.yaml": _roles_file(
        ["auditor", "mfa-required"], ["offline_access", "auditor"])})
    converged(fresh_realm, config)
    base = f"/{fresh_realm.name}"
    # By hand: a member of the managed composite, a default role, a default group.
    supervisor = _role(fresh_realm, "supervisor")
    fresh_realm.admin.post(f"{base}/roles-by-id/{supervisor['id']}/composites",
                           [_role(fresh_realm, "uma_authorization")])
    default_role = fresh_realm.admin.get(base)["defaultRole"]
    fresh_realm.admin.post(f"{base}/roles-by-id/{default_role['id']}/composites",
                           [_role(fresh_realm, "mfa-required")])
    fresh_realm.admin.post(f"{base}/groups", {"name": "made-by-hand"})
    made = fresh_realm.admin.get(f"{base}/group-by-path/made-by-hand")
    fresh_realm.admin.put(f"{base}/default-groups/{made['id']}")
    assert fresh_realm.plan(config).empty

    # The configuration drops one member of each: only those are removed.
    config = config_with(tmp_path, {"roles-extra.yaml": _roles_file(
        ["auditor"], ["offline_access"])})
    assert changes(fresh_realm, config) == [
        ("default-role", "auditor", "delete"),
        ("role-composite", "supervisor > mfa-required", "delete")]
    converged(fresh_realm, config)
    assert _composites(fresh_realm, "supervisor") == ["auditor", "portal/technician",
                                                      "uma_authorization"]
    defaults = set(_default_roles(fresh_realm))
    assert "mfa-required" in defaults and "auditor" not in defaults
    assert _default_groups(fresh_realm) == [DEFAULT_GROUP, "/made-by-hand"]


def test_invalid_composites_name_file_and_key_and_nothing_is_written(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    document = _roles_file(["auditor"], ["auditor"])
    document["roles"][1]["composites"]["realm"] = "auditor"  # not a list
    config = config_with(tmp_path, {"roles-extra.yaml": document})
    refused(fresh_realm, config,
            "roles-extra.yaml: roles[1].composites.realm: Input should be a valid list")
    roles = {r["name"] for r in fresh_realm.admin.get(f"/{fresh_realm.name}/roles")}
    assert "auditor" not in roles and "supervisor" not in roles
    assert _default_groups(fresh_realm) == []
