"""Group membership over a real Keycloak: O(1) member changes, the managed tree, tenants."""

from __future__ import annotations

import logging

import pytest

from tests.integration.test_scim_support import (
    ACCESS,
    TENANT_A,
    TENANT_B,
    ScimOnKeycloak,
    assert_error,
    scim_env,
)

env = scim_env


def test_member_add_and_remove_cost_one_call_each(env: ScimOnKeycloak) -> None:
    users = [env.scim.create_user(f"member-{i}") for i in range(3)]
    group = env.scim.create_group("Ops", members=[{"value": users[0]["id"]}])
    gid = group["id"]
    env.gateway.calls.reset()
    # Okta sends the label it wants shown; members.display is readOnly, ignored, not stored
    added = env.scim.patch(f"/Groups/{gid}?excludedAttributes=members", [
        {"op": "add", "path": "members", "value": [{"value": users[1]["id"],
                                                     "display": "Okta's label"}]}])
    assert added.status_code == 200, added.get_json()
    assert env.gateway.calls.by_kind == {"PUT /{realm}/users/{id}/groups/{id}": 1} or \
        env.calls() == 1, env.gateway.calls.by_kind
    env.gateway.calls.reset()
    removed = env.scim.patch(f"/Groups/{gid}?excludedAttributes=members", [
        {"op": "remove", "path": f'members[value eq "{users[0]["id"]}"]'}])
    assert removed.status_code == 200
    assert env.calls() == 1, env.gateway.calls.by_kind
    members = env.scim.get(f"/Groups/{gid}").get_json()["members"]
    assert [m["value"] for m in members] == [users[1]["id"]]
    assert "display" not in members[0]  # returned on request only, and then computed:
    shown = env.scim.get(f"/Groups/{gid}?attributes=members.value,members.display").get_json()
    assert [(m["value"], m["display"]) for m in shown["members"]] == [(users[1]["id"], "member-1")]
    # replacing all members goes through a listing, as it must
    replaced = env.scim.patch(f"/Groups/{gid}", [
        {"op": "replace", "path": "members", "value": [{"value": users[2]["id"],
                                                         "display": "ignored"}]}])
    assert replaced.status_code == 200, replaced.get_json()
    assert [m["value"] for m in replaced.get_json()["members"]] == [users[2]["id"]]
    missing = env.scim.patch(f"/Groups/{gid}", [
        {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}])
    assert_error(missing, 400, "invalidValue")
    assert env.scim.get(f"/Users/{users[2]['id']}").get_json()["groups"][0]["value"] == gid


def test_groups_outside_the_managed_tree_are_refused_and_logged(
        env: ScimOnKeycloak, caplog: pytest.LogCaptureFixture) -> None:
    base = env.base
    roles = env.gateway.get(f"{base}/clients", clientId="realm-management")[0]
    admin_role = env.gateway.get(f"{base}/clients/{roles['id']}/roles/realm-admin")
    admins = env.gateway.post(f"{base}/groups", {"name": "admins"})
    env.gateway.post_json(f"{base}/groups/{admins}/role-mappings/clients/{roles['id']}",
                          [admin_role])
    technicians = env.gateway.get(f"{base}/group-by-path/bridge/technicians")["id"]
    root = env.gateway.get(f"{base}/group-by-path/bridge/scim")["id"]
    user = env.scim.create_user("would.be.admin")
    caplog.set_level(logging.WARNING, logger="bridge.provisioning.backend")
    for gid in (admins, technicians, root):
        assert_error(env.scim.get(f"/Groups/{gid}"), 404)
        patch = env.scim.patch(f"/Groups/{gid}", [
            {"op": "add", "path": "members", "value": [{"value": user["id"]}]}])
        assert_error(patch, 404)
        assert_error(env.scim.put(f"/Groups/{gid}", {"displayName": "x"}), 404)
        assert_error(env.scim.delete(f"/Groups/{gid}"), 404)
    assert env.gateway.get(f"{base}/users/{user['id']}/groups") == []
    assert env.gateway.get(f"{base}/groups/{admins}")["name"] == "admins"
    refusals = [r for r in caplog.records if "outside the managed tree" in r.getMessage()]
    assert refusals and all("test-client" in r.getMessage() for r in refusals)
    assert any(admins in r.getMessage() for r in refusals)
    listed = env.scim.get("/Groups").get_json()
    assert listed["totalResults"] == 0
    # a user who is also in a non-managed group does not show it over SCIM
    env.gateway.put(f"{base}/users/{user['id']}/groups/{technicians}")
    assert "groups" not in env.scim.get(f"/Users/{user['id']}").get_json()
    # bulk cannot sneak it in either
    bulk = env.scim.post("/Bulk", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [{"method": "PATCH", "path": f"/Groups/{admins}", "data": {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members",
                            "value": [{"value": user["id"]}]}]}}]})
    assert bulk.get_json()["Operations"][0]["status"] == "404"
    assert [g["id"] for g in env.gateway.get(f"{base}/users/{user['id']}/groups")] == [
        technicians]


def test_tenant_bound_clients_see_and_change_only_their_tenant(env: ScimOnKeycloak) -> None:
    a = env.scim.as_token(TENANT_A)
    b = env.scim.as_token(TENANT_B)
    alice = a.create_user("alice.tenant")
    assert alice[ACCESS]["tenants"] == ["tenant-a"]
    bob = b.create_user("bob.tenant")
    shared = env.scim.create_user("shared.user", **{
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACCESS],
        ACCESS: {"tenants": ["tenant-a", "tenant-b"]}})
    assert_error(a.post("/Users", {"userName": "sneaky", ACCESS: {"tenants": ["tenant-b"]},
                                   "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                                               ACCESS]}), 403)
    listed = {r["userName"] for r in a.get("/Users").get_json()["Resources"]}
    assert listed == {"alice.tenant", "shared.user"}
    assert a.get("/Users?filter=userName%20eq%20%22bob.tenant%22").get_json()[
        "totalResults"] == 0
    assert_error(a.get(f"/Users/{bob['id']}"), 404)
    assert_error(a.patch(f"/Users/{bob['id']}", [{"op": "replace", "value": {"active": False}}]),
                 404)
    assert_error(a.delete(f"/Users/{bob['id']}"), 404)
    assert env.scim.get(f"/Users/{bob['id']}").get_json().get("active", True) is True

    group_a = a.create_group("Team A", members=[{"value": alice["id"]}])
    assert env.gateway.get(f"{env.base}/groups/{group_a['id']}")["attributes"]["tenant"] == [
        "tenant-a"]
    assert_error(b.get(f"/Groups/{group_a['id']}"), 404)
    assert b.get("/Groups").get_json()["totalResults"] == 0
    assert_error(a.patch(f"/Groups/{group_a['id']}", [
        {"op": "add", "path": "members", "value": [{"value": bob["id"]}]}]), 400, "invalidValue")
    ok = a.patch(f"/Groups/{group_a['id']}", [
        {"op": "add", "path": "members", "value": [{"value": shared["id"]}]}])
    assert sorted(m["value"] for m in ok.get_json()["members"]) == sorted(
        [alice["id"], shared["id"]])
    assert [g["value"] for g in a.get(f"/Users/{shared['id']}").get_json()["groups"]] == [
        group_a["id"]]
    assert "groups" not in b.get(f"/Users/{shared['id']}").get_json()
