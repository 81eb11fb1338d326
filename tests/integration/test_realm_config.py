"""Realm configuration as code against a real Keycloak: plan, apply, prune, export."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import requests
import yaml

from tests.conftest import REALM_CONFIG, RealmUnderTest


def _copy_config(tmp_path: Path) -> Path:
    target = tmp_path / "realm-config"
    shutil.copytree(REALM_CONFIG, target, ignore=shutil.ignore_patterns("examples"))
    return target


def _edit(path: Path, edit) -> None:
    document = yaml.safe_load(path.read_text())
    edit(document)
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def _bridge(realm: RealmUnderTest, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True,
                          text=True, env=realm.cli_env(), timeout=120, check=False)


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_second_apply_changes_nothing_and_plan_exits_0(fresh_realm: RealmUnderTest) -> None:
    assert fresh_realm.plan().empty
    result = _bridge(fresh_realm, "realm", "plan", str(REALM_CONFIG), "--realm", fresh_realm.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout
    result = _bridge(fresh_realm, "realm", "apply", str(REALM_CONFIG), "--realm",
                     fresh_realm.name)
    assert result.returncode == 0, result.stderr
    assert "No changes" in result.stdout


def test_realm_settings_are_live(fresh_realm: RealmUnderTest) -> None:
    realm = fresh_realm.admin.get(f"/{fresh_realm.name}")
    assert sorted(realm["supportedLocales"]) == ["en", "fr", "ro"]
    assert (realm["loginTheme"], realm["emailTheme"]) == ("bridge", "bridge")
    assert realm["bruteForceProtected"] is True
    assert realm["adminEventsEnabled"] is True and realm["adminEventsDetailsEnabled"] is True
    assert realm["smtpServer"]["port"] == fresh_realm.env["SMTP_PORT"]
    assert realm["browserFlow"] == "browser-mfa"
    assert "length(12)" in realm["passwordPolicy"]


def test_editing_one_redirect_uri_plans_exactly_that_field(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _copy_config(tmp_path)

    def edit(doc: dict) -> None:
        doc["clients"][0]["redirectUris"] = ["https://portal.example.com/callback"]

    _edit(config / "clients" / "portal.yaml", edit)
    plan = fresh_realm.plan(config)
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [("client", "portal", "update")]
    assert [f.path for f in plan.changes[0].fields] == ["redirectUris"]
    result = _bridge(fresh_realm, "realm", "plan", str(config), "--realm", fresh_realm.name)
    assert result.returncode == 2, result.stderr
    assert "~ client portal" in result.stdout
    assert "redirectUris: ['http://127.0.0.1:3000/*'] -> " \
           "['https://portal.example.com/callback']" in result.stdout
    assert "Plan: 0 to create, 1 to update, 0 to delete." in result.stdout


def test_group_made_by_hand_survives_apply(fresh_realm: RealmUnderTest) -> None:
    base = f"/{fresh_realm.name}"
    fresh_realm.admin.post(f"{base}/groups", {"name": "made-by-hand"})
    bridge_group = fresh_realm.admin.get(f"{base}/group-by-path/bridge")
    fresh_realm.admin.post(f"{base}/groups/{bridge_group['id']}/children", {"name": "adhoc"})
    assert fresh_realm.plan().empty
    fresh_realm.apply()
    assert fresh_realm.admin.get(f"{base}/group-by-path/made-by-hand")["name"] == "made-by-hand"
    assert fresh_realm.admin.get(f"{base}/group-by-path/bridge/adhoc")["name"] == "adhoc"


def test_managed_resource_removed_from_yaml_is_deleted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _copy_config(tmp_path)
    def drop_technicians(doc: dict) -> None:
        doc["groups"][0]["subGroups"] = [g for g in doc["groups"][0]["subGroups"]
                                         if g["name"] != "technicians"]

    _edit(config / "groups.yaml", drop_technicians)

    def drop_role(doc: dict) -> None:
        doc["clients"][0]["roles"] = []

    _edit(config / "clients" / "portal.yaml", drop_role)
    plan = fresh_realm.plan(config)
    deletes = sorted((c.kind, c.key) for c in plan.changes if c.action == "delete")
    assert deletes == [("client-role", "portal/technician"), ("group", "/bridge/technicians")]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    groups = fresh_realm.admin.get(f"/{fresh_realm.name}/groups", search="technicians")
    assert groups == [] or all(not g.get("subGroups") for g in groups)


def test_flow_change_is_swapped_in_and_stays_bound(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _copy_config(tmp_path)

    def cookie_disabled(doc: dict) -> None:
        doc["flows"][0]["executions"][0]["requirement"] = "DISABLED"

    _edit(config / "flows.yaml", cookie_disabled)
    plan = fresh_realm.plan(config)
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("flow", "browser-mfa", "update")]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    realm = fresh_realm.admin.get(f"/{fresh_realm.name}")
    assert realm["browserFlow"] == "browser-mfa"
    aliases = [f["alias"] for f in fresh_realm.admin.get(
        f"/{fresh_realm.name}/authentication/flows")]
    assert not [a for a in aliases if a.endswith("--next")]


def test_bridge_service_account_token_has_only_configured_roles(
        fresh_realm: RealmUnderTest) -> None:
    response = requests.post(
        f"{fresh_realm.issuer}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": "bridge",
              "client_secret": fresh_realm.env["BRIDGE_CLIENT_SECRET"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    claims = _claims(response.json()["access_token"])
    # view-users is a composite of query-users and query-groups, view-organizations of
    # query-organizations: Keycloak expands them. Never
    # view-clients (every client's secret); the bridge views realm-management alone through
    # an admin permission (test_scim_access).
    assert {k: sorted(v["roles"]) for k, v in claims["resource_access"].items()} == {
        "realm-management": ["manage-organizations", "manage-users", "query-clients",
                             "query-groups", "query-organizations", "query-users",
                             "view-organizations", "view-realm", "view-users"]}
    assert "realm_access" not in claims
    assert "realm-admin" not in json.dumps(claims)


def test_hr_system_token_carries_the_scim_role_for_the_bridge(
        fresh_realm: RealmUnderTest) -> None:
    response = requests.post(
        f"{fresh_realm.issuer}/protocol/openid-connect/token",
        data={"grant_type": "client_credentials", "client_id": "hr-system",
              "client_secret": fresh_realm.env["HR_SCIM_CLIENT_SECRET"]},
        timeout=30,
    )
    claims = _claims(response.json()["access_token"])
    assert claims["resource_access"] == {"bridge": {"roles": ["scim"]}}
    assert claims["aud"] == "bridge" or "bridge" in claims["aud"]


def test_export_round_trips_to_an_empty_plan(fresh_realm: RealmUnderTest,
                                             tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = _bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name)
    assert result.returncode == 0, result.stderr
    portal = yaml.safe_load((out / "clients" / "portal.yaml").read_text())["clients"][0]
    assert portal["attributes"]["pkce.code.challenge.method"] == "S256"
    bridge_client = yaml.safe_load((out / "clients" / "bridge.yaml").read_text())["clients"][0]
    assert bridge_client["secret"] == "${BRIDGE_CLIENT_SECRET}"
    assert fresh_realm.env["BRIDGE_CLIENT_SECRET"] not in result.stdout
    for path in out.rglob("*.yaml"):
        assert fresh_realm.env["BRIDGE_CLIENT_SECRET"] not in path.read_text()
    # The secret keeps the variable name the configuration gives it.
    hr_system = yaml.safe_load((out / "clients" / "hr-system.yaml").read_text())["clients"][0]
    assert hr_system["secret"] == "${HR_SCIM_CLIENT_SECRET}"
    plan = fresh_realm.plan(out)
    assert plan.empty, [(c.kind, c.key, c.fields) for c in plan.changes]


def test_export_keeps_the_hardening_of_keycloaks_own_clients(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    """An export applied elsewhere hardens that realm too (kcwarden's findings stay fixed)."""
    out = tmp_path / "exported"
    result = _bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name)
    assert result.returncode == 0, result.stderr
    builtin = {c["clientId"]: c for c in yaml.safe_load(
        (out / "clients" / "keycloak.yaml").read_text())["clients"]}
    assert builtin["admin-cli"]["directAccessGrantsEnabled"] is False
    assert builtin["account"]["attributes"] == {"pkce.code.challenge.method": "S256"}
    realm = yaml.safe_load((out / "realm.yaml").read_text())
    assert realm["settings"]["removedClientScopes"] == ["offline_access"]
    fresh_realm.env["HR_SYSTEM_CLIENT_SECRET"] = fresh_realm.env["HR_SCIM_CLIENT_SECRET"]
    assert fresh_realm.plan(out).empty


def test_invalid_config_writes_nothing(fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = _copy_config(tmp_path)
    (config / "clients" / "hr-system.yaml").write_text(
        (config / "clients" / "hr-system.yaml").read_text().replace(
            "${HR_SCIM_CLIENT_SECRET}", "${NOT_SET_ANYWHERE_42}"))
    _edit(config / "clients" / "portal.yaml",
          lambda doc: doc["clients"][0].update(redirectUris=["https://changed.example/*"]))
    result = _bridge(fresh_realm, "realm", "apply", str(config), "--realm", fresh_realm.name)
    assert result.returncode == 1
    assert "hr-system.yaml: clients[0].secret: environment variable NOT_SET_ANYWHERE_42 " \
           "is not set" in result.stderr
    assert "Traceback" not in result.stderr
    portal = fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="portal")[0]
    assert portal["redirectUris"] == ["http://127.0.0.1:3000/*"]


def test_role_names_are_one_path_segment(fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    """A role's name goes into admin paths (``/roles/{name}``): a ``#``, ``?`` or ``/`` in it
    must neither cut the path nor reach another resource. Created, mapped onto a group,
    updated and pruned like any other role."""
    config = _copy_config(tmp_path)
    realm_role, client_role = "ops#lead", "reports?view all"

    def add_roles(description: str) -> None:
        def edit(doc: dict) -> None:
            doc["roles"] = [r for r in doc["roles"] if r["name"] != realm_role]
            doc["roles"].append({"name": realm_role, "description": description})
        _edit(config / "realm.yaml", edit)

        def edit_client(doc: dict) -> None:
            roles = [r for r in doc["clients"][0]["roles"] if r["name"] != client_role]
            doc["clients"][0]["roles"] = [*roles, {"name": client_role,
                                                   "description": description}]
        _edit(config / "clients" / "portal.yaml", edit_client)

    def map_onto_group(doc: dict) -> None:
        doc["groups"][0]["subGroups"].append({"name": "leads", "realmRoles": [realm_role],
                                              "clientRoles": {"portal": [client_role]}})

    add_roles("first")
    _edit(config / "groups.yaml", map_onto_group)
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    add_roles("second")
    plan = fresh_realm.plan(config)
    assert sorted((c.kind, c.key, c.action) for c in plan.changes) == [
        ("client-role", f"portal/{client_role}", "update"), ("realm-role", realm_role, "update")]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    roles = {r["name"]: r for r in fresh_realm.admin.get(f"/{fresh_realm.name}/roles")}
    assert roles[realm_role]["description"] == "second"
    assert "ops" not in roles

    # Pruned: first the group that maps them, then the roles themselves.
    shutil.rmtree(config)
    fresh_realm.apply(_copy_config(tmp_path))
    roles = {r["name"] for r in fresh_realm.admin.get(f"/{fresh_realm.name}/roles")}
    assert realm_role not in roles and "mfa-required" in roles
    assert fresh_realm.plan().empty


def _permission_server(realm: RealmUnderTest) -> str:
    [server] = realm.admin.get(f"/{realm.name}/clients", clientId="admin-permissions")
    return f"/{realm.name}/clients/{server['id']}/authz/resource-server"


def _bridge_permission(realm: RealmUnderTest) -> dict:
    base = _permission_server(realm)
    [found] = [p for p in realm.admin.get(f"{base}/permission")
               if p["name"] == "bridge-views-realm-management"]
    return {"id": found["id"],
            "resources": sorted(r["displayName"] for r in realm.admin.get(
                f"{base}/policy/{found['id']}/resources")),
            "scopes": [s["name"] for s in realm.admin.get(f"{base}/policy/{found['id']}/scopes")],
            "policies": [p["name"] for p in realm.admin.get(
                f"{base}/policy/{found['id']}/associatedPolicies")]}


def test_admin_permission_is_planned_applied_and_pruned(fresh_realm: RealmUnderTest,
                                                        tmp_path: Path) -> None:
    assert fresh_realm.admin.get(f"/{fresh_realm.name}")["adminPermissionsEnabled"] is True
    live = _bridge_permission(fresh_realm)
    assert {k: live[k] for k in ("resources", "scopes", "policies")} == {
        "resources": ["realm-management"], "scopes": ["view"],
        "policies": ["bridge-views-realm-management (grantee)"]}
    # Widened by hand to another client: the plan names the field, an apply narrows it back.
    base = _permission_server(fresh_realm)
    hr = fresh_realm.admin.get(f"/{fresh_realm.name}/clients", clientId="hr-system")[0]["id"]
    rm = fresh_realm.admin.get(f"/{fresh_realm.name}/clients",
                               clientId="realm-management")[0]["id"]
    policy = fresh_realm.admin.get(f"{base}/policy/{live['id']}/associatedPolicies")[0]["id"]
    fresh_realm.admin.put(f"{base}/permission/scope/{live['id']}", {
        "id": live["id"], "name": "bridge-views-realm-management", "type": "scope",
        "description": "The bridge reads who holds an admin role, to keep them out of SCIM",
        "resourceType": "Clients", "resources": [rm, hr], "scopes": ["view", "manage"],
        "policies": [policy], "decisionStrategy": "UNANIMOUS"})
    plan = fresh_realm.plan()
    assert [(c.kind, c.key, c.action, sorted(f.path for f in c.fields))
            for c in plan.changes] == [
        ("admin-permission", "bridge-views-realm-management", "update",
         ["resources", "scopes"])]
    fresh_realm.apply()
    assert fresh_realm.plan().empty
    assert _bridge_permission(fresh_realm)["resources"] == ["realm-management"]
    assert _bridge_permission(fresh_realm)["scopes"] == ["view"]
    # Deleted by hand: planned as a create (its policy, left behind, is reused).
    fresh_realm.admin.delete(f"{base}/policy/{live['id']}")
    plan = fresh_realm.plan()
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("admin-permission", "bridge-views-realm-management", "create")]
    fresh_realm.apply()
    assert fresh_realm.plan().empty
    assert _bridge_permission(fresh_realm)["policies"] == [
        "bridge-views-realm-management (grantee)"]
    # Removed from the configuration: deleted with its policy.
    config = _copy_config(tmp_path)
    _edit(config / "clients" / "bridge.yaml",
          lambda doc: doc["clients"][0].pop("serviceAccountPermissions"))
    plan = fresh_realm.plan(config)
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("admin-permission", "bridge-views-realm-management", "delete")]
    fresh_realm.apply(config)
    assert fresh_realm.plan(config).empty
    assert [p["name"] for p in fresh_realm.admin.get(f"{base}/policy")] == []


def test_export_carries_the_admin_permission(fresh_realm: RealmUnderTest,
                                             tmp_path: Path) -> None:
    out = tmp_path / "exported"
    result = _bridge(fresh_realm, "realm", "export", str(out), "--realm", fresh_realm.name)
    assert result.returncode == 0, result.stderr
    bridge_client = yaml.safe_load((out / "clients" / "bridge.yaml").read_text())["clients"][0]
    assert bridge_client["serviceAccountPermissions"] == [{
        "name": "bridge-views-realm-management",
        "description": "The bridge reads who holds an admin role, to keep them out of SCIM",
        "resourceType": "Clients", "scopes": ["view"], "resources": ["realm-management"]}]
    assert not (out / "clients" / "admin-permissions.yaml").exists()
    exported = yaml.safe_load((out / "clients" / "keycloak.yaml").read_text())["clients"]
    assert "admin-permissions" not in [c["clientId"] for c in exported]
    assert yaml.safe_load((out / "realm.yaml").read_text())["settings"][
        "adminPermissionsEnabled"] is True
