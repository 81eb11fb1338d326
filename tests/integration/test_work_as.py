"""Seed 002's "work as" (a Contributor acting on behalf of other users), measured on the
real Keycloak.

``docs/access-catalog.md`` ("Working on behalf of another user") tells apps to gate "work
as" on the catalog's ``work-as`` permission in the acting user's own token and to choose
the subject in the app, because Keycloak (26.7, no preview feature) issues no token that
names both people. These tests pin each fact that advice rests on, so an upgrade that
changes one of them fails here instead of leaving the doc silently wrong:

- standard token exchange (V2) keeps the subject and adds no ``act`` claim;
- it refuses ``requested_subject`` (a different subject) and silently ignores an
  ``actor_token`` (no ``act`` claim, no error);
- admin impersonation answers with no token at all: a redirect to the account console
  and the user's own SSO cookies, i.e. a browser session *as* the user.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.conftest import KeycloakUnderTest, RealmUnderTest
from tests.integration.test_catalog_tokens import PASSWORD, Seed
from tests.support.login import Browserless, verified_claims

TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
APP = "work-as-app"  # a back end that would like to act for the signed-in Contributor


class WorkAs:
    """Seed 002 with a Contributor and a User, and a confidential app client allowed to
    use standard token exchange; portal tokens name the app in their audience, as V2
    requires of the requester."""

    def __init__(self, realm: RealmUnderTest) -> None:
        self.realm = realm
        self.seed = Seed(realm, "002-crm-roles-toggles")
        self.contributor_id = self.seed.user("contrib.one", userType="internal",
                                             status="staff", profile="contributor")
        self.user_id = self.seed.user("user.one", userType="internal", status="staff",
                                      profile="user")
        self.secret = "work-as-app-secret-for-tests"
        realm.admin.post(f"/{realm.name}/clients", {
            "clientId": APP, "enabled": True, "publicClient": False, "secret": self.secret,
            "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
            "serviceAccountsEnabled": False,
            "attributes": {"standard.token.exchange.enabled": "true"}})
        portal = realm.admin.get(f"/{realm.name}/clients", clientId="portal")[0]["id"]
        realm.admin.post(f"/{realm.name}/clients/{portal}/protocol-mappers/models", {
            "name": f"audience {APP}", "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.client.audience": APP, "access.token.claim": "true",
                       "id.token.claim": "false"}})

    def token_of(self, name: str) -> str:
        return Browserless().sign_in(self.realm.issuer, name, PASSWORD).access_token

    def exchange(self, subject_token: str, **extra: str) -> requests.Response:
        return requests.post(f"{self.realm.issuer}/protocol/openid-connect/token", data={
            "grant_type": TOKEN_EXCHANGE, "subject_token": subject_token,
            "subject_token_type": ACCESS_TOKEN_TYPE, **extra},
            auth=(APP, self.secret), timeout=30)


@pytest.fixture
def work_as(fresh_realm: RealmUnderTest) -> WorkAs:
    return WorkAs(fresh_realm)


def _claims(realm: RealmUnderTest, token: str) -> dict[str, Any]:
    return verified_claims(token, realm.issuer)


def test_002_work_as_permission_is_in_a_contributors_token_only(work_as: WorkAs) -> None:
    contributor = work_as.seed.login("contrib.one")
    user = work_as.seed.login("user.one")
    assert "work-as" in contributor["permissions"]
    assert "work-as" not in user["permissions"]
    assert "work-as" in contributor["roles"] and "work-as" not in user["roles"]


def test_standard_token_exchange_keeps_the_subject_and_adds_no_act_claim(
        work_as: WorkAs) -> None:
    answer = work_as.exchange(work_as.token_of("contrib.one"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    claims = _claims(work_as.realm, body["access_token"])
    assert claims["sub"] == work_as.contributor_id
    assert claims["azp"] == APP
    assert "act" not in claims and "may_act" not in claims


def test_standard_token_exchange_refuses_another_subject(work_as: WorkAs) -> None:
    answer = work_as.exchange(work_as.token_of("contrib.one"),
                              requested_subject=work_as.user_id)
    assert answer.status_code == 400, answer.text
    assert answer.json() == {
        "error": "invalid_request",
        "error_description": "Parameter 'requested_subject' is not supported for "
                             "standard token exchange"}


def test_standard_token_exchange_ignores_an_actor_token(work_as: WorkAs) -> None:
    # Delegation (RFC 8693 section 4.1): the user's token as subject, the Contributor's as
    # actor. Keycloak 26.7 has no delegation and does not refuse the parameter either: it
    # answers with a plain token of the subject, with nothing naming the actor. An app
    # must never read such a token as "the Contributor acting for the user".
    answer = work_as.exchange(work_as.token_of("user.one"),
                              actor_token=work_as.token_of("contrib.one"),
                              actor_token_type=ACCESS_TOKEN_TYPE)
    assert answer.status_code == 200, answer.text
    claims = _claims(work_as.realm, answer.json()["access_token"])
    assert claims["sub"] == work_as.user_id
    assert "act" not in claims and "may_act" not in claims
    assert work_as.contributor_id not in answer.text


def test_admin_impersonation_is_a_browser_session_as_the_user(work_as: WorkAs) -> None:
    realm = work_as.realm
    keycloak = realm.keycloak
    admin_token = requests.post(
        f"{keycloak.url}/realms/master/protocol/openid-connect/token",
        data={"grant_type": "password", "client_id": "admin-cli",
              "username": keycloak.admin_username, "password": keycloak.admin_password},
        timeout=30).json()["access_token"]
    browser = requests.Session()
    answer = browser.post(
        f"{keycloak.url}/admin/realms/{realm.name}/users/{work_as.user_id}/impersonation",
        headers={"Authorization": f"Bearer {admin_token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    # No token at all: a redirect to the account console and the user's SSO cookies.
    assert set(body) == {"sameRealm", "redirect"}
    assert body["sameRealm"] is False  # the administrator signed in to master
    assert body["redirect"].endswith(f"/realms/{realm.name}/account")
    assert "KEYCLOAK_IDENTITY" in browser.cookies
    # The cookies are the user's own SSO session (Secure, for a browser): a client the
    # browser then opens gets the user's tokens, like any login of the user.
    assert browser.cookies.get("KEYCLOAK_IDENTITY", path=f"/realms/{realm.name}/")


def test_delegation_and_legacy_exchange_are_not_supported_features(
        keycloak: KeycloakUnderTest) -> None:
    # What the server itself says of the features "work as" could use: only standard
    # exchange (V2) is a default feature; the legacy exchange (subject impersonation) is a
    # deprecated preview needing deprecated FGAP v1, and delegation (act/may_act) is
    # experimental. A server started with extra --features is not the product's shape.
    features = {f["name"]: (f["type"], f["enabled"])
                for f in keycloak.server_info["features"]}
    assert features["TOKEN_EXCHANGE_STANDARD_V2"] == ("DEFAULT", True)
    assert features["TOKEN_EXCHANGE"] == ("PREVIEW", False)
    assert features["ADMIN_FINE_GRAINED_AUTHZ"] == ("DEPRECATED", False)
    assert features["TOKEN_EXCHANGE_DELEGATION"] == ("EXPERIMENTAL", False)
