"""Gateway failure paths (Keycloak errors and outages) become typed errors, not tracebacks."""

from __future__ import annotations

import pytest
import requests
import responses

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import Conflict, GatewayError, NotFound, Unavailable

KC = "http://kc.test"
TOKEN = f"{KC}/realms/master/protocol/openid-connect/token"


def _gateway() -> AdminGateway:
    responses.post(TOKEN, json={"access_token": "t", "expires_in": 300,
                                "refresh_token": "r", "token_type": "Bearer"})
    return AdminGateway.with_password(KC, "admin", "pw")


@responses.activate
@pytest.mark.parametrize(("status", "error"), [
    (404, NotFound), (409, Conflict), (503, Unavailable), (502, Unavailable),
    (500, GatewayError), (400, GatewayError),
])
def test_status_codes_become_typed_errors(status: int, error: type[Exception]) -> None:
    gateway = _gateway()
    responses.get(f"{KC}/admin/realms/r/users/1", status=status,
                  json={"errorMessage": "nope"})
    with pytest.raises(error) as caught:
        gateway.get("/r/users/1")
    assert "GET /r/users/1" in str(caught.value)


@responses.activate
def test_connection_failure_is_unavailable() -> None:
    gateway = _gateway()
    responses.get(f"{KC}/admin/realms/r", body=requests.ConnectionError("refused"))
    with pytest.raises(Unavailable, match="Keycloak unreachable"):
        gateway.get("/r")


@responses.activate
def test_timeout_is_unavailable() -> None:
    gateway = _gateway()
    responses.get(f"{KC}/admin/realms/r", body=requests.ReadTimeout("slow"))
    with pytest.raises(Unavailable):
        gateway.get("/r")


@responses.activate
def test_login_refused_names_the_user_not_the_password() -> None:
    responses.post(TOKEN, status=401, json={"error": "invalid_grant"})
    gateway = AdminGateway.with_password(KC, "admin", "hunter2-secret")
    with pytest.raises(GatewayError) as caught:
        gateway.get("/r")
    assert "admin" in str(caught.value)
    assert "hunter2-secret" not in str(caught.value)


@responses.activate
def test_calls_are_counted_and_location_ids_returned() -> None:
    gateway = _gateway()
    responses.post(f"{KC}/admin/realms/r/users", status=201,
                   headers={"Location": f"{KC}/admin/realms/r/users/abc-123"})
    assert gateway.post("/r/users", {"username": "x"}) == "abc-123"
    assert gateway.calls.total == 1
    assert gateway.calls.by_kind == {"POST /r/users": 1}
