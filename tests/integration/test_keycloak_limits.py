"""Keycloak 26.7.5's limits, measured on the real server, against the bridge's checks
(``bridge.keycloak.limits``) and through SCIM (issue 9, findings 6, 8, 9).

Each value is sent to Keycloak itself (admin API, no bridge check) and to the bridge's rule:
both must give the same verdict. Then SCIM must answer 400 ``invalidValue`` (never 503) for
what Keycloak would refuse or fail on, before writing anything, in its own words.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bridge.keycloak import errors as kc
from bridge.keycloak.limits import check_group, check_user, email_problem
from tests.conftest import RealmUnderTest
from tests.integration.test_scim_support import (
    GROUP_SCHEMA,
    USER_SCHEMA,
    ScimOnKeycloak,
    assert_error,
    scim_env,
)

env = scim_env

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
KEYCLOAK_TEXTS = ("Keycloak", "error-", "errorMessage", "unknown_error", "User exists")

ACCEPTED = [
    "a@b.local", "a@b.test", "a@example", "a@localhost", "a@b.internal", "a@b.example",
    "a.b@c", '"a b"@c.com', "a+b@c.com", "a@[127.0.0.1]", "a@[IPv6:::1]", "a@bé.com", "a@b",
    "a@123", "a@1.2.3.4", "a!#$%&'*+/=?^_`{|}~@c.com", "a@b!c.com", "A@B.COM",
    "a@xn--bcher-kva.com", "a@" + "b" * 63 + ".com", '"a\\\\b"@c.com', '"a\\"b"@c.com',
    '"a".b@c.com', '"a@b"@c.com', "a@b\u200b.com", "a@b--c.com", "a@[300.1.1.1]",
    "a@\u05d0.com", "a@\ufb01.com", "o'brien@corp.local", "x" * 64 + "@ad.internal",
    "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 61,
]
REFUSED = [
    "a..b@c.com", ".a@c.com", "a.@c.com", "a@-b.com", "a@b-.com", "a@b..com", "a@b.com.",
    "a@b_c.com", "é@b.com", "@b.com", "a@", "a", "a b@c.com", "a@b c.com", "a@@b.com",
    'a"b@c.com', "a\t@b.com", "a@b.com\n", "(a)@b.com", "a@" + "b" * 64 + ".com",
    "ü@ü.de", '"a\tb"@c.com', '""@c.com', "a@b@c.com", "a@\u0378.com", "a@\u0221.com",
    "a@\u00ad.com", "a@\u2028.com", "a@" + ".".join(["b" * 63] * 3) + "." + "c" * 62,
    "a@[1.2.3]", "a@b\ufffd.com", "a@\u05d0b.com", "a@1\u05d0.com", " a@b.com", "a@b.com ",
    "x" * 65 + "@ad.internal",
]


class RawAdmin:
    """Keycloak's admin API without any bridge check in between."""

    def __init__(self, realm: RealmUnderTest) -> None:
        self.base = f"{realm.keycloak.url}/admin/realms/{realm.name}"
        self.session = requests.Session()
        token = realm.admin._conn.token["access_token"]
        self.session.headers.update({"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})
        self.created = 0

    def accepts(self, path: str, rep: dict[str, Any]) -> bool:
        response = self.session.post(self.base + path, data=json.dumps(rep))
        assert response.status_code in (201, 400, 409, 500), response.text
        return response.status_code == 201


@pytest.fixture
def raw(fresh_realm: RealmUnderTest) -> Iterator[RawAdmin]:
    yield RawAdmin(fresh_realm)


def _bridge_accepts(check: Any, rep: dict[str, Any], **kwargs: Any) -> bool:
    try:
        check(rep, **kwargs)
    except kc.Refused:
        return False
    return True


def test_the_email_rule_is_keycloaks(raw: RawAdmin) -> None:
    disagreements = []
    for index, address in enumerate(ACCEPTED + REFUSED):
        keycloak = raw.accepts("/users", {"username": f"mail-{index:03d}", "email": address,
                                          "enabled": True})
        bridge = email_problem(address) is None
        if keycloak != bridge or keycloak != (address in ACCEPTED):
            disagreements.append((address, keycloak, bridge))
    assert disagreements == []


LENGTHS = [
    ("user", {"username": "ab"}), ("user", {"username": "abc"}),
    ("user", {"username": "u" * 255}), ("user", {"username": "u" * 256}),
    ("user", {"username": "first255", "firstName": "f" * 255}),
    ("user", {"username": "first256", "firstName": "f" * 256}),
    ("user", {"username": "last256", "lastName": "f" * 256}),
    ("user", {"username": "attr2048", "attributes": {"scim.externalId": ["a" * 2048]}}),
    ("user", {"username": "attr2049", "attributes": {"scim.externalId": ["a" * 2049]}}),
    ("user", {"username": "name255", "attributes": {"n" * 255: ["v"]}}),
    ("user", {"username": "name256", "attributes": {"n" * 256: ["v"]}}),
    ("group", {"name": "g" * 255}), ("group", {"name": "g" * 256}),
    ("group", {"name": "\U0001f600" * 128}), ("group", {"name": " "}),
    ("group", {"name": "ga255", "attributes": {"scim.externalId": ["a" * 255]}}),
    ("group", {"name": "ga256", "attributes": {"scim.externalId": ["a" * 256]}}),
    ("group", {"name": "gn256", "attributes": {"k" * 256: ["v"]}}),
]


def test_the_length_limits_are_keycloaks(raw: RawAdmin) -> None:
    verdicts = []
    for kind, rep in LENGTHS:
        if kind == "user":
            keycloak = raw.accepts("/users", {"enabled": True, **rep})
            bridge = _bridge_accepts(check_user, rep, creating=True)
        else:
            keycloak = raw.accepts("/groups", rep)
            bridge = _bridge_accepts(check_group, rep)
        verdicts.append((kind, json.dumps(rep)[:40], keycloak, bridge))
    assert [v for v in verdicts if v[2] != v[3]] == []
    assert {v[2] for v in verdicts} == {True, False}


# -- through SCIM --------------------------------------------------------------------------

def _no_keycloak_text(response: Any) -> None:
    text = response.get_data(as_text=True)
    assert not any(t in text for t in KEYCLOAK_TEXTS), text


def test_group_names_keycloak_fails_on_are_400_before_any_write(env: ScimOnKeycloak) -> None:
    groups_before = env.scim.get("/Groups").get_json()["totalResults"]
    long_name = assert_error(env.scim.post("/Groups", {"schemas": [GROUP_SCHEMA],
                                                       "displayName": "g" * 256}),
                             400, "invalidValue")
    assert "displayName" in long_name["detail"] and "255" in long_name["detail"]
    assert_error(env.scim.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "ok",
                                           "externalId": "x" * 256}), 400, "invalidValue")
    group = env.scim.create_group("fits")
    renamed = env.scim.patch(f"/Groups/{group['id']}", [
        {"op": "replace", "path": "displayName", "value": "g" * 300}])
    assert_error(renamed, 400, "invalidValue")
    assert env.scim.get("/Groups").get_json()["totalResults"] == groups_before + 1
    assert env.scim.get(f"/Groups/{group['id']}").get_json()["displayName"] == "fits"
    assert env.scim.post("/Groups", {"schemas": [GROUP_SCHEMA],
                                     "displayName": "g" * 255}).status_code == 201


def test_oversized_body_is_413_without_reaching_keycloak(env: ScimOnKeycloak) -> None:
    body = json.dumps({"schemas": [USER_SCHEMA], "userName": "huge",
                       "title": "x" * (50 * 1024 * 1024)})
    before = env.calls()
    response = env.scim.client.post("/scim/v2/Users", data=body,
                                    content_type="application/scim+json",
                                    headers=env.scim.headers)
    assert_error(response, 413)
    assert env.calls() == before
    # A user too large for Keycloak's attribute limits (but within the body limit) is a 400.
    many = {"schemas": [USER_SCHEMA], "userName": "wide", "externalId": "e" * 2049}
    assert_error(env.scim.post("/Users", many), 400, "invalidValue")


def test_unpaired_surrogate_in_a_filter_is_400_not_503(env: ScimOnKeycloak) -> None:
    for filter_ in ('userName eq "\\ud800"', 'externalId eq "a\\udfffb"',
                    'emails eq "x\\ud83d@b.com"'):
        response = env.scim.client.post(
            "/scim/v2/Users/.search", data=json.dumps({"filter": filter_}).replace("\\\\", "\\"),
            content_type="application/scim+json", headers=env.scim.headers)
        assert_error(response, 400, "invalidValue")


def test_keycloak_refusals_are_in_the_bridges_words(env: ScimOnKeycloak) -> None:
    for user_name in ("a b", "a/b", "a<b", "ab"):
        response = env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": user_name})
        body = assert_error(response, 400, "invalidValue")
        assert "userName" in body["detail"], body
        _no_keycloak_text(response)
    env.scim.create_user("taken")
    duplicate = env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "TAKEN"})
    assert_error(duplicate, 409, "uniqueness")
    _no_keycloak_text(duplicate)


def _stored_email(env: ScimOnKeycloak, user_id: str) -> str | None:
    return env.gateway.get(f"{env.base}/users/{user_id}").get("email")


SPECIAL_USE = ["ops@corp.local", "qa@bridge.test", "it@ad.internal", "demo@acme.example",
               "root@localhost"]
KEYCLOAK_REFUSES = ["a..b@c.com", "é@b.com", "a@b_c.com", "a@b.com.", "x" * 65 + "@ad.internal"]


def test_every_address_keycloak_accepts_on_every_write(env: ScimOnKeycloak) -> None:
    for address in SPECIAL_USE:
        _accepted_on_every_write(env, address)


def _accepted_on_every_write(env: ScimOnKeycloak, address: str) -> None:
    local, domain = address.split("@")
    created = env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": f"p-{local}",
                                       "emails": [{"value": address, "primary": True}]})
    assert created.status_code == 201, created.get_json()
    user_id = created.get_json()["id"]
    assert _stored_email(env, user_id) == address
    put = env.scim.put(f"/Users/{user_id}", {"schemas": [USER_SCHEMA], "userName": f"p-{local}",
                                              "emails": [{"value": f"put@{domain}"}]})
    assert put.status_code == 200, put.get_json()
    assert _stored_email(env, user_id) == f"put@{domain}"
    patched = env.scim.patch(f"/Users/{user_id}", [
        {"op": "replace", "path": "emails", "value": [{"value": f"patch@{domain}",
                                                        "primary": True}]}])
    assert patched.status_code == 200, patched.get_json()
    assert _stored_email(env, user_id) == f"patch@{domain}"
    bulk = env.scim.post("/Bulk", {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "b1",
         "data": {"schemas": [USER_SCHEMA], "userName": f"b-{local}",
                  "emails": [{"value": f"bulk@{domain}"}]}}]})
    result = bulk.get_json()["Operations"][0]
    assert result["status"] == "201", result


def test_what_keycloak_refuses_is_400_before_any_write(env: ScimOnKeycloak) -> None:
    for index, address in enumerate(KEYCLOAK_REFUSES):
        _refused_before_any_write(env, address, index)


def _refused_before_any_write(env: ScimOnKeycloak, address: str, index: int) -> None:
    users_before = env.gateway.get(f"{env.base}/users/count")
    created = env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "refused",
                                       "emails": [{"value": address}]})
    body = assert_error(created, 400, "invalidValue")
    assert body["detail"].startswith("emails[0].value"), body
    # A secondary address is held to the same rule as the one Keycloak stores.
    emails = [{"value": f"ok{index}@corp.local", "primary": True}, {"value": address}]
    second = env.scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "refused2",
                                      "emails": emails})
    assert_error(second, 400, "invalidValue")
    user = env.scim.create_user(f"kept{index}", emails=[{"value": f"kept{index}@corp.local"}])
    patched = env.scim.patch(f"/Users/{user['id']}", [
        {"op": "add", "path": "emails", "value": [{"value": address}]}])
    assert_error(patched, 400, "invalidValue")
    bulk = env.scim.post("/Bulk", {"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "b1",
         "data": {"schemas": [USER_SCHEMA], "userName": "refused3",
                  "emails": [{"value": address}]}}]})
    assert bulk.get_json()["Operations"][0]["status"] == "400"
    assert env.gateway.get(f"{env.base}/users/count") == users_before + 1
    assert _stored_email(env, user["id"]) == f"kept{index}@corp.local"
