"""A user cannot change, through Keycloak's account API, what administrators manage."""

from __future__ import annotations

import requests

from tests.conftest import RealmUnderTest

PASSWORD = "A-long-enough-pass-1"


def _user_token(realm: RealmUnderTest) -> tuple[str, str]:
    base = f"/{realm.name}"
    user_id = realm.admin.post(f"{base}/users", {
        "username": "self.service", "email": "self.service@example.com", "enabled": True,
        "emailVerified": True, "firstName": "Self", "lastName": "Service",
        "attributes": {"scim.externalId": ["hr-42"], "access.status": ["client"]},
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
    token = requests.post(f"{realm.issuer}/protocol/openid-connect/token", data={
        "grant_type": "password", "client_id": "admin-cli", "username": "self.service",
        "password": PASSWORD}, timeout=30)
    assert token.status_code == 200, token.text
    return str(user_id), token.json()["access_token"]


def test_user_cannot_change_managed_identity_or_attributes(fresh_realm: RealmUnderTest) -> None:
    user_id, token = _user_token(fresh_realm)
    account = f"{fresh_realm.issuer}/account"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    mine = requests.get(account, headers=headers, timeout=30)
    assert mine.status_code == 200, mine.text
    # Admin-only attributes are not even shown to the user.
    assert "scim.externalId" not in mine.text and "access.status" not in mine.text
    attempts = [
        {"username": "someone.else"},
        {"email": "other@example.com"},
        {"attributes": {"access.status": ["employee"], "scim.externalId": ["forged"]}},
    ]
    for change in attempts:
        body = {**mine.json(), **change}
        requests.post(account, json=body, headers=headers, timeout=30)
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{user_id}")
    assert stored["username"] == "self.service"
    assert stored["email"] == "self.service@example.com"
    assert stored["attributes"]["access.status"] == ["client"]
    assert stored["attributes"]["scim.externalId"] == ["hr-42"]


def test_administrator_can_rename(fresh_realm: RealmUnderTest) -> None:
    user_id, _ = _user_token(fresh_realm)
    base = f"/{fresh_realm.name}/users/{user_id}"
    fresh_realm.admin.put(base, {"username": "renamed.user"})
    assert fresh_realm.admin.get(base)["username"] == "renamed.user"
