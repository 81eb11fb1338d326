"""A user cannot change, through Keycloak's account API, what administrators manage."""

from __future__ import annotations

import requests

from tests.conftest import RealmUnderTest
from tests.support.login import Browserless

PASSWORD = "A-long-enough-pass-1"


def _user_token(realm: RealmUnderTest) -> tuple[str, str]:
    base = f"/{realm.name}"
    user_id = realm.admin.post(f"{base}/users", {
        "username": "self.service", "email": "self.service@example.com", "enabled": True,
        "emailVerified": True, "firstName": "Self", "lastName": "Service",
        "attributes": {"scim.externalId": ["hr-42"], "status": ["client"],
                       "profiles": ["full-access"], "toggles": ["payments"],
                       "perimeter.project": ["p1"], "permissions": ["documents.view"]},
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
    # Signed in as a person reaches the account API: through Keycloak's account console
    # (no client of the realm takes a password grant).
    tokens = Browserless().sign_in(realm.issuer, "self.service", PASSWORD,
                                   client_id="account-console",
                                   redirect_uri=f"{realm.issuer}/account/")
    return str(user_id), tokens.access_token


def test_user_cannot_change_managed_identity_or_attributes(fresh_realm: RealmUnderTest) -> None:
    user_id, token = _user_token(fresh_realm)
    account = f"{fresh_realm.issuer}/account"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    mine = requests.get(account, headers=headers, timeout=30)
    assert mine.status_code == 200, mine.text
    # Admin-only attributes are not even shown to the user.
    for name in ("scim.externalId", "perimeter.project", "permissions", "toggles"):
        assert name not in mine.text
    attempts = [
        {"username": "someone.else"},
        {"email": "other@example.com"},
        {"attributes": {"status": ["employee"], "profiles": ["administrator"],
                        "toggles": ["everything"], "perimeter.project": ["p1", "p2"],
                        "permissions": ["users.manage"], "scim.externalId": ["forged"]}},
    ]
    for change in attempts:
        body = {**mine.json(), **change}
        requests.post(account, json=body, headers=headers, timeout=30)
    # The same channel does change what the user may change: the refusals above are real.
    allowed = requests.post(account, json={**mine.json(), "firstName": "Renamed"},
                            headers=headers, timeout=30)
    assert allowed.status_code in (200, 204), allowed.text
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{user_id}")
    assert stored["firstName"] == "Renamed"
    assert stored["username"] == "self.service"
    assert stored["email"] == "self.service@example.com"
    assert stored["attributes"]["status"] == ["client"]
    assert stored["attributes"]["profiles"] == ["full-access"]
    assert stored["attributes"]["toggles"] == ["payments"]
    assert stored["attributes"]["perimeter.project"] == ["p1"]
    assert stored["attributes"]["permissions"] == ["documents.view"]
    assert stored["attributes"]["scim.externalId"] == ["hr-42"]


def test_administrator_can_rename(fresh_realm: RealmUnderTest) -> None:
    user_id, _ = _user_token(fresh_realm)
    base = f"/{fresh_realm.name}/users/{user_id}"
    fresh_realm.admin.put(base, {"username": "renamed.user"})
    assert fresh_realm.admin.get(base)["username"] == "renamed.user"
