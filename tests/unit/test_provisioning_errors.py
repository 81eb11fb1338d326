"""KeycloakScimBackend error paths, with Keycloak mocked by ``responses``: an unreachable,
slow or failing Keycloak is a SCIM 503 with Retry-After, never a 500 with a trace."""

from __future__ import annotations

import json
import logging
import re

import pytest
import requests
import responses
from flask import Flask

from bridge.keycloak.client import AdminGateway
from bridge.provisioning import KeycloakScimBackend
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint

KC = "http://kc.test"
TOKEN = f"{KC}/realms/master/protocol/openid-connect/token"
ADMIN = f"{KC}/admin/realms/r"
AUTH = {"Authorization": "Bearer t"}
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "alice",
        "password": "Pa55-word-never-logged"}


def _app() -> Flask:
    responses.post(TOKEN, json={"access_token": "t", "expires_in": 300,
                                "refresh_token": "r", "token_type": "Bearer"})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    backend = KeycloakScimBackend(gateway, "r", retry_after=7)
    app = Flask(__name__)
    app.register_blueprint(create_scim_blueprint(
        backend, lambda header: Subject("test-client") if header else None))
    return app


def _assert_503(response: object) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response.headers["Retry-After"] == "7"  # type: ignore[attr-defined]
    body = response.get_json()  # type: ignore[attr-defined]
    assert body["status"] == "503"
    assert "Traceback" not in json.dumps(body)


ANY_USERS = re.compile(rf"{ADMIN}/users.*")
FAILURES = {
    "refused": {"body": requests.ConnectionError("refused")},
    "timeout": {"body": requests.ReadTimeout("slow")},
    "500": {"status": 500, "json": {"error": "unknown_error"}},
    "502": {"status": 502, "body": "bad gateway"},
    "503": {"status": 503, "body": "starting"},
}


@responses.activate
@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/Users/1", None),
    ("GET", '/Users?filter=userName eq "alice"', None),
    ("POST", "/Users", USER),
    ("PATCH", "/Users/1", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "value": {"active": False}}]}),
    ("DELETE", "/Users/1", None),
])
def test_keycloak_down_is_503_with_retry_after(
        failure: str, method: str, path: str, body: object,
        caplog: pytest.LogCaptureFixture) -> None:
    client = _app().test_client()
    for verb in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
        responses.add(verb, ANY_USERS, **FAILURES[failure])
    caplog.set_level(logging.DEBUG)
    response = client.open(f"/scim/v2{path}", method=method, headers=AUTH,
                           data=json.dumps(body) if body else None,
                           content_type="application/scim+json")
    _assert_503(response)
    assert "Pa55-word-never-logged" not in caplog.text


@responses.activate
@pytest.mark.parametrize("failure", ["refused", "timeout", "500"])
def test_groups_down_is_503(failure: str) -> None:
    client = _app().test_client()
    responses.add(responses.GET, re.compile(rf"{ADMIN}/group.*"), **FAILURES[failure])
    _assert_503(client.get("/scim/v2/Groups", headers=AUTH))
    _assert_503(client.get("/scim/v2/Groups/abc", headers=AUTH))


@responses.activate
def test_create_timing_out_is_503_not_500() -> None:
    client = _app().test_client()
    responses.post(f"{ADMIN}/users", body=requests.ReadTimeout("slow"))
    _assert_503(client.post("/scim/v2/Users", headers=AUTH, data=json.dumps(USER),
                            content_type="application/scim+json"))


@responses.activate
def test_keycloak_409_is_uniqueness_and_400_is_invalid_value() -> None:
    client = _app().test_client()
    responses.post(f"{ADMIN}/users", status=409,
                   json={"errorMessage": "User exists with same username"})
    conflict = client.post("/scim/v2/Users", headers=AUTH, data=json.dumps(USER),
                           content_type="application/scim+json")
    assert conflict.status_code == 409
    assert conflict.get_json()["scimType"] == "uniqueness"
    responses.replace(responses.POST, f"{ADMIN}/users", status=400,
                      json={"errorMessage": "error-invalid-length"})
    invalid = client.post("/scim/v2/Users", headers=AUTH, data=json.dumps(USER),
                          content_type="application/scim+json")
    assert invalid.status_code == 400
    assert invalid.get_json()["scimType"] == "invalidValue"
    assert "Pa55-word-never-logged" not in invalid.get_data(as_text=True)


@responses.activate
def test_missing_managed_root_is_503_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    client = _app().test_client()
    responses.get(f"{ADMIN}/group-by-path/bridge/scim", status=404,
                  json={"error": "Group path does not exist"})
    caplog.set_level(logging.ERROR)
    _assert_503(client.get("/scim/v2/Groups", headers=AUTH))
    assert "/bridge/scim" in caplog.text
