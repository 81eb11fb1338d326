"""The admin-call counter keys on route templates: its memory is bounded (issue 10 #10)."""

from __future__ import annotations

import uuid

from bridge.keycloak.client import MAX_KINDS, CallCounter, route_template


def test_ids_and_names_become_placeholders() -> None:
    uid, gid = str(uuid.uuid4()), str(uuid.uuid4())
    assert route_template(f"/my-realm/users/{uid}/groups/{gid}") == \
        "/{realm}/users/{id}/groups/{id}"
    assert route_template("/r/users/count?username=x") == "/{realm}/users/count"
    assert route_template(f"/r/groups/{gid}/children") == "/{realm}/groups/{id}/children"
    assert route_template("/r/group-by-path/bridge/catalog/profiles/x") == \
        "/{realm}/group-by-path/{path}"
    assert route_template("/r/clients/abc/roles/realm-admin") == \
        "/{realm}/clients/{id}/roles/{id}"
    assert route_template("/r/users/profile") == "/{realm}/users/profile"
    assert route_template("") == "/"
    assert route_template("/r") == "/{realm}"


def test_a_million_distinct_users_make_a_handful_of_keys() -> None:
    counter = CallCounter()
    for i in range(20_000):
        user = f"{i:08d}-{uuid.uuid4()}"
        counter.add("GET", f"/realm-{i % 7}/users/{user}")
        counter.add("GET", f"/realm-{i % 7}/users/{user}/groups")
        counter.add("PUT", f"/r/users/{user}/groups/g-{i}")
    assert counter.total == 60_000
    assert counter.by_kind == {"GET /{realm}/users/{id}": 20_000,
                               "GET /{realm}/users/{id}/groups": 20_000,
                               "PUT /{realm}/users/{id}/groups/{id}": 20_000}


def test_keys_are_capped_even_for_unknown_shapes() -> None:
    counter = CallCounter()
    for depth in range(1, 400):
        counter.add("GET", "/r" + "/x" * depth)
    assert len(counter.by_kind) <= MAX_KINDS + 1
    assert counter.total == 399
    assert counter.by_kind["GET (other)"] > 0
