"""Entra-style and Okta-style provisioning cycles over a real Keycloak, replayed from the
request shapes of their public SCIM docs (fixtures in tests/unit/scim/samples/), with the
answers those docs expect — and what lands in Keycloak."""

from __future__ import annotations

from typing import Any

from tests.integration.test_scim_support import (
    ENTERPRISE,
    ScimOnKeycloak,
    assert_error,
    sample,
    scim_env,
)

env = scim_env


def send_patch(env: ScimOnKeycloak, path: str, body: dict[str, Any]) -> Any:
    return env.scim.call("PATCH", path, body)


def test_entra_provisioning_cycle(env: ScimOnKeycloak) -> None:
    created_user = sample("entra-create-user.json")
    lookup = env.scim.get(f'/Users?filter=userName eq "{created_user["userName"]}"')
    assert lookup.status_code == 200
    assert lookup.get_json()["totalResults"] == 0 and lookup.get_json()["Resources"] == []

    response = env.scim.post("/Users", created_user)
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert user["userName"] == created_user["userName"]
    assert user["active"] is True  # "True" read as a boolean
    assert user[ENTERPRISE]["manager"]["value"] == "7f8e9a6b-0000-4c1d-9d2e-aaaaaaaaaaaa"
    assert user[ENTERPRISE]["manager"]["$ref"].endswith(
        "/scim/v2/Users/7f8e9a6b-0000-4c1d-9d2e-aaaaaaaaaaaa")
    uid = user["id"]
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    assert rep["username"] == created_user["userName"].lower()
    assert rep["attributes"]["scim.userName"] == [created_user["userName"]]

    by_external = env.scim.get(f'/Users?filter=externalId eq "{created_user["externalId"]}"')
    assert [r["id"] for r in by_external.get_json()["Resources"]] == [uid]
    assert_error(env.scim.post("/Users", created_user), 409, "uniqueness")

    patched = send_patch(env, f"/Users/{uid}", sample("entra-patch-user-replace-attributes.json"))
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert body["displayName"] == "Ryan Leenay"
    assert body["name"]["familyName"] == "updatedFamilyName"
    assert body["emails"] == [
        {"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}]
    assert body[ENTERPRISE]["manager"]["value"] == "7f8e9a6b-0000-4c1d-9d2e-bbbbbbbbbbbb"
    assert env.gateway.get(f"{env.base}/users/{uid}")["email"] == "updatedemail@microsoft.com"

    dotted = send_patch(env, f"/Users/{uid}", sample("entra-patch-user-pathless-dotted.json"))
    assert dotted.status_code == 200, dotted.get_json()
    body = dotted.get_json()
    assert body["displayName"] == "Updated Name"
    assert body["name"]["givenName"] == "Updated"
    assert body["name"]["familyName"] == "updatedFamilyName"
    assert body[ENTERPRISE]["department"] == "Marketing"
    assert env.scim.get(f"/Users/{uid}").get_json() == {**body, "meta": body["meta"]}

    group_response = env.scim.post("/Groups", sample("entra-create-group.json"))
    assert group_response.status_code == 201, group_response.get_json()
    group = group_response.get_json()
    assert group["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group"]
    gid = group["id"]
    found = env.scim.get(
        f'/Groups?filter=displayName eq "{group["displayName"]}"&excludedAttributes=members')
    assert [g["id"] for g in found.get_json()["Resources"]] == [gid]

    added = send_patch(env, f"/Groups/{gid}",
                       sample("entra-patch-group-add-member.json", user_id=uid))
    assert added.status_code == 200, added.get_json()
    assert [m["value"] for m in added.get_json()["members"]] == [uid]
    assert [g["id"] for g in env.gateway.get(f"{env.base}/users/{uid}/groups")] == [gid]
    removed = send_patch(env, f"/Groups/{gid}",
                         sample("entra-patch-group-remove-member.json", user_id=uid))
    assert removed.status_code == 200, removed.get_json()
    assert "members" not in removed.get_json()

    disabled = send_patch(env, f"/Users/{uid}", sample("entra-patch-user-disable.json"))
    assert disabled.status_code == 200
    assert disabled.get_json()["active"] is False
    still_readable = env.scim.get(f"/Users/{uid}")
    assert still_readable.status_code == 200 and still_readable.get_json()["active"] is False
    assert env.gateway.get(f"{env.base}/users/{uid}")["enabled"] is False

    assert env.scim.delete(f"/Users/{uid}").status_code == 204
    assert_error(env.scim.get(f"/Users/{uid}"), 404)


def test_okta_provisioning_cycle(env: ScimOnKeycloak) -> None:
    created_user = sample("okta-create-user.json")
    lookup = env.scim.get(
        '/Users?filter=userName eq "test.user@example.com"&startIndex=1&count=100')
    assert lookup.status_code == 200
    assert lookup.get_json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}
    response = env.scim.post("/Users", created_user)
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert "password" not in user
    assert user["locale"] == "en-US"
    uid = user["id"]
    rep = env.gateway.get(f"{env.base}/users/{uid}")
    assert created_user["password"] not in str(rep)
    assert env.gateway.get(f"{env.base}/users/{uid}/credentials") == []
    assert rep["attributes"]["locale"] == ["en-US"]
    assert_error(env.scim.post("/Users", created_user), 409, "uniqueness")
    found = env.scim.get(
        '/Users?filter=userName eq "test.user@example.com"&startIndex=1&count=100')
    assert [r["id"] for r in found.get_json()["Resources"]] == [uid]

    put = env.scim.put(f"/Users/{uid}", sample("okta-put-user.json", user_id=uid))
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["name"] == {"givenName": "Another", "familyName": "User"}
    assert put.get_json()["displayName"] == "Another User"
    assert env.gateway.get(f"{env.base}/users/{uid}")["firstName"] == "Another"

    group = env.scim.post("/Groups", sample("okta-create-group.json")).get_json()
    gid = group["id"]
    renamed = send_patch(env, f"/Groups/{gid}",
                         sample("okta-patch-group-rename.json", group_id=gid))
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["displayName"] == "Test SCIMv2 renamed"
    assert env.gateway.get(f"{env.base}/groups/{gid}")["path"] == \
        "/bridge/scim/Test SCIMv2 renamed"
    members = send_patch(env, f"/Groups/{gid}",
                         sample("okta-patch-group-members.json", user_id=uid))
    assert members.status_code == 200, members.get_json()
    assert [m["value"] for m in members.get_json()["members"]] == [uid]
    removed = send_patch(env, f"/Groups/{gid}",
                         sample("okta-patch-group-remove-member.json", user_id=uid))
    assert removed.status_code == 200 and "members" not in removed.get_json()

    deactivated = send_patch(env, f"/Users/{uid}", sample("okta-patch-user-deactivate.json"))
    assert deactivated.status_code == 200
    assert deactivated.get_json()["active"] is False
    assert deactivated.get_json()["userName"] == "test.user@example.com"
    assert env.scim.get(f"/Users/{uid}").get_json()["active"] is False
