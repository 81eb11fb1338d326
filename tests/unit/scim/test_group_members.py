"""Group membership PATCH costs O(1) per member, without loading the group's members."""

from typing import Any

import pytest
from scim_helpers import GROUP_SCHEMA, Scim, assert_error

from scim.backend import Kind, MemberChanges, Subject, split_member_operations
from scim.memory import MemoryBackend
from scim.resources import POLICY, ScimGroup
from scim.settings import ScimSettings

pytestmark = pytest.mark.unit

SUBJECT = Subject("direct")


def patch_op(operations: list[dict[str, Any]]) -> Any:
    from scim2_models import Context, PatchOp

    return PatchOp[ScimGroup].model_validate(
        {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations},
        scim_ctx=Context.RESOURCE_PATCH_REQUEST,
        scim_policy=POLICY,
    )


def test_split_recognises_member_add_and_remove() -> None:
    changes, rest = split_member_operations(
        patch_op(
            [
                {"op": "add", "path": "members", "value": [{"value": "a"}, {"value": "b"}]},
                {"op": "remove", "path": 'members[value eq "b"]'},
                {"op": "remove", "path": 'members[value eq "c" or value eq "d"]'},
                {"op": "replace", "path": "displayName", "value": "New"},
            ]
        )
    )
    assert [m.value for m in changes.add] == ["a"]
    assert changes.remove == ("b", "c", "d")
    assert [str(op.path) for op in rest] == ["displayName"]


def test_split_gives_up_when_other_operations_touch_members() -> None:
    operations = [
        {"op": "add", "path": "members", "value": [{"value": "a"}]},
        {"op": "replace", "path": "members", "value": [{"value": "z"}]},
    ]
    changes, rest = split_member_operations(patch_op(operations))
    assert changes == MemberChanges() and not changes
    assert len(rest) == 2


@pytest.fixture
def settings() -> ScimSettings:
    return ScimSettings(group_patch_returns_members=False)


def test_member_patch_on_a_10000_member_group_is_o1(scim: Scim, backend: MemoryBackend) -> None:
    # build the big group straight in the backend (10,000 users through HTTP is slow)
    from scim2_models import Context

    user_model = Kind.USER.model
    ids = [
        backend.create(
            SUBJECT,
            Kind.USER,
            user_model.model_validate(
                {"userName": f"u{i}"}, scim_ctx=Context.RESOURCE_CREATION_REQUEST
            ),
        ).id
        for i in range(10_001)
    ]
    group = backend.create(
        SUBJECT,
        Kind.GROUP,
        ScimGroup.model_validate(
            {"displayName": "Everyone", "members": [{"value": i} for i in ids[:10_000]]},
            scim_ctx=Context.RESOURCE_CREATION_REQUEST,
        ),
    )
    backend.calls.clear()
    loads = backend.member_loads

    added = scim.patch(
        f"/Groups/{group.id}", [{"op": "add", "path": "members", "value": [{"value": ids[10_000]}]}]
    )
    assert added.status_code == 200
    assert added.get_json()["displayName"] == "Everyone"
    assert "members" not in added.get_json()  # group_patch_returns_members=False
    removed = scim.patch(
        f"/Groups/{group.id}", [{"op": "Remove", "path": "members", "value": [{"value": ids[0]}]}]
    )
    assert removed.status_code == 200

    assert backend.member_loads == loads  # the member list was never materialised
    assert dict(backend.calls) == {"patch": 2}  # one backend call per PATCH
    listed = scim.get(f"/Groups/{group.id}").get_json()["members"]
    assert len(listed) == 10_000
    assert {m["value"] for m in listed} == set(ids[1:])


def test_replace_members_and_rename_in_one_patch(scim: Scim) -> None:
    a, b, c = (scim.create_user(n)["id"] for n in "abc")
    group = scim.create_group("G", [a, b])
    response = scim.patch(
        f"/Groups/{group['id']}?attributes=displayName,members",
        [
            {"op": "replace", "path": "members", "value": [{"value": c}]},
            {"op": "replace", "path": "displayName", "value": "H"},
        ],
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["displayName"] == "H"
    assert [m["value"] for m in body["members"]] == [c]
    removed_all = scim.patch(
        f"/Groups/{group['id']}?attributes=members", [{"op": "remove", "path": "members"}]
    )
    assert "members" not in removed_all.get_json()


def test_member_patch_refuses_unknown_members_atomically(scim: Scim) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("G")
    response = scim.patch(
        f"/Groups/{group['id']}",
        [
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": a}, {"value": "ghost"}]},
        ],
    )
    assert_error(response, 400, "invalidValue")
    after = scim.get(f"/Groups/{group['id']}?attributes=displayName,members").get_json()
    assert after["displayName"] == "G" and "members" not in after


def test_nested_group_member(scim: Scim) -> None:
    inner = scim.create_group("Inner")
    outer = scim.post(
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Outer",
            "members": [{"value": inner["id"], "type": "Group"}],
        },
    )
    member = outer.get_json()["members"][0]
    assert member["type"] == "Group"
    assert member["$ref"] == f"http://localhost/scim/v2/Groups/{inner['id']}"
