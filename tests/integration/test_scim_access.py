"""Who may do what through SCIM, on the real Keycloak (issue 9 findings 1-4): what a
tenant-bound and an unbound SCIM client may assign, shared users, protected accounts, the
operator's lock on a disabled account."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from bridge.catalog.load import load as load_catalog
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.catalog_access import CatalogAccess
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint
from scim.resources import ACCESS_SCHEMA, USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_scim_support import (
    USER_SCHEMA as CORE_USER,
)
from tests.integration.test_scim_support import (
    Scim,
    ScimOnKeycloak,
    assert_error,
    scim_env,
)

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
    with caplog.at_level("INFO", logger="bridge.audit"):
        patched = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": True}}])
        put = env.scim.put(f"/Users/{uid}", {"schemas": [CORE_USER],
                                             "userName": "operator.locked", "active": True})
    for response in (patched, put):
        body = assert_error(response, 403)
        assert body["detail"].startswith("scim.operator-lock:"), body["detail"]
        assert "operator" in body["detail"]
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is False
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "bridge.audit"]
    assert [(line["action"], line["outcome"], line["target"]["id"]) for line in lines] == [
        ("scim.user.reactivate", "refused", uid)] * 2, lines
    assert lines[0]["actor"] == "scim:test-client"
    assert lines[0]["code"] == "scim.operator-lock"
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
