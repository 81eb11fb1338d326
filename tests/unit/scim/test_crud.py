"""Each operation against the memory backend, as a SCIM client sees it."""

from typing import Any

import pytest
from scim_helpers import ACCESS, ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Scim, assert_error

pytestmark = pytest.mark.unit

FULL_USER: dict[str, Any] = {
    "schemas": [USER_SCHEMA, ENTERPRISE, ACCESS],
    "userName": "BJensen@Example.com",
    "externalId": "ext-1",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "displayName": "Babs",
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "phoneNumbers": [{"value": "+33 1 23 45 67 89", "type": "work"}],
    "preferredLanguage": "fr-FR",
    "locale": "fr-FR",
    "active": True,
    ENTERPRISE: {"employeeNumber": "701984", "department": "Tour Operations"},
    ACCESS: {
        "userType": "staff",
        "status": "active",
        "profile": "manager",
        "toggles": ["beta", "exports"],
        "perimeter": [
            {"dimension": "site", "value": "paris"},
            {"dimension": "region", "value": "idf"},
        ],
        "tenants": ["tenant-a", "tenant-b"],
    },
}


def test_create_user_round_trips_every_extension(scim: Scim) -> None:
    response = scim.post("/Users", FULL_USER)
    assert response.status_code == 201
    body = response.get_json()
    location = f"http://localhost/scim/v2/Users/{body['id']}"
    assert response.headers["Location"] == location
    assert response.headers["ETag"] == body["meta"]["version"]
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"] == location
    assert body["meta"]["created"] and body["meta"]["lastModified"]
    assert body["userName"] == "BJensen@Example.com"  # exactly as sent
    for key in (
        "externalId",
        "name",
        "displayName",
        "emails",
        "phoneNumbers",
        "preferredLanguage",
        "locale",
        "active",
        ENTERPRISE,
        ACCESS,
    ):
        assert body[key] == FULL_USER[key], key
    assert set(body["schemas"]) == {USER_SCHEMA, ENTERPRISE, ACCESS}
    fetched = scim.get(f"/Users/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.get_json() == body


def test_get_unknown_user_is_404(scim: Scim) -> None:
    assert_error(scim.get("/Users/does-not-exist"), 404)


def test_user_name_unique_case_insensitively(scim: Scim) -> None:
    scim.create_user("BJensen")
    assert_error(
        scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "bjensen"}), 409, "uniqueness"
    )
    other = scim.create_user("other")
    assert_error(
        scim.patch(
            f"/Users/{other['id']}", [{"op": "replace", "path": "userName", "value": "BJENSEN"}]
        ),
        409,
        "uniqueness",
    )


def test_put_replaces_and_keeps_read_only(scim: Scim) -> None:
    user = scim.post("/Users", FULL_USER).get_json()
    replacement = {
        "schemas": [USER_SCHEMA],
        "userName": "bjensen",
        "active": False,
        "name": {"givenName": "Barb"},
    }
    response = scim.put(f"/Users/{user['id']}", replacement)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == user["id"]
    assert body["userName"] == "bjensen"
    assert body["active"] is False
    assert body["name"] == {"givenName": "Barb"}
    assert "emails" not in body and ENTERPRISE not in body
    assert body["meta"]["created"] == user["meta"]["created"]
    assert body["meta"]["version"] != user["meta"]["version"]
    assert response.headers["ETag"] == body["meta"]["version"]


def test_put_unknown_is_404(scim: Scim) -> None:
    assert_error(scim.put("/Users/nope", {"schemas": [USER_SCHEMA], "userName": "x"}), 404)


def test_patch_answers_200_with_the_resource(scim: Scim) -> None:
    user = scim.create_user("alice", emails=[{"value": "a@example.com", "type": "work"}])
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "add", "path": "title", "value": "Engineer"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "alice@example.com"},
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "555", "type": "mobile"}]},
            {"op": "replace", "path": f"{ENTERPRISE}:department", "value": "R&D"},
            {"op": "add", "path": f"{ACCESS}:toggles", "value": ["beta"]},
        ],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "Engineer"
    assert body["emails"] == [{"value": "alice@example.com", "type": "work"}]
    assert body["phoneNumbers"] == [{"value": "555", "type": "mobile"}]
    assert body[ENTERPRISE] == {"department": "R&D"}
    assert body[ACCESS] == {"toggles": ["beta"]}
    assert response.headers["ETag"] == body["meta"]["version"] != user["meta"]["version"]
    # remove with a value filter, then a plain attribute
    response = scim.patch(
        f"/Users/{user['id']}",
        [
            {"op": "remove", "path": 'phoneNumbers[type eq "mobile"]'},
            {"op": "remove", "path": "title"},
        ],
    )
    body = response.get_json()
    assert response.status_code == 200
    assert "phoneNumbers" not in body and "title" not in body


def test_patch_that_changes_nothing_keeps_the_version(scim: Scim) -> None:
    user = scim.create_user("same", title="T")
    response = scim.patch(
        f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "T"}]
    )
    assert response.status_code == 200
    assert response.get_json()["meta"]["version"] == user["meta"]["version"]


def test_delete_then_gone(scim: Scim) -> None:
    user = scim.create_user("gone")
    group = scim.create_group("G", [user["id"]])
    response = scim.delete(f"/Users/{user['id']}")
    assert response.status_code == 204
    assert response.get_data() == b""
    assert_error(scim.get(f"/Users/{user['id']}"), 404)
    assert_error(scim.delete(f"/Users/{user['id']}"), 404)
    assert "members" not in scim.get(f"/Groups/{group['id']}").get_json()


def test_groups_crud_and_membership_is_read_only_on_user(scim: Scim) -> None:
    alice = scim.create_user("alice", displayName="Alice")
    group = scim.create_group("Admins", [alice["id"]])
    assert group["members"] == [  # display is returned on request only
        {
            "value": alice["id"],
            "type": "User",
            "$ref": f"http://localhost/scim/v2/Users/{alice['id']}",
        }
    ]
    user = scim.get(f"/Users/{alice['id']}").get_json()
    assert user["groups"] == [
        {
            "value": group["id"],
            "display": "Admins",
            "type": "direct",
            "$ref": f"http://localhost/scim/v2/Groups/{group['id']}",
        }
    ]
    assert_error(
        scim.patch(
            f"/Users/{alice['id']}", [{"op": "add", "path": "groups", "value": [{"value": "x"}]}]
        ),
        400,
        "mutability",
    )
    renamed = scim.put(
        f"/Groups/{group['id']}", {"schemas": [GROUP_SCHEMA], "displayName": "Administrators"}
    )
    assert renamed.status_code == 200
    assert renamed.get_json()["displayName"] == "Administrators"
    assert "members" not in renamed.get_json()
    assert scim.delete(f"/Groups/{group['id']}").status_code == 204
    assert "groups" not in scim.get(f"/Users/{alice['id']}").get_json()


def test_group_display_name_unique(scim: Scim) -> None:
    scim.create_group("Sales")
    assert_error(
        scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "SALES"}), 409, "uniqueness"
    )


def test_group_with_unknown_member_is_refused(scim: Scim) -> None:
    body = {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": "ghost"}]}
    assert_error(scim.post("/Groups", body), 400, "invalidValue")


def test_if_none_match_gives_304(scim: Scim) -> None:
    user = scim.create_user("cached")
    response = scim.get(f"/Users/{user['id']}", **{"If-None-Match": user["meta"]["version"]})
    assert response.status_code == 304
    assert response.headers["ETag"] == user["meta"]["version"]


def test_tenant_bound_client_sees_only_its_tenant(app: Any, scim: Scim) -> None:
    from scim_helpers import TENANT_TOKEN

    tenant = Scim(app.test_client(), {"Authorization": f"Bearer {TENANT_TOKEN}"})
    outsider = scim.create_user("outsider")
    mine = tenant.create_user("insider")
    assert mine[ACCESS]["tenants"] == ["tenant-a"]
    listed = tenant.get("/Users").get_json()
    assert [u["userName"] for u in listed["Resources"]] == ["insider"]
    assert listed["totalResults"] == 1
    assert_error(tenant.get(f"/Users/{outsider['id']}"), 404)
    assert_error(tenant.delete(f"/Users/{outsider['id']}"), 404)
    foreign = {"schemas": [USER_SCHEMA, ACCESS], "userName": "x", ACCESS: {"tenants": ["t-b"]}}
    assert_error(tenant.post("/Users", foreign), 403)
    assert scim.get("/Users").get_json()["totalResults"] == 2
