"""The gateway's admin session against a real Keycloak: the token is renewed before it
expires (a password session by its refresh grant, in the same Keycloak session; a service
account by a new grant), and a session Keycloak ended is logged in again on the 401, the
call answered as if nothing had happened."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bridge.keycloak import client as transport
from bridge.keycloak.client import AdminGateway
from tests.conftest import KeycloakUnderTest


@dataclass
class Operator:
    realm: str
    user_id: str
    username: str
    password: str
    client_id: str
    client_secret: str


def _claims(token: str) -> dict[str, Any]:
    """An access token's claims, read (not verified: Keycloak made it moments ago)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _grant_view_users(admin: AdminGateway, realm: str, user_id: str) -> None:
    (management,) = admin.get(f"/{realm}/clients", clientId="realm-management")
    role = admin.get(f"/{realm}/clients/{management['id']}/roles/view-users")
    admin.post(f"/{realm}/users/{user_id}/role-mappings/clients/{management['id']}", [role])


@pytest.fixture
def operator(admin: AdminGateway) -> Iterator[Operator]:
    """A throwaway realm with a user and a service account that may read its users."""
    realm = f"t-gw-{uuid.uuid4().hex[:10]}"
    admin.post("", {"realm": realm, "enabled": True})
    try:
        password = secrets.token_urlsafe(18)
        user_id = admin.post(f"/{realm}/users", {
            "username": "operator", "enabled": True, "email": "operator@example.com",
            "emailVerified": True, "firstName": "Op", "lastName": "Erator",
            "credentials": [{"type": "password", "value": password, "temporary": False}]})
        assert user_id
        _grant_view_users(admin, realm, user_id)
        secret = secrets.token_urlsafe(24)
        client_uuid = admin.post(f"/{realm}/clients", {
            "clientId": "gw-test", "secret": secret, "publicClient": False,
            "serviceAccountsEnabled": True, "standardFlowEnabled": False,
            "directAccessGrantsEnabled": False})
        account = admin.get(f"/{realm}/clients/{client_uuid}/service-account-user")
        _grant_view_users(admin, realm, account["id"])
        yield Operator(realm, user_id, "operator", password, "gw-test", secret)
    finally:
        admin.delete(f"/{realm}")


class _Clock:
    """The transport's clock, moved by hand (a token's lifetime is not waited for)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = transport.time.monotonic
        self.ahead = 0.0
        monkeypatch.setattr(transport.time, "monotonic", lambda: real() + self.ahead)


def test_a_password_session_is_refreshed_before_its_token_expires(
        keycloak: KeycloakUnderTest, operator: Operator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(monkeypatch)
    gateway = AdminGateway.with_password(keycloak.url, operator.username, operator.password,
                                         realm=operator.realm)
    assert gateway.get(f"/{operator.realm}/users/{operator.user_id}")["username"] == "operator"
    first = gateway._conn.token
    clock.ahead = int(0.9 * first["expires_in"])  # 90% of its lifetime: renewed first
    assert gateway.get(f"/{operator.realm}/users/{operator.user_id}")["id"] == operator.user_id
    second = gateway._conn.token
    assert second["access_token"] != first["access_token"]
    # the refresh grant: the same Keycloak session, not a new login
    assert _claims(second["access_token"])["sid"] == _claims(first["access_token"])["sid"]
    assert gateway.calls.total == 2 and gateway.calls.failures == {}


def test_a_session_keycloak_ended_is_logged_in_again_on_the_401(
        keycloak: KeycloakUnderTest, admin: AdminGateway, operator: Operator) -> None:
    gateway = AdminGateway.with_password(keycloak.url, operator.username, operator.password,
                                         realm=operator.realm)
    gateway.get(f"/{operator.realm}/users/{operator.user_id}")
    before = gateway._conn.token
    admin.post(f"/{operator.realm}/users/{operator.user_id}/logout")  # every session ends
    # Keycloak answers the still unexpired token 401, refuses its refresh token ("Session
    # not active"): the gateway logs in again and sends the call once more.
    assert gateway.get(f"/{operator.realm}/users/{operator.user_id}")["id"] == operator.user_id
    after = gateway._conn.token
    assert _claims(after["access_token"])["sid"] != _claims(before["access_token"])["sid"]
    assert gateway.calls.total == 2 and gateway.calls.failures == {}


def test_a_service_account_token_is_renewed_by_a_new_grant(
        keycloak: KeycloakUnderTest, operator: Operator,
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(monkeypatch)
    gateway = AdminGateway.with_client_credentials(keycloak.url, operator.realm,
                                                   operator.client_id, operator.client_secret)
    assert gateway.get(f"/{operator.realm}/users", username="operator", exact="true")
    first = gateway._conn.token
    clock.ahead = first["expires_in"] + 1  # past its end
    assert gateway.get(f"/{operator.realm}/users", username="operator", exact="true")
    second = gateway._conn.token
    assert second["access_token"] != first["access_token"]
    assert _claims(second["access_token"])["iat"] >= _claims(first["access_token"])["iat"]
    assert gateway.calls.failures == {}
