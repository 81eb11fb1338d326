"""SCIM Users and Groups over a real Keycloak: CRUD, mapping, ETags, uniqueness."""

from __future__ import annotations

from tests.integration.test_scim_support import (
    ACCESS,
    ENTERPRISE,
    USER_SCHEMA,
    ScimOnKeycloak,
    assert_error,
    scim_env,
)
from tests.support.login import Browserless

env = scim_env

FULL_USER = {
    "schemas": [USER_SCHEMA, ENTERPRISE, ACCESS],
    "userName": "Barbara.Jensen@Example.com",
    "externalId": "ext-BJ-01",
    "name": {"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane",
             "formatted": "Ms. Barbara J Jensen III"},
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "preferredLanguage": "fr",
    "locale": "fr-FR",
    "timezone": "Europe/Paris",
    "active": True,
    "emails": [{"value": "Barbara.Jensen@example.com", "type": "work", "primary": True},
               {"value": "babs@home.example", "type": "home"}],
    "phoneNumbers": [{"value": "+33 1 23 45 67 89", "type": "work"}],
    "addresses": [{"locality": "Paris", "country": "FR", "type": "work"}],
    ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations",
                 "costCenter": "4130",
                 "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
    ACCESS: {"userType": "staff", "status": "active", "profile": "agent",
             "toggles": ["beta", "reports"],
             "perimeter": [{"dimension": "site", "value": "paris"},
                           {"dimension": "project", "value": "p:42"}],
             "tenants": ["acme"]},
    "password": "never-stored-Secret-123",
}


def test_create_get_round_trip_and_keycloak_mapping(env: ScimOnKeycloak) -> None:
    created = env.scim.post("/Users", FULL_USER)
    assert created.status_code == 201, created.get_json()
    user = created.get_json()
    uid = user["id"]
    assert created.headers["ETag"] == user["meta"]["version"]
    assert created.headers["Location"].endswith(f"/scim/v2/Users/{uid}")
    for key in ("userName", "externalId", "name", "displayName", "title", "preferredLanguage",
                "locale", "timezone", "emails", "phoneNumbers", "addresses", ACCESS):
        assert user[key] == FULL_USER[key], key
    assert user[ENTERPRISE]["department"] == "Tour Operations"
    assert user[ENTERPRISE]["manager"]["value"] == "26118915-6090-4610-87e4-49d8ca9f808d"
    assert "password" not in user
    assert user["meta"]["resourceType"] == "User" and user["meta"]["created"]

    got = env.scim.get(f"/Users/{uid}")
    assert got.status_code == 200
    assert got.get_json() == user
    assert got.headers["ETag"] == created.headers["ETag"]

    rep = env.gateway.get(f"{env.base}/users/{uid}")
    assert rep["username"] == "barbara.jensen@example.com"
    assert rep["email"] == "barbara.jensen@example.com"
    assert rep["firstName"] == "Barbara" and rep["lastName"] == "Jensen"
    assert rep["enabled"] is True
    attributes = rep["attributes"]
    assert attributes["scim.userName"] == ["Barbara.Jensen@Example.com"]
    assert attributes["scim.externalId"] == ["ext-BJ-01"]
    assert attributes["locale"] == ["fr"]
    assert attributes["access.toggles"] == ["beta", "reports"]
    assert attributes["access.tenants"] == ["acme"]
    assert sorted(attributes["access.perimeter"]) == ["project:p:42", "site:paris"]
    assert attributes["enterprise.department"] == ["Tour Operations"]
    assert "never-stored" not in str(rep)
    credentials = env.gateway.get(f"{env.base}/users/{uid}/credentials")
    assert credentials == []


def test_user_name_unique_case_insensitively(env: ScimOnKeycloak) -> None:
    env.scim.create_user("Alice.Smith")
    assert_error(env.scim.post("/Users", {"schemas": [USER_SCHEMA],
                                          "userName": "alice.SMITH"}), 409, "uniqueness")


def test_put_replaces_and_keeps_foreign_attributes(env: ScimOnKeycloak) -> None:
    user = env.scim.post("/Users", FULL_USER).get_json()
    uid = user["id"]
    # an attribute someone else (the catalog, an admin) set survives a SCIM PUT
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    rep["attributes"]["portal.theme"] = ["dark"]
    env.gateway.put(f"{env.base}/users/{uid}", rep)
    replaced = env.scim.put(f"/Users/{uid}", {
        "schemas": [USER_SCHEMA], "userName": "Barbara.Jensen@Example.com",
        "name": {"givenName": "Babs"}, "active": True})
    assert replaced.status_code == 200, replaced.get_json()
    body = replaced.get_json()
    assert body["name"] == {"givenName": "Babs"}
    assert "emails" not in body and "externalId" not in body and ACCESS not in body
    assert env.scim.get(f"/Users/{uid}").get_json() == body
    attributes = env.gateway.get(f"{env.base}/users/{uid}")["attributes"]
    assert attributes["portal.theme"] == ["dark"]
    assert "access.tenants" not in attributes and "scim.externalId" not in attributes


def test_etag_if_match_and_412(env: ScimOnKeycloak) -> None:
    user = env.scim.create_user("etag.user", displayName="E")
    uid, version = user["id"], user["meta"]["version"]
    assert env.scim.get(f"/Users/{uid}", **{"If-None-Match": version}).status_code == 304
    ok = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "path": "displayName",
                                           "value": "E2"}], **{"If-Match": version})
    assert ok.status_code == 200, ok.get_json()
    new_version = ok.headers["ETag"]
    assert new_version != version
    assert env.scim.get(f"/Users/{uid}").headers["ETag"] == new_version
    stale = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "path": "displayName",
                                              "value": "E3"}], **{"If-Match": version})
    assert_error(stale, 412)
    assert_error(env.scim.delete(f"/Users/{uid}", **{"If-Match": version}), 412)
    # an administrator's change in Keycloak changes the version too
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    env.gateway.put(f"{env.base}/users/{uid}", {**rep, "firstName": "Admin"})
    assert env.scim.get(f"/Users/{uid}").headers["ETag"] != new_version
    assert env.scim.delete(f"/Users/{uid}", **{"If-Match": "*"}).status_code == 204
    assert_error(env.scim.get(f"/Users/{uid}"), 404)


def test_deactivate_keeps_user_readable_and_ends_sessions(env: ScimOnKeycloak) -> None:
    import requests

    user = env.scim.create_user("session.user", active=True,
                                name={"givenName": "Session", "familyName": "User"},
                                emails=[{"value": "session.user@example.com", "primary": True}])
    uid = user["id"]
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    env.gateway.put(f"{env.base}/users/{uid}", {**rep, "requiredActions": [],
                                               "emailVerified": True})
    env.gateway.put(f"{env.base}/users/{uid}/reset-password",
                    {"type": "password", "value": "A-long-enough-pass-1", "temporary": False})
    # Signed in through the portal, as a person (no client of the realm takes a password).
    token = Browserless().sign_in(env.realm.issuer, "session.user", "A-long-enough-pass-1")
    assert len(env.gateway.get(f"{env.base}/users/{uid}/sessions")) == 1
    assert env.scim.get(f"/Users/{uid}").status_code == 200  # steady state: caches warm
    env.gateway.calls.reset()
    response = env.scim.patch(f"/Users/{uid}", [{"op": "replace", "value": {"active": False}}])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["active"] is False
    # GET, the fresh re-check that the user holds no admin role (issue 9), PUT.
    assert env.calls() <= 3, env.gateway.calls.by_kind
    assert env.gateway.calls.by_kind == {
        "GET /{realm}/users/{id}": 1,
        "GET /{realm}/users/{id}/role-mappings/clients/{id}/composite": 1,
        "PUT /{realm}/users/{id}": 1}, env.gateway.calls.by_kind
    refresh = requests.post(f"{env.realm.issuer}/protocol/openid-connect/token", data={
        "grant_type": "refresh_token", "client_id": token.client_id,
        "refresh_token": token.refresh_token}, timeout=30)
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    userinfo = requests.get(f"{env.realm.issuer}/protocol/openid-connect/userinfo",
                            headers={"Authorization": f"Bearer {token.access_token}"},
                            timeout=30)
    assert userinfo.status_code in (401, 403)
    assert env.scim.get(f"/Users/{uid}").get_json()["active"] is False
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is False


def test_groups_crud_and_unique_display_name(env: ScimOnKeycloak) -> None:
    alice = env.scim.create_user("alice.g")
    group = env.scim.create_group("Sales", externalId="g-1",
                                  members=[{"value": alice["id"]}])
    gid = group["id"]
    assert [m["value"] for m in group["members"]] == [alice["id"]]
    assert group["meta"]["version"] and group["meta"]["created"]
    kc_group = env.gateway.get(f"{env.base}/groups/{gid}")
    assert kc_group["path"] == "/bridge/scim/Sales"
    assert_error(env.scim.post("/Groups", {"displayName": "SALES"}), 409, "uniqueness")
    got = env.scim.get(f"/Groups/{gid}").get_json()
    assert got["displayName"] == "Sales" and got["externalId"] == "g-1"
    assert got["members"] == [{"value": alice["id"], "type": "User",
                               "$ref": f"http://localhost/scim/v2/Users/{alice['id']}"}]
    shown = env.scim.get(f"/Groups/{gid}?attributes=members.display").get_json()
    assert shown["members"] == [{"display": "alice.g"}]  # returned on request only
    assert env.scim.get(f"/Users/{alice['id']}").get_json()["groups"][0]["value"] == gid
    renamed = env.scim.put(f"/Groups/{gid}", {"displayName": "Sales EU", "members": []})
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["displayName"] == "Sales EU"
    assert "members" not in renamed.get_json()
    assert env.scim.delete(f"/Groups/{gid}").status_code == 204
    assert_error(env.scim.get(f"/Groups/{gid}"), 404)


def test_bad_input_is_a_scim_error_never_a_500(env: ScimOnKeycloak) -> None:
    assert_error(env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "a b"}), 400,
                 "invalidValue")
    assert_error(env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "x",
                                          "emails": [{"value": "not an email"}]}), 400)
    assert_error(env.scim.get("/Users/..%2F..%2Fmaster"), 404)
    assert_error(env.scim.get("/Users/does-not-exist"), 404)
    assert_error(env.scim.get('/Users?filter=userName eq "x" and'), 400, "invalidFilter")
