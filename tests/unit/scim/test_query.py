"""Listing and searching (RFC 7644 §3.4.2, §3.4.3): filter, paging, sorting, projection."""

from typing import Any

import pytest
from scim_helpers import ACCESS, ENTERPRISE, LIST, Scim, assert_error, make_app

from scim.memory import MemoryBackend
from scim.settings import ScimSettings

pytestmark = pytest.mark.unit

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture
def settings() -> ScimSettings:
    return ScimSettings(default_count=100, max_count=120)


@pytest.fixture
def population(scim: Scim) -> list[dict[str, Any]]:
    users = []
    for i in range(250):
        users.append(
            scim.create_user(
                f"user{i:03d}",
                displayName=f"User {249 - i:03d}",
                active=i % 2 == 0,
                emails=[
                    {
                        "value": f"u{i}@{'corp' if i % 5 == 0 else 'home'}.example.com",
                        "type": "work",
                    }
                ],
                **{
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ACCESS],
                    ACCESS: {"tenants": [f"t{i % 3}"], "toggles": ["beta"] if i < 10 else []},
                },
            )
        )
    return users


def ids(body: dict[str, Any]) -> list[str]:
    return [r["id"] for r in body["Resources"]]


def test_paging_is_stable_and_total_is_exact(scim: Scim, population: list[dict]) -> None:
    seen: list[str] = []
    start = 1
    while True:
        body = scim.get(f"/Users?startIndex={start}&count=100").get_json()
        assert body["schemas"] == [LIST]
        assert body["totalResults"] == 250
        assert body["startIndex"] == start
        assert body["itemsPerPage"] == len(body["Resources"])
        if not body["Resources"]:
            break
        seen += ids(body)
        start += body["itemsPerPage"]
    assert seen == [u["id"] for u in population]  # every user once, creation order
    again = scim.get("/Users?startIndex=101&count=100").get_json()
    assert ids(again) == seen[100:200]


def test_default_count_and_max_count_never_cap_total(scim: Scim, population: list) -> None:
    default = scim.get("/Users").get_json()
    assert default["itemsPerPage"] == 100 and default["totalResults"] == 250
    capped = scim.get("/Users?count=1000").get_json()
    assert capped["itemsPerPage"] == 120 and capped["totalResults"] == 250
    zero = scim.get("/Users?count=0").get_json()
    assert zero["itemsPerPage"] == 0 and zero["Resources"] == [] and zero["totalResults"] == 250
    beyond = scim.get("/Users?startIndex=1000").get_json()
    assert beyond["Resources"] == [] and beyond["totalResults"] == 250


def test_sorting_ascending_and_descending(scim: Scim, population: list) -> None:
    asc = scim.get("/Users?sortBy=displayName&count=5").get_json()
    assert [r["displayName"] for r in asc["Resources"]] == [f"User {i:03d}" for i in range(5)]
    desc = scim.get("/Users?sortBy=displayName&sortOrder=descending&count=3&startIndex=2")
    assert [r["displayName"] for r in desc.get_json()["Resources"]] == [
        "User 248",
        "User 247",
        "User 246",
    ]
    by_email = scim.get("/Users?sortBy=emails&count=2").get_json()
    assert [r["emails"][0]["value"] for r in by_email["Resources"]] == [
        "u0@corp.example.com",
        "u100@corp.example.com",
    ]


def test_filters_over_the_whole_grammar(scim: Scim, population: list) -> None:
    def total(expression: str) -> int:
        response = scim.get(f"/Users?filter={expression}&count=0")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["totalResults"]

    assert total('userName eq "USER007"') == 1  # caseExact false
    assert total('userName sw "user1"') == 100
    assert total('userName co "99"') == 2
    assert total('userName ew "5"') == 25
    assert total("active eq true") == 125
    assert total('active eq false and userName sw "user00"') == 5
    assert total('emails[type eq "work" and value ew "corp.example.com"]') == 50
    assert total('emails.value co "@corp."') == 50
    assert total('not (emails.value co "@corp.")') == 200
    assert total('userName eq "user001" or userName eq "user002"') == 2
    assert total(f'{ACCESS}:tenants eq "t1"') == 83
    assert total(f"{ACCESS}:toggles pr") == 10
    assert total('displayName gt "User 240"') == 9
    assert total("title pr") == 0
    assert total('meta.created gt "2000-01-01T00:00:00Z"') == 250
    assert total(f'{ENTERPRISE}:department eq "x"') == 0


def test_attributes_and_excluded_attributes(scim: Scim, population: list) -> None:
    only = scim.get('/Users?filter=userName eq "user000"&attributes=userName,emails.value')
    resource = only.get_json()["Resources"][0]
    assert resource == {
        "schemas": resource["schemas"],
        "id": population[0]["id"],
        "userName": "user000",
        "emails": [{"value": "u0@corp.example.com"}],
    }
    excluded = scim.get(f"/Users/{population[0]['id']}?excludedAttributes=emails,{ACCESS}")
    body = excluded.get_json()
    assert "emails" not in body and ACCESS not in body
    assert body["userName"] == "user000" and body["id"] == population[0]["id"]
    ext = scim.get(f"/Users/{population[1]['id']}?attributes={ACCESS}:tenants").get_json()
    assert ext[ACCESS] == {"tenants": ["t1"]}
    assert "userName" not in ext


def test_post_search_matches_get(scim: Scim, population: list) -> None:
    body = {
        "schemas": [SEARCH],
        "filter": 'userName sw "user02"',
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 2,
        "count": 3,
        "attributes": ["userName"],
    }
    response = scim.post("/Users/.search", body)
    assert response.status_code == 200
    result = response.get_json()
    assert result["totalResults"] == 10
    assert [r["userName"] for r in result["Resources"]] == ["user028", "user027", "user026"]
    assert set(result["Resources"][0]) == {"schemas", "id", "userName"}
    get = scim.get(
        '/Users?filter=userName sw "user02"&sortBy=userName&sortOrder=descending'
        "&startIndex=2&count=3&attributes=userName"
    )
    assert get.get_json() == result


def test_root_search_spans_users_and_groups(scim: Scim) -> None:
    alice = scim.create_user("alice", displayName="Zed")
    bob = scim.create_user("bob", displayName="Bob")
    group = scim.create_group("Alpha")
    everything = scim.post("/.search", {"schemas": [SEARCH]}).get_json()
    assert everything["totalResults"] == 3
    assert ids(everything) == [alice["id"], bob["id"], group["id"]]
    sorted_ = scim.post(
        "/.search", {"schemas": [SEARCH], "sortBy": "displayName", "startIndex": 2, "count": 1}
    ).get_json()
    assert sorted_["totalResults"] == 3 and ids(sorted_) == [bob["id"]]
    second_page = scim.post("/.search", {"schemas": [SEARCH], "startIndex": 3}).get_json()
    assert ids(second_page) == [group["id"]]
    groups_only = scim.post(
        "/.search", {"schemas": [SEARCH], "filter": 'displayName eq "alpha"'}
    ).get_json()
    assert ids(groups_only) == [group["id"]]
    users_only = scim.post("/.search", {"schemas": [SEARCH], "filter": "userName pr"}).get_json()
    assert users_only["totalResults"] == 2


def test_group_list_without_members_does_not_load_them(scim: Scim, backend: MemoryBackend) -> None:
    user = scim.create_user("m")
    scim.create_group("G", [user["id"]])
    loads = backend.member_loads
    body = scim.get('/Groups?filter=displayName eq "G"&excludedAttributes=members').get_json()
    assert body["totalResults"] == 1 and "members" not in body["Resources"][0]
    assert backend.member_loads == loads
    with_members = scim.get('/Groups?filter=displayName eq "G"').get_json()
    assert with_members["Resources"][0]["members"][0]["value"] == user["id"]


def test_too_many_when_the_backend_will_not_scan(scim: Scim) -> None:
    backend = MemoryBackend(max_scan=5)
    limited = Scim(make_app(backend).test_client())
    for i in range(8):
        limited.create_user(f"u{i}")
    assert_error(limited.get('/Users?filter=userName co "u"'), 400, "tooMany")
    exact = limited.get('/Users?filter=userName eq "u3"').get_json()
    assert exact["totalResults"] == 1 and exact["Resources"][0]["userName"] == "u3"
    pushed_and_rest = limited.get('/Users?filter=userName eq "u3" and active pr').get_json()
    assert pushed_and_rest["totalResults"] == 0  # the rest of the filter still applies
