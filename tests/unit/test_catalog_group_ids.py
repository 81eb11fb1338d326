"""Cached ids of catalog groups are resolved again when Keycloak no longer knows them
(issue 10 #4): a group re-created by ``bridge realm apply`` works without a restart."""

from __future__ import annotations

import responses

from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import NotFound

KC = "http://kc.test"
ADMIN = f"{KC}/admin/realms/r"
PATH = "/bridge/catalog/profiles/auditor"


def _gateway() -> AdminGateway:
    responses.post(f"{KC}/realms/master/protocol/openid-connect/token",
                   json={"access_token": "t", "expires_in": 300, "refresh_token": "r",
                         "token_type": "Bearer"})
    return AdminGateway.with_password(KC, "admin", "pw")


@responses.activate
def test_a_stale_cached_group_id_is_resolved_again() -> None:
    gateway = _gateway()
    responses.get(f"{ADMIN}/users/u1/groups", json=[])
    stale = responses.put(f"{ADMIN}/users/u1/groups/old-id", status=404,
                          json={"error": "Could not find group by id"})
    lookup = responses.get(f"{ADMIN}/group-by-path/bridge/catalog/profiles/auditor",
                           json={"id": "new-id", "path": PATH})
    joined = responses.put(f"{ADMIN}/users/u1/groups/new-id", status=204)
    ids = {PATH: "old-id"}
    kc_users.set_groups_under(gateway, "r", "u1", "/bridge/catalog", {PATH}, ids)
    assert (stale.call_count, lookup.call_count, joined.call_count) == (1, 1, 1)
    assert ids == {PATH: "new-id"}


@responses.activate
def test_a_missing_user_is_not_retried_forever() -> None:
    gateway = _gateway()
    responses.get(f"{ADMIN}/users/gone/groups", json=[])
    put = responses.put(f"{ADMIN}/users/gone/groups/g-id", status=404,
                        json={"error": "User not found"})
    responses.get(f"{ADMIN}/group-by-path/bridge/catalog/profiles/auditor",
                  json={"id": "g-id", "path": PATH})
    ids = {PATH: "g-id"}
    try:
        kc_users.set_groups_under(gateway, "r", "gone", "/bridge/catalog", {PATH}, ids)
    except NotFound:
        pass
    else:
        raise AssertionError("a missing user must stay a NotFound")
    assert put.call_count == 1
