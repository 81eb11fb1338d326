"""Issue 10's findings replayed on the production shape: two bridge replicas under gunicorn
(``a`` on Keycloak node 1, ``b`` on node 2), a clustered Keycloak on PostgreSQL, nginx in
front. Each test says what an operator running N replicas must be able to count on.

The tests run in file order: the managed-root test deletes every SCIM group, and the node
kill comes last.
"""

from __future__ import annotations

import base64
import concurrent.futures
import functools
import json
import threading
import time
import uuid
from collections import Counter
from typing import Any

import requests

from tests.cluster.conftest import FIGURES, REALM, Cluster, ScimHttp

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_user(scim: ScimHttp, user_name: str | None = None) -> dict[str, Any]:
    name = user_name or unique("user")
    response = scim.post("/Users", {"schemas": [USER], "userName": name, "active": True,
                                    "name": {"givenName": "Ada", "familyName": "Lovelace"},
                                    "emails": [{"value": f"{name}@example.com",
                                                "primary": True}]})
    assert response.status_code == 201, response.text
    return dict(response.json())


def create_group(scim: ScimHttp, name: str | None = None, members: list[str] = ()
                 ) -> dict[str, Any]:  # type: ignore[assignment]
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": name or unique("g"),
                                     "members": [{"value": m} for m in members]})
    assert response.status_code == 201, response.text
    return dict(response.json())


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"], body
    return dict(body)


def together(*calls: Any) -> list[requests.Response]:
    """Send the calls at the same moment (released by one barrier), in threads."""
    barrier = threading.Barrier(len(calls))

    def run(call: Any) -> requests.Response:
        barrier.wait(timeout=30)
        return call()

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(run, c) for c in calls]]


def test_the_keycloak_nodes_form_one_cluster(cluster: Cluster) -> None:
    views = [node.cluster_view() for node in cluster.nodes]
    assert [len(v) for v in views] == [2, 2], views
    assert sorted(views[0]) == sorted(views[1])
    for replica in cluster.replicas:
        assert requests.get(f"{replica.url}/readyz", timeout=10).status_code == 200


def test_balancer_shares_requests_between_both_replicas(cluster: Cluster) -> None:
    lb = cluster.through_balancer()
    served = Counter(cluster.upstream_of(lb.get("/Users?count=1")) for _ in range(6))
    assert set(served) == {r.address for r in cluster.replicas}, served


# -- findings 1 and 2: caches never feed a write nor a reply -------------------------------

def test_rename_on_b_is_not_reverted_by_a_patch_on_a(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    for trial in range(3):
        group = create_group(a, unique(f"rename{trial}"))
        gid = group["id"]
        assert a.get(f"/Groups/{gid}").status_code == 200  # replica a has seen it
        renamed = unique(f"renamed{trial}")
        on_b = b.patch(f"/Groups/{gid}", [{"op": "replace", "path": "displayName",
                                           "value": renamed}])
        assert on_b.status_code in (200, 204), on_b.text

        on_a = a.patch(f"/Groups/{gid}", [{"op": "replace", "path": "externalId",
                                           "value": f"ext-{trial}"}])
        assert on_a.status_code == 200, on_a.text
        # Finding 2: the reply is the group as it now is, with its current version.
        assert on_a.json()["displayName"] == renamed
        assert on_a.json()["externalId"] == f"ext-{trial}"
        etag = on_a.headers["ETag"]
        assert etag == on_a.json()["meta"]["version"]

        # Finding 1: b reads the new name, and the externalId written through a.
        read = b.get(f"/Groups/{gid}").json()
        assert (read["displayName"], read["externalId"]) == (renamed, f"ext-{trial}")
        assert read["meta"]["version"] == etag
        # The version a answered is the current one on b too.
        again = b.patch(f"/Groups/{gid}", [{"op": "replace", "path": "externalId",
                                            "value": f"ext-{trial}-b"}], **{"If-Match": etag})
        assert again.status_code == 200, again.text


def test_user_change_on_b_is_not_reverted_by_a_patch_on_a(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    user = create_user(a)
    uid = user["id"]
    assert a.get(f"/Users/{uid}").status_code == 200
    on_b = b.patch(f"/Users/{uid}", [{"op": "replace", "path": "displayName",
                                      "value": "Changed On B"}])
    assert on_b.status_code == 200, on_b.text
    on_a = a.patch(f"/Users/{uid}", [{"op": "replace", "path": "title", "value": "Engineer"}])
    assert on_a.status_code == 200, on_a.text
    assert (on_a.json()["displayName"], on_a.json()["title"]) == ("Changed On B", "Engineer")
    read = b.get(f"/Users/{uid}").json()
    assert (read["displayName"], read["title"]) == ("Changed On B", "Engineer")


# -- finding 3: a group deleted anywhere is 404 everywhere ---------------------------------

def test_group_deleted_on_b_is_404_on_a(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    member, other = create_user(a), create_user(a)
    group = create_group(a, members=[member["id"]])
    gid = group["id"]
    assert a.get(f"/Groups/{gid}").status_code == 200
    assert b.delete(f"/Groups/{gid}").status_code == 204

    removal = a.patch(f"/Groups/{gid}", [{"op": "remove",
                                          "path": f'members[value eq "{member["id"]}"]'}])
    addition = a.patch(f"/Groups/{gid}", [{"op": "add", "path": "members",
                                           "value": [{"value": other["id"]}]}])
    replace = a.put(f"/Groups/{gid}", {"schemas": [GROUP], "displayName": group["displayName"]})
    read = a.get(f"/Groups/{gid}")
    for response in (removal, addition, replace, read):
        assert response.status_code == 404, (response.request.method, response.text)
        assert error_of(response)["status"] == "404"


# -- finding 6: the issuer is not tied to KEYCLOAK_URL --------------------------------------

def test_tokens_from_either_node_are_accepted_by_either_replica(cluster: Cluster) -> None:
    tokens = [source.fresh() for source in cluster.tokens]
    issuers = {json.loads(base64.urlsafe_b64decode(t.split(".")[1] + "=="))["iss"]
               for t in tokens}
    assert len(issuers) == 2  # each node writes its own URL (no --hostname)
    outcomes = {(scim.name, node): _accepted(scim, token)
                for scim in (cluster.scim(0), cluster.scim(1))
                for node, token in enumerate(tokens, start=1)}
    assert set(outcomes.values()) == {200}, outcomes


# -- finding 5: signing keys rotate ---------------------------------------------------------

def _kid(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def _accepted(scim: ScimHttp, token: str) -> int:
    return scim.get("/Users?count=1", token=token).status_code


def test_signing_key_rotation_is_followed_by_every_replica(cluster: Cluster) -> None:
    admin = cluster.admin()
    # Each replica with tokens of its own node: the issuer is finding 6's test.
    replicas = [cluster.scim(0), cluster.scim(1)]
    old_tokens = [source.fresh() for source in cluster.tokens]
    assert [_accepted(s, t) for s, t in zip(replicas, old_tokens, strict=True)] == [200, 200]

    realm_id = admin.get(f"/{REALM}")["id"]
    old_providers = [c for c in admin.get(f"/{REALM}/components",
                                          type="org.keycloak.keys.KeyProvider")
                     if c["providerId"] == "rsa-generated"]
    admin.post(f"/{REALM}/components", {
        "name": unique("rsa-rotated"), "providerId": "rsa-generated",
        "providerType": "org.keycloak.keys.KeyProvider", "parentId": realm_id,
        "config": {"priority": ["1000"], "keySize": ["2048"], "algorithm": ["RS256"],
                   "active": ["true"], "enabled": ["true"]}})
    for provider in old_providers:  # the old key is removed, not only demoted
        admin.delete(f"/{REALM}/components/{provider['id']}")
    for source in cluster.tokens:  # the next tests' tokens are signed with the new key
        source.forget()

    new_tokens = [source.fresh() for source in cluster.tokens]
    assert _kid(new_tokens[0]) != _kid(old_tokens[0])
    assert _kid(new_tokens[0]) == _kid(new_tokens[1])  # both nodes sign with the new key
    # A token signed with the new key is accepted at once: its unknown kid makes the
    # replica fetch the realm's keys again.
    for scim, token in zip(replicas, new_tokens, strict=True):
        assert _accepted(scim, token) == 200, (scim.name, "new key refused")
    # The removed key no longer signs anything a replica accepts (Keycloak's
    # introspection calls such a token inactive).
    for node, token in zip(cluster.nodes, old_tokens, strict=True):
        introspection = requests.post(
            f"{node.url}/realms/{REALM}/protocol/openid-connect/token/introspect",
            data={"token": token, "client_id": "bridge",
                  "client_secret": cluster.secrets["BRIDGE_CLIENT_SECRET"]}, timeout=30)
        assert introspection.json()["active"] is False
    for scim, token in zip(replicas, old_tokens, strict=True):
        assert _accepted(scim, token) == 401, (scim.name, "removed key still accepted")


# -- finding 7: preconditions are atomic, on one replica and across replicas ----------------

def _put_body(user: dict[str, Any], display: str) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user["userName"], "displayName": display,
            "active": True, "name": user["name"], "emails": user["emails"]}


def test_concurrent_if_match_puts_give_exactly_one_200(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    outcomes: Counter[int] = Counter()
    for trial in range(10):
        first, second = (a, b) if trial % 2 else (a, a)  # across replicas, then one
        user = create_user(a)
        path = f"/Users/{user['id']}"
        etag = a.get(path).headers["ETag"]
        answers = together(
            functools.partial(first.put, path, _put_body(user, "First"), **{"If-Match": etag}),
            functools.partial(second.put, path, _put_body(user, "Second"),
                              **{"If-Match": etag}))
        statuses = sorted(r.status_code for r in answers)
        outcomes.update(statuses)
        assert statuses == [200, 412], (trial, [r.text for r in answers])
        winner = next(r for r in answers if r.status_code == 200).json()["displayName"]
        assert b.get(path).json()["displayName"] == winner
    FIGURES["If-Match PUT pairs (10 trials)"] = dict(outcomes)


def test_concurrent_if_match_patches_one_wins_the_rest_412(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    user = create_user(a)
    path = f"/Users/{user['id']}"
    etag = a.get(path).headers["ETag"]
    answers = together(*[
        functools.partial((a if i % 2 else b).patch, path,
                          [{"op": "replace", "path": "nickName", "value": f"nick-{i}"}],
                          **{"If-Match": etag})
        for i in range(20)])
    statuses = Counter(r.status_code for r in answers)
    FIGURES["If-Match PATCHes (20 at once)"] = dict(statuses)
    assert statuses == {200: 1, 412: 19}, statuses
    winner = next(r for r in answers if r.status_code == 200).json()["nickName"]
    assert a.get(path).json()["nickName"] == winner


# Twenty different attributes of one user, each PATCHed by its own concurrent request.
DIFFERENT_ATTRIBUTES: list[tuple[str, Any]] = [
    ("name.givenName", "Grace"), ("name.familyName", "Hopper"),
    ("name.middleName", "Brewster"), ("name.honorificPrefix", "Rear Admiral"),
    ("name.honorificSuffix", "PhD"), ("name.formatted", "Grace B. Hopper"),
    ("displayName", "Amazing Grace"), ("nickName", "Grandma COBOL"),
    ("profileUrl", "https://example.test/grace"), ("title", "Rear Admiral"),
    ("userType", "Employee"), ("preferredLanguage", "en-US"),
    ("timezone", "America/New_York"), ("externalId", "ext-grace"),
    (f"{ENTERPRISE}:employeeNumber", "1906"), (f"{ENTERPRISE}:costCenter", "CC-7"),
    (f"{ENTERPRISE}:organization", "US Navy"), (f"{ENTERPRISE}:division", "Computing"),
    (f"{ENTERPRISE}:department", "Programming"),
    ("phoneNumbers", [{"value": "+1-555-0100", "type": "work"}]),
]


def _read_path(body: dict[str, Any], path: str) -> Any:
    if path.startswith(ENTERPRISE + ":"):
        return (body.get(ENTERPRISE) or {}).get(path.rpartition(":")[2])
    head, _, rest = path.partition(".")
    value = body.get(head)
    return (value or {}).get(rest) if rest else value


def test_concurrent_patches_of_different_attributes_all_survive(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    user = create_user(a)
    path = f"/Users/{user['id']}"
    answers = together(*[
        functools.partial((a if i % 2 else b).patch, path,
                          [{"op": "replace", "path": attr, "value": value}])
        for i, (attr, value) in enumerate(DIFFERENT_ATTRIBUTES)])
    statuses = Counter(r.status_code for r in answers)
    FIGURES["PATCHes of 20 different attributes (no If-Match)"] = dict(statuses)
    assert statuses == {200: 20}, [r.text for r in answers if r.status_code != 200]
    final = b.get(path).json()
    lost = [attr for attr, value in DIFFERENT_ATTRIBUTES
            if (_read_path(final, attr) if attr != "phoneNumbers"
                else [{k: p.get(k) for k in ("value", "type")}
                      for p in final.get("phoneNumbers", [])]) != value]
    FIGURES["PATCHed attributes lost"] = len(lost)
    assert lost == [], lost


# -- finding 8: case-insensitive uniqueness under concurrent creates ------------------------

def test_case_variant_concurrent_group_creates_one_201_one_409(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    for trial in range(6):
        name = unique(f"Team-x{trial}")
        second = b if trial % 2 else a
        answers = together(
            functools.partial(a.post, "/Groups", {"schemas": [GROUP], "displayName": name}),
            functools.partial(second.post, "/Groups", {"schemas": [GROUP],
                                                       "displayName": name.lower()}))
        assert sorted(r.status_code for r in answers) == [201, 409], (
            trial, [r.text for r in answers])
        conflict = next(r for r in answers if r.status_code == 409)
        assert error_of(conflict)["scimType"] == "uniqueness"
        found = a.get(f'/Groups?filter=displayName eq "{name}"&excludedAttributes=members')
        assert found.json()["totalResults"] == 1


def test_case_variant_concurrent_user_creates_one_201_one_409(cluster: Cluster) -> None:
    a, b = cluster.scim(0), cluster.scim(1)
    for trial in range(4):
        name = unique(f"Case.User{trial}")
        answers = together(
            functools.partial(a.post, "/Users", {"schemas": [USER], "userName": name}),
            functools.partial((b if trial % 2 else a).post, "/Users",
                              {"schemas": [USER], "userName": name.lower()}))
        assert sorted(r.status_code for r in answers) == [201, 409], (
            trial, [r.text for r in answers])


# -- finding 4: the managed root is resolved again when it was re-created -------------------

def test_managed_root_recreated_by_realm_apply_works_on_running_replicas(
        cluster: Cluster) -> None:
    admin = cluster.admin()
    replicas = [cluster.scim(0), cluster.scim(1)]
    for scim in replicas:  # both replicas have resolved the root
        create_group(scim, members=[create_user(scim)["id"]])
    root = admin.get(f"/{REALM}/group-by-path/bridge/scim")
    admin.delete(f"/{REALM}/groups/{root['id']}")
    applied = cluster.realm_apply()
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert admin.get(f"/{REALM}/group-by-path/bridge/scim")["id"] != root["id"]

    for scim in replicas:
        member = create_user(scim)
        group = create_group(scim, members=[member["id"]])
        listed = scim.get(f'/Groups?filter=displayName eq "{group["displayName"]}"')
        assert listed.status_code == 200, listed.text
        assert [g["id"] for g in listed.json()["Resources"]] == [group["id"]]
        read = scim.get(f"/Users/{member['id']}")
        assert [g["value"] for g in read.json().get("groups", [])] == [group["id"]], (
            scim.name, read.text)


# -- findings 9 and 11: a node killed during creates loses nothing acknowledged -------------

CREATES = 300
KILL_AFTER = 90


def test_node_killed_during_creates_loses_no_acknowledged_user(cluster: Cluster) -> None:
    # The client behind the balancer uses a static token (as Entra ID's may), which both
    # replicas know: what is under test here is the kill, not the issuer (finding 6).
    lb = cluster.through_balancer(static=True)
    survivor, doomed = cluster.replicas[0], cluster.replicas[1]
    prefix = unique("load").replace("-", "")
    names = [f"{prefix}.{i:03d}" for i in range(CREATES)]
    answers: dict[str, tuple[int, str, float]] = {}
    done = threading.Semaphore(0)
    killed_at: list[float] = []

    def create(name: str) -> None:
        try:
            response = lb.post("/Users", {"schemas": [USER], "userName": name}, timeout=90)
            answers[name] = (response.status_code, cluster.upstream_of(response),
                             time.monotonic())
        except requests.RequestException as exc:
            answers[name] = (0, type(exc).__name__, time.monotonic())
        finally:
            done.release()

    def kill_when_due() -> None:
        for _ in range(KILL_AFTER):
            done.acquire(timeout=120)
        cluster.nodes[1].kill()  # the node behind replica b
        killed_at.append(time.monotonic())

    killer = threading.Thread(target=kill_when_due, daemon=True)
    killer.start()
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        list(pool.map(create, names))
    killer.join(timeout=60)
    assert killed_at, "the node was not killed"

    statuses = Counter(status for status, _, _ in answers.values())
    by_replica = Counter((upstream, status) for status, upstream, _ in answers.values())
    present = Counter(u["username"] for u in cluster.admin().get(
        f"/{REALM}/users", search=prefix, max=CREATES * 2, briefRepresentation="true"))
    acknowledged = {n.lower() for n, (s, _, _) in answers.items() if s == 201}
    FIGURES["creates through the balancer"] = dict(statuses)
    FIGURES["creates by replica and status"] = {f"{u} {s}": n for (u, s), n in
                                                sorted(by_replica.items())}
    unacknowledged = {n.lower() for n, (s, _, _) in answers.items() if s != 201}
    FIGURES["users present after the kill"] = sum(present.values())
    # A create whose node died after writing and before answering: the client was told
    # 503 (retry later), not that it failed for good.
    FIGURES["users present although answered 503"] = len(set(present) & unacknowledged)

    # The other replica keeps serving throughout: everything routed to it was created,
    # before and after the kill.
    on_survivor = [(status, at) for status, upstream, at in answers.values()
                   if upstream == survivor.address]
    assert on_survivor and {s for s, _ in on_survivor} == {201}, by_replica
    assert any(at > killed_at[0] for _, at in on_survivor)
    # No create that succeeded is answered 409; a replica without its node says 503.
    assert statuses[409] == 0, by_replica
    assert set(statuses) <= {201, 503}, by_replica
    assert {u for s, u, _ in answers.values() if s == 503} <= {doomed.address}
    # Every user answered 201 is there, once; nothing else was made.
    assert acknowledged <= set(present), sorted(acknowledged - set(present))[:5]
    assert max(present.values()) == 1  # no duplicates
    assert set(present) <= {n.lower() for n in names}
    assert set(present) - acknowledged <= {n.lower() for n, (s, _, _) in answers.items()
                                           if s == 503}
