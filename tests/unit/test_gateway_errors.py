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
    assert gateway.calls.by_kind == {"POST /{realm}/users": 1}


@pytest.mark.parametrize(("env", "proxies"), [
    ({"HTTP_PROXY": "http://proxy.test:3128"}, {"http": "http://proxy.test:3128"}),
    ({"HTTP_PROXY": "http://proxy.test:3128", "NO_PROXY": "kc.test"}, {}),
    ({}, {}),
])
def test_proxy_environment_is_resolved_once_and_still_honoured(
        monkeypatch: pytest.MonkeyPatch, env: dict[str, str], proxies: dict[str, str]) -> None:
    from keycloak import KeycloakOpenIDConnection

    from bridge.keycloak.client import _settle_environment

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
                 "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    connection = KeycloakOpenIDConnection(server_url=KC, realm_name="master")
    _settle_environment(connection)
    session = connection._s
    assert session.trust_env is False
    assert {k: v for k, v in session.proxies.items() if k in ("http", "https")} == proxies


@responses.activate
@pytest.mark.parametrize("user_id", ["profile", "count", ""])
def test_ids_keycloak_routes_elsewhere_name_no_user(user_id: str) -> None:
    # GET /users/profile is the realm's user profile, PUT would replace it: never sent.
    from bridge.keycloak import users

    gateway = _gateway()
    with pytest.raises(NotFound):
        users.get(gateway, "r", user_id)
    with pytest.raises(NotFound):
        users.update(gateway, "r", user_id, {"enabled": False})
    with pytest.raises(NotFound):
        users.delete(gateway, "r", user_id)
    assert all("/admin/" not in c.request.url for c in responses.calls)
