"""Invitations, activation, MFA, lifecycle and delegated administration on a real Keycloak.

Each test applies a seed catalog to a fresh realm (as ``test_catalog_scim.py`` does), builds
the bridge with ``create_app(Settings(..., catalog_path=...))``, calls ``/api/v1`` with access
tokens from real logins (``tests/support/login.py``: authorization code + PKCE S256 through
Keycloak's pages) and reads the activation mails at the session's SMTP sink.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment, Catalog
from bridge.cli import cli
from bridge.config import Settings
from bridge.local.mailsink import Mail, MailSink
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.login import Browserless, FlowError, LoginError, TokenError, Tokens

EXAMPLES = REALM_CONFIG / "examples"
PASSWORD = "A-long-enough-pass-1"
NEW_PASSWORD = "Chosen-at-activation-2"
REDIRECT_URI = "http://127.0.0.1:3000/"


@dataclass
class Bridge:
    realm: RealmUnderTest
    catalog: Catalog
    directory: Path
    http: FlaskClient

    def email(self, name: str) -> str:
        return f"{name}@{self.realm.name}.example.com"

    def person(self, name: str, assignment: Assignment) -> str:
        """A user of the product with a password, created directly in Keycloak (the
        catalog's groups and attributes, as any write path would leave them)."""
        state = user_state(self.catalog, assignment)
        user_id = self.realm.admin.post(f"/{self.realm.name}/users", {
            "username": name, "email": self.email(name), "enabled": True,
            "emailVerified": True, "firstName": "Test", "lastName": name,
            "attributes": state.attribute_lists(), "groups": sorted(state.groups),
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
        assert user_id
        return user_id

    def token(self, name: str) -> str:
        return Browserless().sign_in(self.realm.issuer, name, PASSWORD).access_token

    def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        return self.http.open(f"/api/v1{path}", method=method, json=body,
                              headers={"Authorization": f"Bearer {token}"})

    def user(self, user_id: str) -> dict[str, Any]:
        return self.realm.admin.get(f"/{self.realm.name}/users/{user_id}")

    def cli(self, *args: str) -> Any:
        env = {"KEYCLOAK_URL": self.realm.keycloak.url, "BRIDGE_REALM": self.realm.name,
               "BRIDGE_CLIENT_ID": "bridge",
               "BRIDGE_CLIENT_SECRET": self.realm.env["BRIDGE_CLIENT_SECRET"],
               "BRIDGE_CATALOG": str(self.directory)}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _bridge(realm: RealmUnderTest, example: str) -> Bridge:
    directory = EXAMPLES / example
    realm.apply([REALM_CONFIG, directory])
    settings = Settings(keycloak_url=realm.keycloak.url, realm=realm.name, client_id="bridge",
                        client_secret=realm.env["BRIDGE_CLIENT_SECRET"],
                        catalog_path=str(directory))
    app = create_app(settings)
    return Bridge(realm, load_catalog(directory), directory, app.test_client())


def _activation_link(mail: Mail) -> str:
    return next(u for u in mail.links if "/login-actions/action-token" in u)


# -- seed 000: an external client, in French, with a perimeter ------------------------------

def test_000_invite_client_in_french_then_token_carries_exactly_its_perimeter(
        fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge = _bridge(fresh_realm, "000-field-services")
    bridge.person("ada.admin", Assignment.of("internal", "administrator"))
    token = bridge.token("ada.admin")
    email = bridge.email("claire.client")

    answer = bridge.call("POST", "/invitations", token, {
        "email": email, "user_type": "external", "status": "client", "language": "fr",
        "perimeter": {"project": ["p1", "p2"], "team": ["t1"]},
        "first_name": "Claire", "last_name": "Client",
        "client_id": "portal", "redirect_uri": REDIRECT_URI})
    assert answer.status_code == 201, answer.get_json()
    invitation = answer.get_json()["invitation"]
    assert answer.get_json()["outcome"] == "invited"
    assert invitation["state"] == "pending" and invitation["language"] == "fr"
    assert invitation["invited_by"] == "user:ada.admin"
    user = bridge.user(invitation["id"])
    assert set(user["requiredActions"]) == {"UPDATE_PASSWORD", "VERIFY_EMAIL"}
    assert user["enabled"] is True and user["attributes"]["locale"] == ["fr"]

    listed = bridge.call("GET", "/invitations", token).get_json()["items"]
    assert [i["email"] for i in listed] == [email]

    mail = mail_sink.wait_for(email)
    assert mail.subject == "SaaS access : votre invitation, activez votre compte"
    outcome = Browserless().follow_action_link(_activation_link(mail),
                                               new_password=NEW_PASSWORD)
    assert outcome.page is not None and outcome.page.lang == "fr"
    assert outcome.back_link == REDIRECT_URI

    tokens = Browserless().sign_in(fresh_realm.issuer, email, NEW_PASSWORD)
    claims = tokens.access_claims
    assert claims["perimeter"] == {"project": ["p1", "p2"], "team": ["t1"]}
    assert (claims["user_type"], claims["status"]) == ("external", "client")
    assert "users.write" not in claims["permissions"]

    # Activated: no longer pending, and a second invitation creates nothing.
    assert bridge.call("GET", "/invitations", token).get_json()["items"] == []
    again = bridge.call("POST", "/invitations", token, {"email": email.upper(),
                                                        "status": "client",
                                                        "perimeter": {"project": ["p1"]}})
    assert again.status_code == 409
    assert again.get_json()["outcome"] == "already-active"
    assert len(fresh_realm.admin.get(f"/{fresh_realm.name}/users", email=email)) == 1


def test_000_rules_are_checked_and_named(fresh_realm: RealmUnderTest) -> None:
    bridge = _bridge(fresh_realm, "000-field-services")
    bridge.person("ada.admin", Assignment.of("internal", "administrator"))
    bridge.person("max.manager", Assignment.of("internal", "manager",
                                               perimeter={"project": ["p1"]}))
    admin, manager = bridge.token("ada.admin"), bridge.token("max.manager")

    refused = bridge.call("POST", "/invitations", admin, {
        "email": bridge.email("bad"), "status": "client", "toggles": ["manage-alerts"]})
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "status.forbidden-permission"
    assert "alerts.write" in refused.get_json()["detail"]

    outside = bridge.call("POST", "/invitations", manager, {
        "email": bridge.email("far"), "status": "client", "perimeter": {"project": ["p9"]}})
    assert outside.status_code == 403
    assert outside.get_json()["error"] == "delegation.perimeter"
    inside = bridge.call("POST", "/invitations", manager, {
        "email": bridge.email("near"), "status": "client",
        "perimeter": {"position": ["p1/gate-3"]}})
    assert inside.status_code == 201, inside.get_json()
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users",
                                 email=bridge.email("far"), exact="true") == []


# -- seed 003: an external technician enrols OTP at activation ------------------------------

def test_003_technician_invited_by_cli_must_enrol_and_use_otp(
        fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge = _bridge(fresh_realm, "003-childcare-technician")
    email = bridge.email("theo.tech")
    result = bridge.cli("invite", email, "--status", "external-technician",
                        "--profile", "external-technician", "--redirect-uri", REDIRECT_URI,
                        "--first-name", "Theo", "--last-name", "Tech")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("invited: ")  # audit lines go to stderr
    user = fresh_realm.admin.get(f"/{fresh_realm.name}/users", email=email)[0]
    assert set(user["requiredActions"]) == {"UPDATE_PASSWORD", "VERIFY_EMAIL",
                                            "CONFIGURE_TOTP"}

    mail = mail_sink.wait_for(email)
    link = _activation_link(mail)
    activation = Browserless()
    outcome = activation.follow_action_link(link, new_password=NEW_PASSWORD, totp=True)
    assert "login-login-config-totp" in activation.seen
    assert outcome.totp is not None

    without_otp = Browserless()
    without_otp.authorize(fresh_realm.issuer)
    with pytest.raises(FlowError, match="one-time code"):
        without_otp.login(email, NEW_PASSWORD)
    assert without_otp.location is None  # no code, hence no token

    client = Browserless()
    client.authorize(fresh_realm.issuer)
    tokens = client.login(email, NEW_PASSWORD, totp=outcome.totp)
    assert "login-login-otp" in client.seen
    claims = tokens.access_claims
    technician = ["boards.manage", "doors.manage", "tv.manage"]
    assert sorted(claims["permissions"]) == technician
    assert sorted(claims["roles"]) == technician
    assert claims["status"] == "external-technician"
    assert claims["profile"] == ["external-technician"]

    # The exclusive role refuses company, with the rule named (CLI: exit 1).
    refused = bridge.cli("invite", bridge.email("two.roles"), "--status",
                         "external-technician", "--profile", "external-technician",
                         "--profile", "educator")
    assert refused.exit_code == 1
    assert "exclusive.profile" in refused.output


# -- seed 004: delegation and lifecycle --------------------------------------------------

def _accounting(realm: RealmUnderTest) -> tuple[Bridge, str]:
    bridge = _bridge(realm, "004-accounting-portal")
    bridge.person("anna.admin", Assignment.of("external", "client-user", "administrator",
                                              tenants=["dossier-acme"]))
    return bridge, bridge.token("anna.admin")


def test_004_administrator_invites_only_into_its_own_dossier(
        fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge, admin = _accounting(fresh_realm)
    bridge.person("fred.full", Assignment.of("external", "client-user", "full-access",
                                             tenants=["dossier-acme"]))
    full = bridge.token("fred.full")

    own = bridge.call("POST", "/invitations", admin, {
        "email": bridge.email("new.acme"), "status": "client-user",
        "profile": "document-delivery", "tenants": ["dossier-acme"], "language": "en"})
    assert own.status_code == 201, own.get_json()
    assert mail_sink.wait_for(bridge.email("new.acme")).subject == (
        "SaaS access: your invitation, activate your account")

    other = bridge.call("POST", "/invitations", admin, {
        "email": bridge.email("new.bakery"), "status": "client-user",
        "profile": "document-delivery", "tenants": ["dossier-bakery"]})
    assert other.status_code == 403
    assert other.get_json()["error"] == "delegation.tenant"
    assert "dossier-bakery" in other.get_json()["detail"]

    by_full = bridge.call("POST", "/invitations", full, {
        "email": bridge.email("by.full"), "status": "client-user",
        "profile": "document-delivery", "tenants": ["dossier-acme"]})
    assert by_full.status_code == 403
    assert by_full.get_json()["error"] == "delegation.not-allowed"
    for name in ("new.bakery", "by.full"):
        assert fresh_realm.admin.get(f"/{fresh_realm.name}/users",
                                     email=bridge.email(name), exact="true") == []

    # The full-access user sees no invitation; the administrator sees its dossier's.
    assert bridge.call("GET", "/invitations", full).get_json()["items"] == []
    listed = bridge.call("GET", "/invitations", admin).get_json()["items"]
    assert [i["email"] for i in listed] == [bridge.email("new.acme")]

    # No token, no access; a forged one neither.
    assert bridge.http.get("/api/v1/invitations").status_code == 401
    assert bridge.call("GET", "/invitations", admin[:-4] + "AAAA").status_code == 401


def test_004_deactivated_user_cannot_log_in_and_refresh_fails_until_reactivated(
        fresh_realm: RealmUnderTest) -> None:
    bridge, admin = _accounting(fresh_realm)
    user_id = bridge.person("dora.doc", Assignment.of(
        "external", "client-user", "document-processing", tenants=["dossier-acme"]))
    client = Browserless()
    tokens: Tokens = client.sign_in(fresh_realm.issuer, "dora.doc", PASSWORD)
    tokens = client.refresh(tokens)

    answer = bridge.call("POST", f"/users/{user_id}/deactivate", admin)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["user"]["enabled"] is False
    with pytest.raises(TokenError) as refused:
        client.refresh(tokens)
    assert refused.value.error == "invalid_grant"
    with pytest.raises(LoginError, match="Account is disabled"):
        Browserless().sign_in(fresh_realm.issuer, "dora.doc", PASSWORD)
    # The deactivated user's still-valid access token no longer opens the API either.
    assert bridge.call("GET", "/invitations", tokens.access_token).status_code == 401

    assert bridge.call("POST", f"/users/{user_id}/reactivate", admin).status_code == 200
    again = Browserless().sign_in(fresh_realm.issuer, "dora.doc", PASSWORD)
    assert again.access_claims["profile"] == "document-processing"

    # The same through the CLI (operator mode), by e-mail.
    result = bridge.cli("user", "deactivate", bridge.email("dora.doc"))
    assert result.exit_code == 0, result.output
    assert bridge.user(user_id)["enabled"] is False
    assert bridge.cli("user", "reactivate", user_id).exit_code == 0
    assert bridge.user(user_id)["enabled"] is True


def test_004_profile_change_shows_in_next_token_and_other_dossiers_are_out_of_reach(
        fresh_realm: RealmUnderTest) -> None:
    bridge, admin = _accounting(fresh_realm)
    user_id = bridge.person("paul.proc", Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-acme"]))
    outsider = bridge.person("olga.other", Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-bakery"]))

    changed = bridge.call("PATCH", f"/users/{user_id}", admin, {"profile": "full-access",
                                                                 "language": "fr"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["user"]["profiles"] == ["full-access"]
    claims = Browserless().sign_in(fresh_realm.issuer, "paul.proc", PASSWORD).access_claims
    assert claims["profile"] == "full-access"
    assert "payments.use" in claims["permissions"]  # dossier-acme enables payments
    groups = sorted(g["path"] for g in fresh_realm.admin.get(
        f"/{fresh_realm.name}/users/{user_id}/groups"))
    assert groups == ["/bridge/catalog/profile/full-access",
                      "/bridge/catalog/status/client-user"]
    # (The dossier is an organization now, not a group; this user was made directly in
    # Keycloak, so only `bridge catalog reconcile` would make it a member.)

    moved = bridge.call("PATCH", f"/users/{user_id}", admin, {"tenants": ["dossier-bakery"]})
    assert moved.status_code == 403 and moved.get_json()["error"] == "delegation.tenant"
    for method, path in (("POST", f"/users/{outsider}/deactivate"),
                         ("DELETE", f"/users/{outsider}"),
                         ("PATCH", f"/users/{outsider}")):
        answer = bridge.call(method, path, admin, {"profile": "full-access"}
                             if method == "PATCH" else None)
        assert answer.status_code == 403, (method, path, answer.get_json())
    assert bridge.user(outsider)["enabled"] is True

    assert bridge.call("DELETE", f"/users/{user_id}", admin).status_code == 204
    assert bridge.call("GET", f"/users/{user_id}", admin).status_code == 404


# -- pending invitations: duplicate, resend, expiry, revoke ------------------------------

def test_revoked_invitation_link_no_longer_works(fresh_realm: RealmUnderTest,
                                                 mail_sink: MailSink) -> None:
    bridge, admin = _accounting(fresh_realm)
    email = bridge.email("rita.revoked")
    invited = bridge.call("POST", "/invitations", admin, {
        "email": email, "status": "client-user", "profile": "document-delivery",
        "tenants": ["dossier-acme"], "redirect_uri": REDIRECT_URI})
    assert invited.status_code == 201
    invitation_id = invited.get_json()["invitation"]["id"]
    link = _activation_link(mail_sink.wait_for(email))

    assert bridge.call("DELETE", f"/invitations/{invitation_id}", admin).status_code == 204
    assert bridge.call("GET", "/invitations", admin).get_json()["items"] == []
    with pytest.raises(LoginError):
        Browserless().follow_action_link(link, new_password=NEW_PASSWORD)
    assert bridge.call("DELETE", f"/invitations/{invitation_id}", admin).status_code == 404


def test_duplicate_resend_and_expiry(fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge, admin = _accounting(fresh_realm)
    email = bridge.email("eve.expiring")
    body = {"email": email, "status": "client-user", "profile": "document-delivery",
            "tenants": ["dossier-acme"], "lifespan": 2, "redirect_uri": REDIRECT_URI}
    first = bridge.call("POST", "/invitations", admin, body)
    assert first.status_code == 201
    invitation_id = first.get_json()["invitation"]["id"]
    old_link = _activation_link(mail_sink.wait_for(email))

    again = bridge.call("POST", "/invitations", admin, body)
    assert again.status_code == 200
    assert again.get_json()["outcome"] == "already-invited"
    assert again.get_json()["invitation"]["id"] == invitation_id

    time.sleep(3)
    listed = bridge.call("GET", "/invitations", admin).get_json()["items"]
    assert [(i["id"], i["state"]) for i in listed] == [(invitation_id, "expired")]
    assert [i["id"] for i in bridge.call("GET", "/invitations?state=pending", admin)
            .get_json()["items"]] == []
    with pytest.raises(LoginError, match=r"(?i)expired|no longer valid"):
        Browserless().follow_action_link(old_link, new_password=NEW_PASSWORD)

    sent = len([m for m in mail_sink.messages() if email in m.to])
    resent = bridge.call("POST", f"/invitations/{invitation_id}/resend", admin,
                         {"lifespan": 600})
    assert resent.status_code == 200, resent.get_json()
    assert resent.get_json()["invitation"]["state"] == "pending"
    deadline = time.monotonic() + 30
    while len([m for m in mail_sink.messages() if email in m.to]) == sent:
        assert time.monotonic() < deadline, "no second mail"
        time.sleep(0.2)
    new_link = _activation_link(mail_sink.wait_for(email))
    assert new_link != old_link
    # No name in the invitation: Keycloak asks the invitee for it at activation.
    outcome = Browserless().follow_action_link(
        new_link, new_password=NEW_PASSWORD, profile={"firstName": "Eve", "lastName": "E"})
    assert outcome.back_link == REDIRECT_URI
    # Activated: neither resend nor revoke apply any more.
    assert bridge.call("POST", f"/invitations/{invitation_id}/resend", admin).status_code == 409
    assert bridge.call("DELETE", f"/invitations/{invitation_id}", admin).status_code == 409


def test_openapi_document_is_served(fresh_realm: RealmUnderTest) -> None:
    bridge = _bridge(fresh_realm, "004-accounting-portal")
    document = bridge.http.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert "/invitations/{id}/resend" in document["paths"]
