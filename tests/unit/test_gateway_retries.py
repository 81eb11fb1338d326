"""Retries of admin calls (issue 10 #9): only idempotent requests are retried, with bounded
backoff and jitter (urllib3 ``Retry``); a create whose response was lost is resolved by a
lookup, so the client gets 201 for its user and 409 only for a real duplicate."""

from __future__ import annotations

import json
import re

import requests
import responses
from flask import Flask
from responses import registries

from bridge.keycloak.client import ADMIN_RETRY, AdminGateway
from bridge.keycloak.errors import Unavailable
from bridge.provisioning import KeycloakScimBackend
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint

KC = "http://kc.test"
TOKEN = f"{KC}/realms/master/protocol/openid-connect/token"
ADMIN = f"{KC}/admin/realms/r"
AUTH = {"Authorization": "Bearer t"}
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _gateway() -> AdminGateway:
    responses.post(TOKEN, json={"access_token": "t", "expires_in": 300,
                                "refresh_token": "r", "token_type": "Bearer"})
    return AdminGateway.with_password(KC, "admin", "pw")


def _client(gateway: AdminGateway) -> object:
    app = Flask(__name__)
    app.register_blueprint(create_scim_blueprint(
        KeycloakScimBackend(gateway, "r"), lambda header: Subject("test-client")))
    return app.test_client()


def test_the_retry_policy_is_bounded_and_leaves_post_alone() -> None:
    assert "POST" not in ADMIN_RETRY.allowed_methods
    assert {"GET", "PUT", "DELETE"} <= set(ADMIN_RETRY.allowed_methods)
    assert 0 < ADMIN_RETRY.total <= 3
    assert 0 < ADMIN_RETRY.backoff_jitter
    assert 0 < ADMIN_RETRY.backoff_max <= 5
    assert not ADMIN_RETRY.respect_retry_after_header  # a proxy's Retry-After: 3600 never blocks


@responses.activate
def test_the_admin_session_uses_the_policy() -> None:
    gateway = _gateway()
    responses.get(f"{ADMIN}/users/1", json={"id": "1"})
    gateway.get("/r/users/1")
    session = gateway._conn._s  # python-keycloak's session
    for prefix in ("http://", "https://"):
        assert session.get_adapter(prefix + "kc.test").max_retries is ADMIN_RETRY


@responses.activate(registry=registries.OrderedRegistry)
def test_a_get_is_retried_after_a_503() -> None:
    gateway = _gateway()
    responses.get(f"{ADMIN}/users/1", status=503, body="starting")
    responses.get(f"{ADMIN}/users/1", json={"id": "1"})
    assert gateway.get("/r/users/1") == {"id": "1"}


@responses.activate(registry=registries.OrderedRegistry)
def test_a_post_is_never_retried() -> None:
    gateway = _gateway()
    created = responses.post(f"{ADMIN}/users", status=502, body="bad gateway")
    again = responses.post(f"{ADMIN}/users", status=201,
                           headers={"Location": f"{ADMIN}/users/u-1"})
    try:
        gateway.post("/r/users", {"username": "x"})
    except Unavailable:
        pass
    else:
        raise AssertionError("the 502 of a POST must reach the caller")
    assert created.call_count == 1
    assert again.call_count == 0


def _lookup_answers(users: list[dict[str, object]]) -> responses.BaseResponse:
    return responses.get(re.compile(rf"(?i){ADMIN}/users\?.*username=alice.*"), json=users)


@responses.activate
def test_a_create_whose_response_was_dropped_answers_201_with_the_user() -> None:
    client = _client(_gateway())
    sent: dict[str, object] = {}

    def keycloak_stores_then_the_line_drops(request: requests.PreparedRequest) -> object:
        sent.update(json.loads(request.body or "{}"))
        raise requests.ConnectionError("Connection aborted: RemoteDisconnected")

    post = responses.add_callback(responses.POST, f"{ADMIN}/users",
                                  callback=keycloak_stores_then_the_line_drops)
    # a second POST (a blind retry) would meet the user the first one created:
    responses.add(responses.POST, f"{ADMIN}/users", status=409,
                  json={"errorMessage": "User exists with same username"})
    responses.add_callback(
        responses.GET, re.compile(rf"(?i){ADMIN}/users\?.*username=alice.*"),
        callback=lambda request: (200, {}, json.dumps(
            [{**sent, "id": "u-1", "username": "alice", "createdTimestamp": 1}])))
    response = client.post("/scim/v2/Users", headers=AUTH, content_type="application/scim+json",
                           data=json.dumps({"schemas": [USER_SCHEMA], "userName": "Alice",
                                            "externalId": "hr-1"}))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"] == "u-1"
    assert body["userName"] == "Alice"
    assert body["externalId"] == "hr-1"
    assert post.call_count == 1


@responses.activate
def test_a_real_duplicate_still_answers_409() -> None:
    client = _client(_gateway())
    responses.post(f"{ADMIN}/users", status=409,
                   json={"errorMessage": "User exists with same username"})
    _lookup_answers([{"id": "other", "username": "alice", "attributes": {
        "scim.userName": ["alice"], "scim.created": ["2026-01-01T00:00:00.000+00:00"]}}])
    response = client.post("/scim/v2/Users", headers=AUTH, content_type="application/scim+json",
                           data=json.dumps({"schemas": [USER_SCHEMA], "userName": "Alice"}))
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["scimType"] == "uniqueness"


@responses.activate
def test_a_dropped_create_that_did_not_land_is_503_not_a_ghost() -> None:
    client = _client(_gateway())
    responses.post(f"{ADMIN}/users", body=requests.ConnectionError("reset"))
    _lookup_answers([])
    response = client.post("/scim/v2/Users", headers=AUTH, content_type="application/scim+json",
                           data=json.dumps({"schemas": [USER_SCHEMA], "userName": "Alice"}))
    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"]


@responses.activate
def test_a_group_create_whose_response_was_dropped_answers_201() -> None:
    client = _client(_gateway())
    responses.get(f"{ADMIN}/group-by-path/bridge/scim", json={"id": "root", "path": "/bridge/scim"})
    stored: list[dict[str, object]] = []

    def keycloak_stores_then_the_line_drops(request: requests.PreparedRequest) -> object:
        stored.append({**json.loads(request.body or "{}"), "id": "g-1", "parentId": "root",
                       "path": "/bridge/scim/Ops"})
        raise requests.ConnectionError("Connection aborted: RemoteDisconnected")

    post = responses.add_callback(responses.POST, f"{ADMIN}/groups/root/children",
                                  callback=keycloak_stores_then_the_line_drops)
    responses.add_callback(responses.GET, re.compile(rf"{ADMIN}/groups/root/children\?.*"),
                           callback=lambda request: (200, {}, json.dumps(stored)))
    responses.get(re.compile(rf"{ADMIN}/groups/g-1/members.*"), json=[])
    response = client.post("/scim/v2/Groups", headers=AUTH, content_type="application/scim+json",
                           data=json.dumps({"schemas": [GROUP_SCHEMA], "displayName": "Ops",
                                            "externalId": "ops-1"}))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] == "g-1"
    assert response.get_json()["externalId"] == "ops-1"
    assert post.call_count == 1
