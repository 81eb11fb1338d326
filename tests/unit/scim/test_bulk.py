"""/Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, enforced limits."""

import json
from typing import Any

import pytest
from scim_helpers import AUTH, BASE, GROUP_SCHEMA, USER_SCHEMA, Scim, assert_error, sample

from scim.settings import ScimSettings

pytestmark = pytest.mark.unit

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


@pytest.fixture
def settings() -> ScimSettings:
    return ScimSettings(bulk_max_operations=5, bulk_max_payload_size=4096)


def post_user(bulk_id: str, user_name: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER_SCHEMA], "userName": user_name},
    }


def test_bulk_resolves_bulk_ids_in_members_and_paths(scim: Scim) -> None:
    response = scim.post("/Bulk", sample("rfc7644-3.7.2-bulk-with-bulkid-references.json"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["schemas"] == [BULK_RESPONSE]
    group_op, user_op, patch_op = body["Operations"]
    assert (group_op["method"], group_op["bulkId"], group_op["status"]) == ("POST", "ytrewq", "201")
    assert (user_op["method"], user_op["bulkId"], user_op["status"]) == ("POST", "qwerty", "201")
    assert patch_op["status"] == "200"
    user_id = user_op["location"].rsplit("/", 1)[1]
    assert user_op["location"] == f"http://localhost/scim/v2/Users/{user_id}"
    assert patch_op["location"] == user_op["location"]
    group = scim.client.get(group_op["location"], headers=AUTH).get_json()
    assert [m["value"] for m in group["members"]] == [user_id]
    user = scim.get(f"/Users/{user_id}").get_json()
    assert user["title"] == "Guide"
    assert group_op["version"] == group["meta"]["version"]


def test_bulk_reports_each_failure_and_continues(scim: Scim) -> None:
    existing = scim.create_user("taken")
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                post_user("a", "TAKEN"),
                post_user("b", "fresh"),
                {"method": "DELETE", "path": f"/Users/{existing['id']}"},
                {
                    "method": "PATCH",
                    "path": "/Users/bulkId:nope",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "title", "value": "x"}],
                    },
                },
            ],
        },
    )
    assert response.status_code == 200
    ops = response.get_json()["Operations"]
    assert ops[0]["status"] == "409"
    assert ops[0]["response"]["scimType"] == "uniqueness"
    assert ops[1]["status"] == "201"
    assert ops[2] == {
        "method": "DELETE",
        "status": "204",
        "location": f"http://localhost/scim/v2/Users/{existing['id']}",
    }
    assert ops[3]["status"] == "409"
    assert scim.get('/Users?filter=userName eq "fresh"').get_json()["totalResults"] == 1


def test_fail_on_errors_stops_processing(scim: Scim) -> None:
    scim.create_user("dup")
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "failOnErrors": 1,
            "Operations": [
                post_user("a", "dup"),
                post_user("b", "never"),
            ],
        },
    )
    ops = response.get_json()["Operations"]
    assert len(ops) == 1 and ops[0]["status"] == "409"
    assert scim.get('/Users?filter=userName eq "never"').get_json()["totalResults"] == 0


def test_version_in_a_bulk_operation_is_if_match(scim: Scim) -> None:
    user = scim.create_user("v")
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {
                    "method": "PUT",
                    "path": f"/Users/{user['id']}",
                    "version": 'W/"stale"',
                    "data": {"schemas": [USER_SCHEMA], "userName": "v2"},
                },
            ],
        },
    )
    assert response.get_json()["Operations"][0]["status"] == "412"


def test_circular_bulk_ids_fail_with_409(scim: Scim) -> None:
    group = {"schemas": [GROUP_SCHEMA], "displayName": "A", "members": [{"value": "bulkId:b"}]}
    other = {"schemas": [GROUP_SCHEMA], "displayName": "B", "members": [{"value": "bulkId:a"}]}
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {"method": "POST", "path": "/Groups", "bulkId": "a", "data": group},
                {"method": "POST", "path": "/Groups", "bulkId": "b", "data": other},
            ],
        },
    )
    assert [op["status"] for op in response.get_json()["Operations"]] == ["409", "409"]
    assert scim.get("/Groups").get_json()["totalResults"] == 0


def test_too_many_operations_is_413_too_many(scim: Scim) -> None:
    body = {"schemas": [BULK], "Operations": [post_user(str(i), f"u{i}") for i in range(6)]}
    assert_error(scim.post("/Bulk", body), 413, "tooMany")
    assert scim.get("/Users").get_json()["totalResults"] == 0


def test_payload_too_large_is_413(scim: Scim) -> None:
    body = {
        "schemas": [BULK],
        "Operations": [
            {**post_user("a", "x"), "data": {"schemas": [USER_SCHEMA], "userName": "x" * 5000}}
        ],
    }
    raw = json.dumps(body)
    response = scim.client.post(
        f"{BASE}/Bulk", headers=AUTH, data=raw, content_type="application/scim+json"
    )
    error = assert_error(response, 413)
    assert "4096" in error["detail"]


def test_bulk_operation_errors_are_validated(scim: Scim) -> None:
    response = scim.post(
        "/Bulk",
        {
            "schemas": [BULK],
            "Operations": [
                {"method": "POST", "path": "/Users", "data": {"userName": "nobulkid"}},
                {"method": "GET", "path": "/Users"},
                {"method": "POST", "path": "/Pets", "bulkId": "p", "data": {}},
            ],
        },
    )
    statuses = [
        (op["status"], op["response"]["scimType"]) for op in response.get_json()["Operations"]
    ]
    assert statuses == [("400", "invalidValue")] * 3
    assert_error(scim.post("/Bulk", {"schemas": [BULK]}), 400, "invalidSyntax")
