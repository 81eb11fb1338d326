"""Bounded work on a real Keycloak (issue 9, finding 7): the scan bound the app sets and
advertises, ``tooMany`` naming the filters Keycloak answers, and group-based user filters,
sorts and ``attributes=groups`` answered from the managed groups' memberships (O(groups)
admin calls), never one call per user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Settings
from bridge.keycloak.client import AdminGateway
from tests.conftest import RealmUnderTest
from tests.integration.test_scim_support import (
    AUTH,
    USER_SCHEMA,
    Scim,
    assert_error,
    authenticate,
)

MAX_SCAN = 6
USERS = 9


@dataclass
class Bounded:
    realm: RealmUnderTest
    gateway: AdminGateway
    scim: Scim
    backend: Any

    def calls(self) -> dict[str, int]:
        return dict(self.gateway.calls.by_kind)


@pytest.fixture
def bounded(fresh_realm: RealmUnderTest) -> Iterator[Bounded]:
    """The real app (``create_app``) with a small scan bound, over a fresh realm."""
    gateway = fresh_realm.keycloak.admin()
    settings = Settings(keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name,
                        client_id="bridge", client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"],
                        scim_max_scan=MAX_SCAN)
    app = create_app(settings, gateway=gateway, authenticate=authenticate)
    client: FlaskClient = app.test_client()
    yield Bounded(fresh_realm, gateway, Scim(client), app.extensions["bridge.scim_backend"])


def _q(filter_: str) -> str:
    return "filter=" + quote(filter_)


def test_a_scan_over_the_bound_is_too_many_naming_the_pushed_down_filters(
        bounded: Bounded) -> None:
    scim = bounded.scim
    limits = scim.get("/ServiceProviderConfig/limits").get_json()
    assert limits["maxScan"] == MAX_SCAN
    for i in range(USERS):
        scim.create_user(f"scan{i}", title="engineer", externalId=f"ext-{i}")
    title_co = _q('title co "eng"')
    active_and_title = _q('active eq true and title co "eng"')
    for path in (f"/Users?{title_co}", "/Users?sortBy=userName", f"/Users?{active_and_title}"):
        body = assert_error(scim.get(path), 400, "tooMany")
        for name in ("userName", "externalId", "emails.value", "groups.value"):
            assert name in body["detail"], body
        assert str(MAX_SCAN) in body["detail"]
    search = scim.post("/Users/.search", {"filter": 'title co "eng"', "startIndex": 4})
    assert_error(search, 400, "tooMany")
    # Pushed down: answered whatever the size of the realm.
    narrowing = _q('externalId eq "ext-3" and title co "eng"')
    narrowed = scim.get(f"/Users?{narrowing}").get_json()
    assert [u["userName"] for u in narrowed["Resources"]] == ["scan3"]
    assert scim.get("/Users?count=2").get_json()["totalResults"] == USERS
    one = _q('userName eq "scan1"')
    assert scim.get(f"/Users?{one}&sortBy=title").status_code == 200


def test_a_user_name_lookup_under_the_scan_bound_is_one_admin_call(
        bounded: Bounded) -> None:
    """The bench's admin-call budget of a ``userName eq`` (bench/scim_calls.py: 1) holds in
    the app, which bounds scans: a short first page answers the bound, no count is asked;
    the bound is still enforced when a page shows more candidates than it."""
    scim = bounded.scim
    for i in range(MAX_SCAN + 1):
        scim.create_user(f"Lookup.{i}", title="engineer")
    lookup = _q('userName eq "lookup.3"')
    scim.get(f"/Users?{lookup}")  # reads the protected set (at most every 30 s), untimed
    bounded.gateway.calls.reset()
    found = scim.get(f"/Users?{lookup}&startIndex=1&count=100")
    assert found.status_code == 200
    body = found.get_json()
    assert [u["userName"] for u in body["Resources"]] == ["Lookup.3"]
    assert body["totalResults"] == 1
    assert bounded.gateway.calls.total == 1, bounded.calls()
    assert list(bounded.calls()) == ["GET /{realm}/users"], bounded.calls()
    # Seven candidates for a bound of six: refused after one page, before any further read.
    bounded.gateway.calls.reset()
    by_title = _q('title eq "engineer"')
    body = assert_error(scim.get(f"/Users?{by_title}"), 400, "tooMany")
    assert str(MAX_SCAN) in body["detail"]
    assert bounded.gateway.calls.total == 1, bounded.calls()


def test_a_scan_past_its_first_page_counts_once_and_misses_no_user(
        bounded: Bounded) -> None:
    """Pages smaller than the bound: a full first page asks for the count (the bound is
    checked before reading on), then the scan reads on from where that page ended."""
    scim = bounded.scim
    for i in range(MAX_SCAN - 1):
        scim.create_user(f"paged{i}", externalId="batch-7")
    scim.create_user("other", externalId="batch-8")
    bounded.backend.page_size = 2
    # externalId eq is pushed down (q=scim.externalId) but still tested on each candidate
    # (not an exact answer), so it is a scan of the five candidates Keycloak returns.
    lookup = _q('externalId eq "batch-7"')
    scim.get(f"/Users?{lookup}")  # reads the protected set (at most every 30 s), untimed
    bounded.gateway.calls.reset()
    body = scim.get(f"/Users?{lookup}").get_json()
    assert sorted(u["userName"] for u in body["Resources"]) == [
        f"paged{i}" for i in range(MAX_SCAN - 1)]
    assert body["totalResults"] == MAX_SCAN - 1
    calls = bounded.calls()
    assert calls.get("GET /{realm}/users/count") == 1, calls
    # Five candidates in pages of two: two full pages, then the short one that ends it.
    assert calls.get("GET /{realm}/users") == 3, calls


def test_group_based_user_queries_cost_o_groups(bounded: Bounded) -> None:
    scim = bounded.scim
    users = [scim.create_user(f"member{i}") for i in range(USERS)]
    engineering = scim.create_group("Engineering", members=[{"value": u["id"]}
                                                            for u in users[:3]])
    sales = scim.create_group("Sales", members=[{"value": u["id"]} for u in users[2:4]])
    bounded.gateway.calls.reset()

    in_engineering = _q('groups.value eq "' + engineering["id"] + '"')
    members = scim.get(f"/Users?{in_engineering}").get_json()
    assert sorted(u["userName"] for u in members["Resources"]) == [
        "member0", "member1", "member2"]
    assert members["totalResults"] == 3
    assert not any(key.endswith("/groups") and "/users/" in key for key in bounded.calls())
    assert bounded.gateway.calls.total <= 4, bounded.calls()

    bounded.gateway.calls.reset()
    listed = scim.get(f"/Users?attributes=userName,groups&count={USERS}").get_json()
    groups_of = {u["userName"]: sorted(g["display"] for g in u.get("groups", []))
                 for u in listed["Resources"]}
    assert groups_of["member2"] == ["Engineering", "Sales"]
    assert groups_of["member0"] == ["Engineering"]
    assert groups_of["member8"] == []
    # No call per listed user: one page of users, the managed groups, their members.
    per_user = [k for k in bounded.calls() if k.startswith("GET /") and k.endswith("/groups")
                and "/users/" in k]
    assert per_user == []
    assert bounded.gateway.calls.total <= 2 + 2 + 2, bounded.calls()

    bounded.gateway.calls.reset()
    in_sales = _q('groups.display eq "Sales"')
    display = scim.get(f"/Users?{in_sales}").get_json()
    assert sorted(u["userName"] for u in display["Resources"]) == ["member2", "member3"]
    assert bounded.gateway.calls.total <= 2 + 2 + 2 + 1, bounded.calls()
    assert sales["id"]


def test_the_limits_of_the_app_are_advertised(bounded: Bounded) -> None:
    limits = bounded.scim.get("/ServiceProviderConfig/limits").get_json()
    config = bounded.scim.get("/ServiceProviderConfig").get_json()
    assert limits["bulkMaxPayloadSize"] == config["bulk"]["maxPayloadSize"]
    assert limits["bulkMaxOperations"] == config["bulk"]["maxOperations"]
    assert limits["maxResults"] == config["filter"]["maxResults"]
    assert limits["maxPayloadSize"] == 1_048_576 and limits["maxJsonDepth"] == 32
    assert limits["bulkTimeBudgetSeconds"] == 25
    huge = bounded.scim.client.post("/scim/v2/Users", data=b"{" + b" " * 2_000_000 + b"}",
                                    content_type="application/scim+json", headers=AUTH)
    assert_error(huge, 413)
    assert USER_SCHEMA
