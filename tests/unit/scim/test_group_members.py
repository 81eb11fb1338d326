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

    user_model = backend.resources.user
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


# -- members.display: computed by the server, readOnly, returned on request ------------


def _ref(user_id: str) -> str:
    return f"http://localhost/scim/v2/Users/{user_id}"


def test_group_members_carry_no_display_unless_asked(scim: Scim) -> None:
    alice = scim.create_user("alice", displayName="Alice")["id"]
    bob = scim.create_user("bob")["id"]
    group = scim.create_group("G", [alice, bob])
    plain = [
        {"value": alice, "type": "User", "$ref": _ref(alice)},
        {"value": bob, "type": "User", "$ref": _ref(bob)},
    ]
    assert group["members"] == plain  # POST answer
    assert scim.get(f"/Groups/{group['id']}").get_json()["members"] == plain
    listed = scim.get("/Groups").get_json()["Resources"]
    assert listed[0]["members"] == plain
    # Naming the parent does not ask for a returned=request sub-attribute (scim2-models).
    assert scim.get(f"/Groups/{group['id']}?attributes=members").get_json()["members"] == plain

    # Asked for, display is the member's displayName, else its userName.
    shown = scim.get(f"/Groups/{group['id']}?attributes=members.display").get_json()
    assert shown["members"] == [{"display": "Alice"}, {"display": "bob"}]
    both = scim.get(f"/Groups/{group['id']}?attributes=members,members.display").get_json()
    assert both["members"] == [{**plain[0], "display": "Alice"}, {**plain[1], "display": "bob"}]
    searched = scim.post(
        "/Groups/.search",
        {"attributes": ["members.value", "members.display"], "filter": 'displayName eq "G"'},
    ).get_json()["Resources"]
    assert [(m["value"], m["display"]) for m in searched[0]["members"]] == [
        (alice, "Alice"),
        (bob, "bob"),
    ]
    # ... and follows the member, not what a client once sent.
    scim.patch(f"/Users/{bob}", [{"op": "add", "path": "displayName", "value": "Bob"}])
    shown = scim.get(f"/Groups/{group['id']}?attributes=members.display").get_json()
    assert shown["members"] == [{"display": "Alice"}, {"display": "Bob"}]


def test_nested_group_member_display_is_the_groups_name(scim: Scim) -> None:
    inner = scim.create_group("Inner")["id"]
    outer = scim.post(
        "/Groups",
        {"schemas": [GROUP_SCHEMA], "displayName": "Outer", "members": [{"value": inner}]},
    ).get_json()
    shown = scim.get(f"/Groups/{outer['id']}?attributes=members.type,members.display")
    assert shown.get_json()["members"] == [{"type": "Group", "display": "Inner"}]


def test_display_sent_by_a_client_is_ignored(scim: Scim) -> None:
    # Okta adds members as {"value": id, "display": "user@x"}, as RFC 7644 §3.5.2.1's own
    # example does; a readOnly value a client sends is ignored (RFC 7643 §2.2).
    a, b, c, d = (scim.create_user(name)["id"] for name in "abcd")
    created = scim.post(
        "/Groups?attributes=members.value,members.display",
        {"schemas": [GROUP_SCHEMA], "displayName": "G", "members": [{"value": a, "display": "X"}]},
    )
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["members"] == [{"value": a, "display": "a", "$ref": _ref(a)}]
    gid = created.get_json()["id"]

    added = scim.patch(
        f"/Groups/{gid}?attributes=members",
        [{"op": "add", "path": "members", "value": [{"value": b, "display": "X"}]}],
    )
    assert added.status_code == 200, added.get_json()
    assert added.get_json()["members"][1] == {"value": b, "type": "User", "$ref": _ref(b)}

    pathless = scim.patch(
        f"/Groups/{gid}?attributes=members.value,members.display",
        [{"op": "Add", "value": {"members": [{"value": c, "display": "X"}]}}],
    )
    assert pathless.status_code == 200, pathless.get_json()
    assert [m["display"] for m in pathless.get_json()["members"]] == ["a", "b", "c"]

    replaced = scim.patch(
        f"/Groups/{gid}?attributes=members.value,members.display",
        [
            {"op": "replace", "path": "members", "value": [{"value": d, "display": "X"}]},
            {"op": "add", "path": "members", "value": [{"value": a, "display": "Y"}]},
        ],
    )
    assert replaced.status_code == 200, replaced.get_json()
    assert [(m["value"], m["display"]) for m in replaced.get_json()["members"]] == [
        (d, "d"),
        (a, "a"),
    ]

    removed = scim.patch(  # Entra removes with a value array, display may come along
        f"/Groups/{gid}?attributes=members",
        [{"op": "Remove", "path": "members", "value": [{"value": d, "display": "X"}]}],
    )
    assert removed.status_code == 200, removed.get_json()
    assert [m["value"] for m in removed.get_json()["members"]] == [a]

    put = scim.put(
        f"/Groups/{gid}?attributes=members.value,members.display",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "G",
            "members": [{"value": a, "display": "X"}, {"value": b, "display": "Y"}],
        },
    )
    assert put.status_code == 200, put.get_json()
    assert [(m["value"], m["display"]) for m in put.get_json()["members"]] == [(a, "a"), (b, "b")]
    got = scim.get(f"/Groups/{gid}").get_json()["members"]
    assert got == [{"value": m, "type": "User", "$ref": _ref(m)} for m in (a, b)]


def test_changing_a_members_display_by_path_is_refused(scim: Scim) -> None:
    a = scim.create_user("a")["id"]
    group = scim.create_group("G", [a])
    path = f'members[value eq "{a}"].display'
    response = scim.patch(f"/Groups/{group['id']}", [{"op": "replace", "path": path, "value": "X"}])
    assert_error(response, 400, "mutability")
