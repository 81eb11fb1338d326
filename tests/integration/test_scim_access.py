"""Who may do what through SCIM, on the real Keycloak (issue 9 findings 1-4): what a
tenant-bound and an unbound SCIM client may assign, shared users, protected accounts, the
operator's lock on a disabled account."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from bridge.catalog.load import load as load_catalog
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from bridge.provisioning.catalog_access import CatalogAccess
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_scim_support import (
    USER_SCHEMA as CORE_USER,
)
from tests.integration.test_scim_support import (
    Scim,
    ScimOnKeycloak,
    assert_error,
    make_app,
    scim_env,
)
from tests.support.logs import audit_events

env = scim_env
EXAMPLES = REALM_CONFIG / "examples"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
HR = "hr-token"
ACME = "acme-token"
BAKERY = "bakery-token"


def _authenticate(header: str | None) -> Subject | None:
    return {f"Bearer {HR}": Subject("hr-system"),
            f"Bearer {ACME}": Subject("acme-idp", tenant="dossier-acme"),
            f"Bearer {BAKERY}": Subject("bakery-idp", tenant="dossier-bakery"),
            }.get(header or "")


def _catalog_scim(realm: RealmUnderTest, example: str) -> tuple[Scim, KeycloakScimBackend]:
    directory = EXAMPLES / example
    realm.apply([REALM_CONFIG, directory])
    backend = KeycloakScimBackend(realm.keycloak.admin(), realm.name,
                                  domain=CatalogAccess(load_catalog(directory)))
    app = Flask(__name__)
    app.register_blueprint(create_scim_blueprint(backend, _authenticate))
    return Scim(app.test_client(), HR), backend


def _user(name: str, **access: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
            "emails": [{"value": f"{name}@example.com", "primary": True}],
            ACCESS_SCHEMA: access}


def _client_user(name: str, *tenants: str, profile: str = "document-delivery") -> dict[str, Any]:
    return _user(name, userType="external", status="client-user", profile=profile,
                 tenants=list(tenants))


def _firm_staff(name: str) -> dict[str, Any]:
    return _user(name, userType="internal", status="firm-staff")


def _in_keycloak(realm: RealmUnderTest, user_name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = realm.admin.get(f"/{realm.name}/users", username=user_name,
                                                  exact="true")
    return found


def _refused(response: Any, rule: str) -> None:
    body = assert_error(response, 403)
    assert body["detail"].startswith(f"{rule}:"), body["detail"]


# -- finding 1: what a SCIM client may assign ---------------------------------------------

def test_bound_client_cannot_create_firm_staff(fresh_realm: RealmUnderTest) -> None:
    """Seed 004: the client bound to dossier-acme made a firm-staff user (internal,
    unrestricted), who could then invite administrators into every dossier."""
    hr, _ = _catalog_scim(fresh_realm, "004-accounting-portal")
    acme = hr.as_token(ACME)
    _refused(acme.post("/Users", _firm_staff("escaped.staff")), "scim-client.tenant-bound")
    assert _in_keycloak(fresh_realm, "escaped.staff") == []
    # With its tenant named, or with another tenant, still refused.
    staff_in_acme = _user("escaped.staff2", userType="internal", status="firm-staff",
                          tenants=["dossier-acme"])
    _refused(acme.post("/Users", staff_in_acme), "scim-client.tenant-bound")
    _refused(acme.post("/Users", _client_user("other.dossier", "dossier-bakery")),
             "scim-client.tenant")
    assert _in_keycloak(fresh_realm, "other.dossier") == []


def test_bound_client_provisions_its_own_client_users(fresh_realm: RealmUnderTest) -> None:
    hr, _ = _catalog_scim(fresh_realm, "004-accounting-portal")
    acme = hr.as_token(ACME)
    created = acme.post("/Users", _client_user("acme.admin", profile="administrator"))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()[ACCESS_SCHEMA]["tenants"] == ["dossier-acme"]
    uid = created.get_json()["id"]
    # ...but never turns one into firm staff, by PATCH, PUT or Bulk.
    patched = acme.patch(f"/Users/{uid}", [
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:status", "value": "firm-staff"},
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:userType", "value": "internal"},
        {"op": "remove", "path": f"{ACCESS_SCHEMA}:profile"}])
    _refused(patched, "scim-client.tenant-bound")
    _refused(acme.put(f"/Users/{uid}", _firm_staff("acme.admin")), "scim-client.tenant-bound")
    bulk = acme.post("/Bulk", {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "s1", "data": _firm_staff("bulk.staff")},
        {"method": "PUT", "path": f"/Users/{uid}", "data": _firm_staff("acme.admin")}]})
    assert bulk.status_code == 200, bulk.get_json()
    statuses = [op["status"] for op in bulk.get_json()["Operations"]]
    assert statuses == ["403", "403"], bulk.get_json()
    assert _in_keycloak(fresh_realm, "bulk.staff") == []
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{uid}")["attributes"]
    assert stored["status"] == ["client-user"]


def test_unbound_hr_client_keeps_the_catalog_rights(fresh_realm: RealmUnderTest) -> None:
    hr, _ = _catalog_scim(fresh_realm, "004-accounting-portal")
    staff = hr.post("/Users", _firm_staff("firm.collaborator"))
    assert staff.status_code == 201, staff.get_json()
    shared = hr.post("/Users", _client_user("two.dossiers", "dossier-acme", "dossier-bakery"))
    assert shared.status_code == 201, shared.get_json()
    # A rule violation is still the assignment rules' 400, not a 403.
    refused = hr.post("/Users", _user("bad.profile", userType="internal", status="firm-staff",
                                      profile="administrator"))
    assert_error(refused, 400, "invalidValue")


def test_bound_client_cannot_touch_firm_staff_in_its_dossier(
        fresh_realm: RealmUnderTest) -> None:
    """Firm staff an operator placed in dossier-acme is out of the acme client's reach: it
    could not have provisioned them, so it may not change them (an e-mail change then a
    password reset is a takeover)."""
    hr, _ = _catalog_scim(fresh_realm, "004-accounting-portal")
    staff = hr.post("/Users", _user("staff.in.acme", userType="internal", status="firm-staff",
                                    tenants=["dossier-acme"]))
    assert staff.status_code == 201, staff.get_json()
    uid = staff.get_json()["id"]
    acme = hr.as_token(ACME)
    assert acme.get(f"/Users/{uid}").status_code == 200  # visible: it is in the dossier
    _refused(acme.patch(f"/Users/{uid}", [
        {"op": "replace", "path": "emails", "value": [{"value": "attacker@example.com"}]}]),
        "scim-client.tenant-bound")
    _refused(acme.delete(f"/Users/{uid}"), "scim-client.tenant-bound")
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{uid}")
    assert stored["email"] == "staff.in.acme@example.com"


# -- finding 2: a user another tenant still holds -----------------------------------------

def test_bound_client_cannot_delete_or_deactivate_a_shared_user(
        fresh_realm: RealmUnderTest) -> None:
    hr, _ = _catalog_scim(fresh_realm, "004-accounting-portal")
    shared = hr.post("/Users", _client_user("shared.user", "dossier-acme", "dossier-bakery"))
    assert shared.status_code == 201, shared.get_json()
    uid = shared.get_json()["id"]
    acme = hr.as_token(ACME)
    _refused(acme.delete(f"/Users/{uid}"), "scim-client.shared-user")
    _refused(acme.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": False}}]),
             "scim-client.shared-user")
    # A PUT naming no tenant would have dropped dossier-bakery: refused as well.
    _refused(acme.put(f"/Users/{uid}", _client_user("shared.user")), "scim-client.shared-user")
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{uid}")
    assert stored["enabled"] is True
    assert sorted(stored["attributes"]["tenants"]) == ["dossier-acme", "dossier-bakery"]
    # Its own users it deletes; the unbound HR client deletes the shared one.
    own = acme.post("/Users", _client_user("acme.only"))
    assert own.status_code == 201, own.get_json()
    assert acme.delete(f"/Users/{own.get_json()['id']}").status_code == 204
    assert hr.delete(f"/Users/{uid}").status_code == 204


@pytest.mark.parametrize("example", ["000-field-services", "003-childcare-technician"])
def test_bound_client_assigns_nothing_where_no_rule_names_it(
        fresh_realm: RealmUnderTest, example: str) -> None:
    hr, _ = _catalog_scim(fresh_realm, example)
    # Even a restricted, external status: no rule names bound clients, so nothing.
    restricted = {"000-field-services": _user("any.user", userType="external", status="client"),
                  "003-childcare-technician": _user(
                      "any.user", userType="external", status="external-technician",
                      profile="external-technician")}[example]
    _refused(hr.as_token(ACME).post("/Users", restricted), "scim-client.not-allowed")
    assert _in_keycloak(fresh_realm, "any.user") == []


# -- finding 4: the operator's lock -------------------------------------------------------

def _operator_disables(env: ScimOnKeycloak, uid: str) -> None:
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    env.gateway.put(f"{env.base}/users/{uid}", {**rep, "enabled": False})


def test_leaving_active_out_never_changes_enabled(env: ScimOnKeycloak) -> None:
    user = env.scim.create_user("locked.user", active=True)
    uid = user["id"]
    _operator_disables(env, uid)
    put = env.scim.put(f"/Users/{uid}", {"schemas": [CORE_USER], "userName": "locked.user",
                                         "displayName": "Locked User"})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["active"] is False
    removed = env.scim.patch(f"/Users/{uid}", [{"op": "remove", "path": "active"}])
    assert removed.status_code == 200, removed.get_json()
    assert removed.get_json()["active"] is False
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is False


def test_scim_cannot_undo_an_operator_lock_and_is_audited(
        env: ScimOnKeycloak, caplog: pytest.LogCaptureFixture) -> None:
    uid = env.scim.create_user("operator.locked", active=True)["id"]
    _operator_disables(env, uid)
    # Only the two refused writes' lines: the create above is audited too, and is captured
    # whenever an earlier test of the session configured the bridge's logging.
    before = len(caplog.records)
    with caplog.at_level("INFO", logger="bridge.audit"):
        patched = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": True}}])
        put = env.scim.put(f"/Users/{uid}", {"schemas": [CORE_USER],
                                             "userName": "operator.locked", "active": True})
    for response in (patched, put):
        body = assert_error(response, 403)
        assert body["detail"].startswith("scim.operator-lock:"), body["detail"]
        assert "operator" in body["detail"]
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is False
    lines = audit_events(caplog.records[before:])
    assert [(line["action"], line["outcome"], line["target"]["id"], line["rule"])
            for line in lines] == [
        ("scim.user.patch", "refused", uid, "scim.operator-lock"),
        ("scim.user.replace", "refused", uid, "scim.operator-lock")], lines
    assert lines[0]["actor"] == lines[1]["actor"] == "scim:test-client"
    assert lines[0]["detail"].startswith("scim.operator-lock:")
    # Setting it false again is fine (and keeps it the operator's lock)...
    again = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": False}}])
    assert again.status_code == 200, again.get_json()
    assert assert_error(env.scim.patch(f"/Users/{uid}", [
        {"op": "replace", "value": {"active": True}}]), 403)
    # ...and once an operator re-enables it, SCIM manages it again.
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    env.gateway.put(f"{env.base}/users/{uid}", {**rep, "enabled": True})
    off = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": False}}])
    assert off.status_code == 200 and off.get_json()["active"] is False
    on = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": True}}])
    assert on.status_code == 200, on.get_json()
    assert on.get_json()["active"] is True


def test_a_user_scim_disabled_is_reenabled_by_scim(env: ScimOnKeycloak) -> None:
    uid = env.scim.create_user("soft.deleted", active=False)["id"]
    on = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "path": "active", "value": True}])
    assert on.status_code == 200, on.get_json()
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is True


# -- finding 3: protected accounts -------------------------------------------------------

def _service_account(env: ScimOnKeycloak, client_id: str = "bridge") -> dict[str, Any]:
    client = env.gateway.get(f"{env.base}/clients", clientId=client_id)[0]
    sa: dict[str, Any] = env.gateway.get(f"{env.base}/clients/{client['id']}/service-account-user")
    return sa


def _grant_admin_role(env: ScimOnKeycloak, uid: str, role: str = "manage-users") -> None:
    admin = env.gateway.get(f"{env.base}/clients", clientId="realm-management")[0]["id"]
    rep = env.gateway.get(f"{env.base}/clients/{admin}/roles/{role}")
    env.gateway.post(f"{env.base}/users/{uid}/role-mappings/clients/{admin}", [rep])


def _names(body: dict[str, Any]) -> list[str]:
    return [r["userName"] for r in body.get("Resources", [])]


def test_service_accounts_are_out_of_reach(env: ScimOnKeycloak) -> None:
    sa = _service_account(env)
    found = env.scim.get('/Users?filter=userName%20eq%20%22service-account-bridge%22')
    assert found.status_code == 200 and found.get_json()["totalResults"] == 0, found.get_json()
    assert_error(env.scim.get(f"/Users/{sa['id']}"), 404)
    by_id = env.scim.get(f'/Users?filter=id%20eq%20%22{sa["id"]}%22').get_json()
    assert by_id["totalResults"] == 0
    assert_error(env.scim.patch(f"/Users/{sa['id']}", [
        {"op": "replace", "value": {"active": False}}]), 404)
    assert_error(env.scim.put(f"/Users/{sa['id']}", {"schemas": [CORE_USER],
                                                      "userName": "service-account-bridge"}),
                 404)
    assert_error(env.scim.delete(f"/Users/{sa['id']}"), 404)
    bulk = env.scim.post("/Bulk", {"schemas": [BULK], "Operations": [
        {"method": "PATCH", "path": f"/Users/{sa['id']}", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}]}}]})
    assert [op["status"] for op in bulk.get_json()["Operations"]] == ["404"], bulk.get_json()
    assert env.gateway.get(f"{env.base}/users/{sa['id']}")["enabled"] is True
    # Nobody makes a user that looks like one either.
    assert_error(env.scim.post("/Users", {"schemas": [CORE_USER],
                                          "userName": "service-account-fake"}),
                 400, "invalidValue")


def test_administrators_are_out_of_reach(env: ScimOnKeycloak) -> None:
    users = {name: env.scim.create_user(name, emails=[
        {"value": f"{name}@example.com", "primary": True}])["id"]
        for name in ("a-one", "b-two", "c-admin", "d-four", "e-five")}
    admin = users["c-admin"]
    # The protected set is read now (warm), then the role is granted: reads may lag by the
    # cache's bound, but a write re-checks freshly and finds the administrator.
    env.backend.protected_cache_ttl = 3600
    assert env.scim.get(f"/Users/{admin}").status_code == 200
    _grant_admin_role(env, admin)
    takeover = env.scim.patch(f"/Users/{admin}", [
        {"op": "replace", "path": "emails", "value": [{"value": "attacker@example.com"}]}])
    assert_error(takeover, 404)
    assert_error(env.scim.patch(f"/Users/{admin}", [
        {"op": "replace", "value": {"active": False}}]), 404)
    assert_error(env.scim.delete(f"/Users/{admin}"), 404)
    stored = env.gateway.get(f"{env.base}/users/{admin}")
    assert stored["email"] == "c-admin@example.com" and stored["enabled"] is True
    # Once the protected set is read again, reads hide it everywhere.
    env.backend.protected_cache_ttl = 0
    assert_error(env.scim.get(f"/Users/{admin}"), 404)
    everyone = env.scim.get("/Users?count=100").get_json()
    assert "c-admin" not in _names(everyone)
    assert everyone["totalResults"] == len(_names(everyone)) == 4
    page = env.scim.get("/Users?startIndex=2&count=2").get_json()
    assert _names(page) == ["b-two", "d-four"] and page["totalResults"] == 4
    page = env.scim.get("/Users?startIndex=3&count=2").get_json()
    assert _names(page) == ["d-four", "e-five"]
    active = env.scim.get("/Users?filter=active%20eq%20true&startIndex=3&count=5").get_json()
    assert _names(active) == ["d-four", "e-five"] and active["totalResults"] == 4
    scanned = env.scim.get('/Users?filter=userName%20co%20%22-%22&sortBy=userName').get_json()
    assert _names(scanned) == ["a-one", "b-two", "d-four", "e-five"]
    assert env.scim.get('/Users?filter=userName%20eq%20%22c-admin%22').get_json()[
        "totalResults"] == 0
    # ...and group member lists; nor can a client add it to a group.
    group = env.scim.create_group("Team")
    env.gateway.put(f"{env.base}/users/{admin}/groups/{group['id']}")
    env.gateway.put(f"{env.base}/users/{users['a-one']}/groups/{group['id']}")
    members = env.scim.get(f"/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [users["a-one"]]
    other = env.scim.create_group("Other")
    assert_error(env.scim.patch(f"/Groups/{other['id']}", [
        {"op": "add", "path": "members", "value": [{"value": admin}]}]), 400, "invalidValue")


def test_administrators_through_a_group_or_a_composite_role(env: ScimOnKeycloak) -> None:
    via_group = env.scim.create_user("via.group")["id"]
    via_role = env.scim.create_user("via.role")["id"]
    admin_client = env.gateway.get(f"{env.base}/clients", clientId="realm-management")[0]["id"]
    realm_admin = env.gateway.get(f"{env.base}/clients/{admin_client}/roles/realm-admin")
    group = env.gateway.post(f"{env.base}/groups", {"name": "operators"})
    sub = env.gateway.post(f"{env.base}/groups/{group}/children", {"name": "night"})
    env.gateway.post(f"{env.base}/groups/{group}/role-mappings/clients/{admin_client}",
                     [realm_admin])
    env.gateway.put(f"{env.base}/users/{via_group}/groups/{sub}")
    env.gateway.post(f"{env.base}/roles", {"name": "ops-lead"})
    env.gateway.post(f"{env.base}/roles/ops-lead/composites", [
        env.gateway.get(f"{env.base}/clients/{admin_client}/roles/view-users")])
    lead = env.gateway.get(f"{env.base}/roles/ops-lead")
    env.gateway.post(f"{env.base}/users/{via_role}/role-mappings/realm", [lead])
    for uid in (via_group, via_role):
        assert_error(env.scim.get(f"/Users/{uid}"), 404)
        assert_error(env.scim.patch(f"/Users/{uid}", [
            {"op": "replace", "value": {"active": False}}]), 404)
    assert env.scim.get("/Users").get_json()["totalResults"] == 0


def test_holders_of_a_realm_admin_role_are_out_of_reach(env: ScimOnKeycloak) -> None:
    env.gateway.post(f"{env.base}/roles", {"name": "admin"})
    uid = env.scim.create_user("realm.admin")["id"]
    env.backend.protected_cache_ttl = 3600
    assert env.scim.get(f"/Users/{uid}").status_code == 200  # protected set read: no holder
    env.gateway.post(f"{env.base}/users/{uid}/role-mappings/realm",
                     [env.gateway.get(f"{env.base}/roles/admin")])
    assert_error(env.scim.patch(f"/Users/{uid}", [
        {"op": "replace", "value": {"active": False}}]), 404)  # the write re-checks
    env.backend.protected_cache_ttl = 0
    assert_error(env.scim.get(f"/Users/{uid}"), 404)
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is True


def _as_bridge(env: ScimOnKeycloak) -> AdminGateway:
    """An admin session as the bridge's own service account (what a replica runs with)."""
    return AdminGateway.with_client_credentials(
        env.realm.keycloak.url, env.realm.name, "bridge",
        env.realm.env["BRIDGE_CLIENT_SECRET"])


def _status(call: Any) -> int | None:
    try:
        call()
    except GatewayError as exc:
        return exc.status
    return 200


def test_the_bridge_reads_administrators_but_no_client_secret(env: ScimOnKeycloak) -> None:
    """Least privilege (issue 9 finding 3): the bridge's service account may read who holds a
    realm-management role, through one admin permission on that client alone, and no other
    client: never a secret (the view-clients role would show them all)."""
    bridge = _as_bridge(env)
    others = {c["clientId"]: c["id"] for c in env.gateway.get(f"{env.base}/clients")}
    assert env.gateway.get(f"{env.base}/clients/{others['hr-system']}/client-secret")["value"]
    for client_id in ("hr-system", "bridge", "portal", "admin-cli"):
        uuid = others[client_id]
        assert _status(lambda uuid=uuid: bridge.get(
            f"{env.base}/clients/{uuid}/client-secret")) == 403, client_id
        assert _status(lambda uuid=uuid: bridge.get(f"{env.base}/clients/{uuid}")) == 403
        assert bridge.get(f"{env.base}/clients", clientId=client_id) == []
    # The one client it may view carries no secret, and it may change nothing of it.
    [admin_client] = bridge.get(f"{env.base}/clients", clientId="realm-management")
    assert "secret" not in admin_client
    assert admin_client["access"] == {"view": True, "configure": False, "manage": False}
    assert _status(lambda: bridge.put(f"{env.base}/clients/{admin_client['id']}",
                                      {**admin_client, "description": "x"})) == 403

    # SCIM served with that session still hides administrators, however they hold the role.
    scim = Scim(make_app(KeycloakScimBackend(bridge, env.realm.name)).test_client())
    direct, via_group, via_role, plain = (scim.create_user(name)["id"] for name in (
        "direct.admin", "group.admin", "role.admin", "plain.user"))
    _grant_admin_role(env, direct)
    rm = env.gateway.get(f"{env.base}/clients", clientId="realm-management")[0]["id"]
    group = env.gateway.post(f"{env.base}/groups", {"name": "operators"})
    env.gateway.post(f"{env.base}/groups/{group}/role-mappings/clients/{rm}",
                     [env.gateway.get(f"{env.base}/clients/{rm}/roles/realm-admin")])
    env.gateway.put(f"{env.base}/users/{via_group}/groups/{group}")
    env.gateway.post(f"{env.base}/roles", {"name": "ops-lead"})
    env.gateway.post(f"{env.base}/roles/ops-lead/composites", [
        env.gateway.get(f"{env.base}/clients/{rm}/roles/view-users")])
    env.gateway.post(f"{env.base}/users/{via_role}/role-mappings/realm",
                     [env.gateway.get(f"{env.base}/roles/ops-lead")])
    for uid in (direct, via_group, via_role):
        assert_error(scim.get(f"/Users/{uid}"), 404)
        assert_error(scim.patch(f"/Users/{uid}", [
            {"op": "replace", "value": {"active": False}}]), 404)
        assert_error(scim.delete(f"/Users/{uid}"), 404)
        assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is True
    everyone = scim.get("/Users").get_json()
    assert _names(everyone) == ["plain.user"] and everyone["totalResults"] == 1
    assert scim.get(f"/Users/{plain}").status_code == 200


def test_a_new_administrator_is_hidden_by_the_background_read_before_the_bound(
        env: ScimOnKeycloak, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``REFRESH_AHEAD`` of the bound, a read answers from the set it has while the
    set is read again in the background; the next read hides the new administrator, with
    no request having waited for the ~50 calls of that read."""
    from bridge.provisioning import protected_accounts

    uid = env.scim.create_user("soon.admin")["id"]
    env.backend.protected_cache_ttl = 3600
    real = protected_accounts.time.monotonic
    offset = {"s": 0.0}
    monkeypatch.setattr(protected_accounts.time, "monotonic", lambda: real() + offset["s"])
    assert env.scim.get(f"/Users/{uid}").status_code == 200  # the set is read: no holder
    read_at = env.backend._protected[0]
    _grant_admin_role(env, uid)
    offset["s"] = 3600 * (protected_accounts.REFRESH_AHEAD + 0.1)  # past the refresh point
    assert env.scim.get(f"/Users/{uid}").status_code == 200  # answered from the set it has
    with env.backend._protected_lock:  # held by the background read until it is done
        pass
    assert env.backend._protected[0] > read_at
    assert_error(env.scim.get(f"/Users/{uid}"), 404)
    assert "soon.admin" not in _names(env.scim.get("/Users").get_json())
