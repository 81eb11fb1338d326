"""Entra-style and Okta-style provisioning cycles, replayed from the request shapes of
their public SCIM docs (fixtures in samples/), with the answers those docs expect."""

import json
from typing import Any

import pytest
from scim_helpers import ENTERPRISE, SAMPLES, Scim, assert_error

from scim.memory import MemoryBackend

pytestmark = pytest.mark.unit


def fixture(name: str, **ids: str) -> Any:
    text = (SAMPLES / name).read_text()
    for key, value in ids.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


def send_patch(scim: Scim, path: str, body: dict[str, Any]) -> Any:
    return scim._call("PATCH", path, body)


def test_entra_provisioning_cycle(scim: Scim, backend: MemoryBackend) -> None:
    # lookup before create: Entra filters on userName with eq; an empty list means absent
    created_user = fixture("entra-create-user.json")
    lookup = scim.get(f'/Users?filter=userName eq "{created_user["userName"]}"')
    assert lookup.status_code == 200
    assert lookup.get_json()["totalResults"] == 0 and lookup.get_json()["Resources"] == []

    response = scim.post("/Users", created_user)
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert user["userName"] == created_user["userName"]
    assert user["active"] is True  # "True" string read as a boolean
    assert user[ENTERPRISE]["manager"]["value"] == "7f8e9a6b-0000-4c1d-9d2e-aaaaaaaaaaaa"
    assert user[ENTERPRISE]["manager"]["$ref"].endswith(
        "/scim/v2/Users/7f8e9a6b-0000-4c1d-9d2e-aaaaaaaaaaaa"
    )
    uid = user["id"]

    by_external = scim.get(f'/Users?filter=externalId eq "{created_user["externalId"]}"')
    assert [r["id"] for r in by_external.get_json()["Resources"]] == [uid]

    duplicate = scim.post("/Users", created_user)
    assert_error(duplicate, 409, "uniqueness")

    patched = send_patch(scim, f"/Users/{uid}", fixture("entra-patch-user-replace-attributes.json"))
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert body["displayName"] == "Ryan Leenay"
    assert body["name"]["familyName"] == "updatedFamilyName"
    assert body["emails"] == [
        {"primary": True, "type": "work", "value": "updatedEmail@microsoft.com"}
    ]
    assert body[ENTERPRISE]["manager"]["value"] == "7f8e9a6b-0000-4c1d-9d2e-bbbbbbbbbbbb"

    dotted = send_patch(scim, f"/Users/{uid}", fixture("entra-patch-user-pathless-dotted.json"))
    assert dotted.status_code == 200, dotted.get_json()
    body = dotted.get_json()
    assert body["displayName"] == "Updated Name"
    assert body["name"]["givenName"] == "Updated"
    assert body["name"]["familyName"] == "updatedFamilyName"  # untouched
    assert body[ENTERPRISE]["department"] == "Marketing"

    group_response = scim.post("/Groups", fixture("entra-create-group.json"))
    assert group_response.status_code == 201, group_response.get_json()
    group = group_response.get_json()
    assert group["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Group"]
    gid = group["id"]
    found = scim.get('/Groups?filter=displayName eq "displayName"&excludedAttributes=members')
    assert [g["id"] for g in found.get_json()["Resources"]] == [gid]

    added = send_patch(
        scim, f"/Groups/{gid}", fixture("entra-patch-group-add-member.json", user_id=uid)
    )
    assert added.status_code == 200, added.get_json()
    assert [m["value"] for m in added.get_json()["members"]] == [uid]
    removed = send_patch(
        scim, f"/Groups/{gid}", fixture("entra-patch-group-remove-member.json", user_id=uid)
    )
    assert removed.status_code == 200, removed.get_json()
    assert "members" not in removed.get_json()

    disabled = send_patch(scim, f"/Users/{uid}", fixture("entra-patch-user-disable.json"))
    assert disabled.status_code == 200
    assert disabled.get_json()["active"] is False
    still_readable = scim.get(f"/Users/{uid}")  # soft delete: the user stays readable
    assert still_readable.status_code == 200 and still_readable.get_json()["active"] is False

    assert scim.delete(f"/Users/{uid}").status_code == 204
    assert_error(scim.get(f"/Users/{uid}"), 404)


def test_okta_provisioning_cycle(scim: Scim) -> None:
    created_user = fixture("okta-create-user.json")
    # Okta checks existence with exactly this query before creating
    lookup = scim.get('/Users?filter=userName eq "test.user@example.com"&startIndex=1&count=100')
    assert lookup.status_code == 200
    assert lookup.get_json() == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }
    response = scim.post("/Users", created_user)
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert "password" not in user  # write-only (RFC 7643 §4.1.1)
    uid = user["id"]
    assert_error(scim.post("/Users", created_user), 409, "uniqueness")
    found = scim.get('/Users?filter=userName eq "test.user@example.com"&startIndex=1&count=100')
    assert [r["id"] for r in found.get_json()["Resources"]] == [uid]

    put = scim.put(f"/Users/{uid}", fixture("okta-put-user.json", user_id=uid))
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["name"] == {"givenName": "Another", "familyName": "User"}
    assert put.get_json()["displayName"] == "Another User"

    group = scim.post("/Groups", fixture("okta-create-group.json")).get_json()
    gid = group["id"]
    renamed = send_patch(
        scim, f"/Groups/{gid}", fixture("okta-patch-group-rename.json", group_id=gid)
    )
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["displayName"] == "Test SCIMv2 renamed"
    members = send_patch(
        scim, f"/Groups/{gid}", fixture("okta-patch-group-members.json", user_id=uid)
    )
    assert members.status_code == 200, members.get_json()
    assert [m["value"] for m in members.get_json()["members"]] == [uid]
    removed = send_patch(
        scim, f"/Groups/{gid}", fixture("okta-patch-group-remove-member.json", user_id=uid)
    )
    assert removed.status_code == 200 and "members" not in removed.get_json()

    deactivated = send_patch(scim, f"/Users/{uid}", fixture("okta-patch-user-deactivate.json"))
    assert deactivated.status_code == 200
    assert deactivated.get_json()["active"] is False
    assert deactivated.get_json()["userName"] == "test.user@example.com"


def test_okta_id_in_patch_value_must_be_the_target(scim: Scim) -> None:
    group = scim.create_group("G")
    body = fixture("okta-patch-group-rename.json", group_id="someone-else")
    assert_error(send_patch(scim, f"/Groups/{group['id']}", body), 400, "mutability")
