"""Filters, paging and sorting over a real Keycloak: push-down where Keycloak can answer,
exact totalResults past 100 everywhere else, stable pages."""

from __future__ import annotations

from urllib.parse import quote

from tests.integration.test_scim_support import ScimOnKeycloak, assert_error, scim_env

env = scim_env


def _list(env: ScimOnKeycloak, query: str) -> dict:
    response = env.scim.get(f"/Users?{query}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _filter(expression: str, extra: str = "") -> str:
    return f"filter={quote(expression)}{extra}"


def test_paging_past_100_with_exact_totals_and_push_down(env: ScimOnKeycloak) -> None:
    for i in range(150):
        env.scim.create_user(
            f"Bulk.User{i:03d}", externalId=f"EXT-{i:03d}", active=i % 10 != 0,
            emails=[{"value": f"bulk{i:03d}@example.com", "primary": True},
                    {"value": f"other{i:03d}@example.org"}],
            title="even" if i % 2 == 0 else "odd")
    env.scim.create_user("someone.else", title="even")

    first = _list(env, "startIndex=1&count=100")
    second = _list(env, "startIndex=101&count=100")
    assert first["totalResults"] == second["totalResults"] == 151
    assert len(first["Resources"]) == 100 and len(second["Resources"]) == 51
    ids = [r["id"] for r in first["Resources"] + second["Resources"]]
    assert len(set(ids)) == 151
    assert [r["id"] for r in _list(env, "startIndex=1&count=100")["Resources"]] == ids[:100]

    # not pushed down: scanned in Keycloak pages, answered exactly, never capped at 100
    odd = _list(env, _filter('title eq "even" and userName sw "bulk"', "&count=60"))
    assert odd["totalResults"] == 75 and len(odd["Resources"]) == 60
    rest = _list(env, _filter('title eq "even" and userName sw "bulk"',
                              "&startIndex=61&count=60"))
    assert len(rest["Resources"]) == 15
    assert {r["id"] for r in odd["Resources"]}.isdisjoint(r["id"] for r in rest["Resources"])
    everyone = _list(env, _filter('userName co "user" or title eq "even"', "&count=1000"))
    assert everyone["totalResults"] == 151 and len(everyone["Resources"]) == 151

    # sorted, across pages
    ordered = _list(env, _filter('userName sw "Bulk"',
                                 "&sortBy=userName&sortOrder=descending&count=3"))
    assert [r["userName"] for r in ordered["Resources"]] == [
        "Bulk.User149", "Bulk.User148", "Bulk.User147"]

    # eq push-down: one admin call, never a listing of all users
    env.gateway.calls.reset()
    found = _list(env, _filter('userName eq "BULK.user042"', "&startIndex=1&count=100"))
    assert [r["userName"] for r in found["Resources"]] == ["Bulk.User042"]
    assert env.calls() == 1, env.gateway.calls.by_kind
    env.gateway.calls.reset()
    by_mail = _list(env, _filter('emails eq "OTHER007@example.org"'))
    assert [r["userName"] for r in by_mail["Resources"]] == ["Bulk.User007"]
    by_value = _list(env, _filter('emails.value eq "bulk008@example.com"'))
    assert [r["userName"] for r in by_value["Resources"]] == ["Bulk.User008"]
    by_external = _list(env, _filter('externalId eq "EXT-009"'))
    assert [r["userName"] for r in by_external["Resources"]] == ["Bulk.User009"]
    assert _list(env, _filter('externalId eq "ext-009"'))["totalResults"] == 0  # caseExact
    assert env.calls() == 4, env.gateway.calls.by_kind

    env.gateway.calls.reset()
    inactive = _list(env, _filter("active eq false", "&count=5"))
    assert inactive["totalResults"] == 15 and len(inactive["Resources"]) == 5
    assert env.calls() == 2  # /users/count + one page
    combined = _list(env, _filter('active eq false and title eq "even"'))
    assert combined["totalResults"] == 15
    assert _list(env, _filter(f'id eq "{ids[0]}"'))["totalResults"] == 1
    assert _list(env, "count=0")["totalResults"] == 151


def test_group_display_name_filter_and_excluded_members(env: ScimOnKeycloak) -> None:
    users = [env.scim.create_user(f"member{i}") for i in range(3)]
    for name in ("Engineering", "Engineering Managers", "Sales"):
        env.scim.create_group(name, members=[{"value": u["id"]} for u in users])
    env.gateway.calls.reset()
    by_name = _filter('displayName eq "engineering"', "&excludedAttributes=members")
    found = env.scim.get(f"/Groups?{by_name}")
    body = found.get_json()
    assert [g["displayName"] for g in body["Resources"]] == ["Engineering"]
    assert "members" not in body["Resources"][0]
    assert "GET /{realm}/groups/{id}/members" not in str(env.gateway.calls.by_kind)
    assert not any(key.endswith("/members") for key in env.gateway.calls.by_kind)
    all_groups = env.scim.get("/Groups?sortBy=displayName&sortOrder=descending").get_json()
    assert [g["displayName"] for g in all_groups["Resources"]] == [
        "Sales", "Engineering Managers", "Engineering"]
    assert len(all_groups["Resources"][0]["members"]) == 3
    member_filter = _filter('members.value eq "' + users[0]["id"] + '"')
    with_member = env.scim.get(f"/Groups?{member_filter}").get_json()
    assert with_member["totalResults"] == 3
    assert_error(env.scim.get("/Groups?filter=displayName%20zz%20%22x%22"), 400,
                 "invalidFilter")
