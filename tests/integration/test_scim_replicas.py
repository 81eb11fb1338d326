"""Two bridge replicas (two ``create_app`` instances, each with its own gateway and caches)
on one real Keycloak, sharing PostgreSQL advisory locks (issue 10 #1-4, #7-8); plus one
replica alone on its in-process locks.

Stateless replicas: a cache never feeds a write (a rename through B survives a PATCH
through A), a group deleted through B is a 404 through A, a re-created managed root is
found again. Atomic preconditions: of N concurrent writers of one version exactly one
wins; concurrent PATCHes of different attributes all survive; case-variant concurrent
creates give one 201.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from bridge.app import create_app
from bridge.config import Settings
from bridge.local.postgres import LocalPostgres
from bridge.provisioning import KeycloakScimBackend
from tests.conftest import RealmUnderTest
from tests.integration.test_scim_support import (
    ENTERPRISE,
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    Scim,
    assert_error,
    authenticate,
)
from tests.support.concurrency import together


@dataclass
class Replica:
    app: Flask
    scim: Scim

    @property
    def backend(self) -> KeycloakScimBackend:
        backend: KeycloakScimBackend = self.app.extensions["bridge.scim_backend"]
        return backend


def _replica(realm: RealmUnderTest, lock_url: str | None) -> Replica:
    settings = Settings(keycloak_url=realm.keycloak.url, realm=realm.name, client_id="bridge",
                        client_secret=realm.env["BRIDGE_CLIENT_SECRET"], lock_url=lock_url,
                        lock_timeout=20.0)
    app = create_app(settings, authenticate=authenticate)
    return Replica(app, Scim(app.test_client()))


@pytest.fixture
def replicas(fresh_realm: RealmUnderTest,
             lock_server: LocalPostgres) -> tuple[Replica, Replica]:
    return _replica(fresh_realm, lock_server.dsn), _replica(fresh_realm, lock_server.dsn)


@pytest.fixture
def single(fresh_realm: RealmUnderTest) -> Replica:
    return _replica(fresh_realm, None)


def _patch(scim: Scim, path: str, operations: list[dict[str, Any]],
           **headers: str) -> Any:
    return scim.call("PATCH", path, {"schemas": [PATCH_OP], "Operations": operations},
                     **headers)


# -- stateless replicas (findings 1-4) ----------------------------------------------------


def test_a_rename_through_b_survives_a_patch_through_a(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    group = a.scim.create_group("Before")
    gid = group["id"]
    assert a.scim.get(f"/Groups/{gid}").status_code == 200  # A has read (and cached) it
    renamed = _patch(b.scim, f"/Groups/{gid}", [
        {"op": "replace", "path": "displayName", "value": "After"}])
    assert renamed.status_code == 200, renamed.get_json()
    patched = _patch(a.scim, f"/Groups/{gid}", [
        {"op": "replace", "path": "externalId", "value": "ext-1"}])
    assert patched.status_code == 200, patched.get_json()
    # finding 2: A's reply is not stale, and its ETag is the one B knows
    assert patched.get_json()["displayName"] == "After"
    seen_by_b = b.scim.get(f"/Groups/{gid}")
    assert seen_by_b.get_json()["displayName"] == "After"  # finding 1: not reverted
    assert seen_by_b.get_json()["externalId"] == "ext-1"
    assert patched.headers["ETag"] == seen_by_b.headers["ETag"]
    again = _patch(b.scim, f"/Groups/{gid}", [
        {"op": "replace", "path": "externalId", "value": "ext-2"}],
        **{"If-Match": patched.headers["ETag"]})
    assert again.status_code == 200, again.get_json()


def test_a_group_deleted_through_b_is_404_through_a(
        replicas: tuple[Replica, Replica]) -> None:
    a, b = replicas
    user = a.scim.create_user("ghost-member")
    group = a.scim.create_group("Ghost", members=[{"value": user["id"]}])
    gid = group["id"]
    other = a.scim.create_user("ghost-other")
    # A has it in its cache (a member PATCH uses the cache)
    warm = _patch(a.scim, f"/Groups/{gid}?excludedAttributes=members", [
        {"op": "add", "path": "members", "value": [{"value": other["id"]}]}])
    assert warm.status_code == 200, warm.get_json()
    assert b.scim.call("DELETE", f"/Groups/{gid}").status_code == 204
    removed = _patch(a.scim, f"/Groups/{gid}", [
        {"op": "remove", "path": f'members[value eq "{user["id"]}"]'}])
    assert_error(removed, 404)
    added = _patch(a.scim, f"/Groups/{gid}", [
        {"op": "add", "path": "members", "value": [{"value": user["id"]}]}])
    assert_error(added, 404)
    assert_error(a.scim.get(f"/Groups/{gid}"), 404)
    # a member that does not exist, in a group that does, is still a 400
    live = a.scim.create_group("Alive")
    missing = _patch(a.scim, f"/Groups/{live['id']}", [
        {"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}])
    assert_error(missing, 400, "invalidValue")


def test_a_recreated_managed_root_is_found_again_without_restart(
        fresh_realm: RealmUnderTest, replicas: tuple[Replica, Replica]) -> None:
    user = replicas[0].scim.create_user("root-member")
    for replica in replicas:  # both have resolved (and cached) the root
        assert replica.scim.get("/Groups").status_code == 200
        replica.scim.create_group(f"Before-{id(replica)}")
    root = fresh_realm.admin.get(f"/{fresh_realm.name}/group-by-path/bridge/scim")
    fresh_realm.admin.delete(f"/{fresh_realm.name}/groups/{root['id']}")
    fresh_realm.apply()  # `bridge realm apply` re-creates /bridge/scim
    assert fresh_realm.admin.get(
        f"/{fresh_realm.name}/group-by-path/bridge/scim")["id"] != root["id"]
    for n, replica in enumerate(replicas):
        listed = replica.scim.get("/Groups")
        assert listed.status_code == 200, listed.get_json()
        assert listed.get_json()["totalResults"] == n
        created = replica.scim.post("/Groups", {"schemas": [GROUP_SCHEMA],
                                                "displayName": f"After-{n}",
                                                "members": [{"value": user["id"]}]})
        assert created.status_code == 201, created.get_json()
    for replica in replicas:
        groups = replica.scim.get(f"/Users/{user['id']}").get_json()["groups"]
        assert sorted(g["display"] for g in groups) == ["After-0", "After-1"]


# -- atomic preconditions (finding 7) -----------------------------------------------------


def test_of_concurrent_if_match_puts_across_replicas_exactly_one_wins(
        replicas: tuple[Replica, Replica]) -> None:
    statuses: Counter[int] = Counter()
    for trial in range(5):
        user = replicas[0].scim.create_user(f"put-race-{trial}")
        etag = replicas[0].scim.get(f"/Users/{user['id']}").headers["ETag"]

        def put(n: int, uid: str = user["id"], name: str = user["userName"],
                tag: str = etag) -> int:
            body = {"schemas": [USER_SCHEMA], "userName": name, "displayName": f"writer {n}"}
            response = replicas[n % 2].scim.call("PUT", f"/Users/{uid}", body,
                                                 **{"If-Match": tag})
            return response.status_code

        results = together([lambda n=n: put(n) for n in range(6)])
        assert sorted(results) == [200, 412, 412, 412, 412, 412], (trial, results)
        statuses.update(results)
    print(f"concurrent If-Match PUTs, 5 trials x 6 writers over 2 replicas: {dict(statuses)}")


def test_of_20_concurrent_if_match_patches_one_wins_and_none_is_lost(
        replicas: tuple[Replica, Replica]) -> None:
    user = replicas[0].scim.create_user("patch-race")
    etag = replicas[0].scim.get(f"/Users/{user['id']}").headers["ETag"]

    def patch(n: int) -> Any:
        return _patch(replicas[n % 2].scim, f"/Users/{user['id']}", [
            {"op": "replace", "path": "displayName", "value": f"writer {n}"}],
            **{"If-Match": etag})

    results = together([lambda n=n: patch(n) for n in range(20)])
    codes = Counter(r.status_code for r in results)
    assert codes == {200: 1, 412: 19}, codes
    winner = next(r for r in results if r.status_code == 200)
    stored = replicas[1].scim.get(f"/Users/{user['id']}")
    assert stored.get_json()["displayName"] == winner.get_json()["displayName"]
    assert stored.headers["ETag"] == winner.headers["ETag"]
    print(f"20 concurrent If-Match PATCHes over 2 replicas: {dict(codes)}")


# twenty different attributes, each PATCHed by its own writer at the same moment
ATTRIBUTES: list[tuple[str, Any]] = [
    ("displayName", "Dee"), ("nickName", "dee"), ("title", "Engineer"),
    ("userType", "Employee"), ("preferredLanguage", "fr-FR"), ("locale", "fr"),
    ("timezone", "Europe/Paris"), ("profileUrl", "https://example.com/dee"),
    ("externalId", "hr-42"), ("name.givenName", "Dee"), ("name.familyName", "Doe"),
    ("name.middleName", "X"), ("name.honorificPrefix", "Dr"),
    ("name.honorificSuffix", "III"), ("name.formatted", "Dr Dee X Doe III"),
    (f"{ENTERPRISE}:employeeNumber", "42"), (f"{ENTERPRISE}:costCenter", "CC-1"),
    (f"{ENTERPRISE}:organization", "Org"), (f"{ENTERPRISE}:division", "Div"),
    (f"{ENTERPRISE}:department", "Dept"),
]


def _value(body: dict[str, Any], path: str) -> Any:
    if path.startswith(ENTERPRISE):
        return (body.get(ENTERPRISE) or {}).get(path.split(":")[-1])
    node: Any = body
    for part in path.split("."):
        node = (node or {}).get(part)
    return node


def _concurrent_different_attributes(replicas: tuple[Replica, ...], name: str) -> list[str]:
    user = replicas[0].scim.create_user(name)

    def patch(n: int) -> int:
        path, value = ATTRIBUTES[n]
        response = _patch(replicas[n % len(replicas)].scim, f"/Users/{user['id']}",
                          [{"op": "replace", "path": path, "value": value}])
        return response.status_code

    results = together([lambda n=n: patch(n) for n in range(len(ATTRIBUTES))])
    assert results == [200] * len(ATTRIBUTES), results
    stored = replicas[-1].scim.get(f"/Users/{user['id']}").get_json()
    return [path for path, value in ATTRIBUTES if _value(stored, path) != value]


def test_concurrent_patches_of_different_attributes_across_replicas_all_survive(
        replicas: tuple[Replica, Replica]) -> None:
    lost = _concurrent_different_attributes(replicas, "many-writers")
    assert lost == [], f"{len(lost)} of {len(ATTRIBUTES)} updates lost: {lost}"


def test_on_one_replica_in_process_locks_suffice(single: Replica) -> None:
    lost = _concurrent_different_attributes((single,), "one-replica")
    assert lost == [], f"{len(lost)} of {len(ATTRIBUTES)} updates lost: {lost}"
    user = single.scim.create_user("one-replica-put")
    etag = single.scim.get(f"/Users/{user['id']}").headers["ETag"]
    results = together([lambda n=n: _patch(single.scim, f"/Users/{user['id']}", [
        {"op": "replace", "path": "title", "value": f"t{n}"}], **{"If-Match": etag})
        for n in range(10)])
    assert Counter(r.status_code for r in results) == {200: 1, 412: 9}
    names = together([lambda n=n: single.scim.post("/Groups", {
        "schemas": [GROUP_SCHEMA], "displayName": ["Team-y", "team-y", "TEAM-Y"][n]})
        for n in range(3)])
    assert sorted(r.status_code for r in names) == [201, 409, 409]


# -- uniqueness (finding 8) ---------------------------------------------------------------


def test_case_variant_concurrent_creates_give_one_201(
        replicas: tuple[Replica, Replica]) -> None:
    for trial in range(5):
        names = [f"Team-{trial}", f"team-{trial}"]
        groups = together([lambda n=n, names=names: replicas[n % 2].scim.post("/Groups", {
            "schemas": [GROUP_SCHEMA], "displayName": names[n]}) for n in range(2)])
        codes = sorted(r.status_code for r in groups)
        assert codes == [201, 409], (trial, [r.get_json() for r in groups])
        assert_error(next(r for r in groups if r.status_code == 409), 409, "uniqueness")
        logins = [f"Pat-{trial}", f"pat-{trial}"]
        users = together([lambda n=n, logins=logins: replicas[n % 2].scim.post("/Users", {
            "schemas": [USER_SCHEMA], "userName": logins[n]}) for n in range(2)])
        assert sorted(r.status_code for r in users) == [201, 409], trial
    listed = replicas[0].scim.get("/Groups").get_json()
    assert listed["totalResults"] == 5


def test_group_writes_across_replicas_are_atomic_too(
        replicas: tuple[Replica, Replica]) -> None:
    group = replicas[0].scim.create_group("Atomic")
    gid = group["id"]
    etag = replicas[0].scim.get(f"/Groups/{gid}").headers["ETag"]
    results = together([lambda n=n: _patch(replicas[n % 2].scim, f"/Groups/{gid}", [
        {"op": "replace", "path": "externalId", "value": f"ext-{n}"}], **{"If-Match": etag})
        for n in range(6)])
    assert sorted(r.status_code for r in results) == [200, 412, 412, 412, 412, 412]
    # without If-Match, a rename and an externalId change at the same moment both survive
    both = together([
        lambda: _patch(replicas[0].scim, f"/Groups/{gid}", [
            {"op": "replace", "path": "displayName", "value": "Atomic-renamed"}]),
        lambda: _patch(replicas[1].scim, f"/Groups/{gid}", [
            {"op": "replace", "path": "externalId", "value": "ext-final"}])])
    assert [r.status_code for r in both] == [200, 200]
    stored = replicas[0].scim.get(f"/Groups/{gid}").get_json()
    assert (stored["displayName"], stored["externalId"]) == ("Atomic-renamed", "ext-final")
