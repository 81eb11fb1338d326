"""Seed 004's access request on a real Keycloak with the mail sink: a client user who may
not invite asks for a new user of its dossier; the dossier's responsible (organization
attribute ``bridge.responsible``) gets the mail in its language, follows its link, signs in
through Keycloak (the ``bridge-review`` client), lowers the profile and approves; the
invitee's mail then activates an account whose token carries the profile granted. A decline
mails the requester the reason and makes no account. A forged id, a repeated approval and
another signed-in person are refused. Once in headless Chromium: the responsible's mail and
the review page."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import expect

from bridge.app import create_app
from bridge.catalog.model import Assignment
from bridge.config import Settings
from bridge.local.mailsink import Mail, MailSink
from tests.conftest import RealmUnderTest
from tests.integration.test_invitations import (
    EXAMPLES,
    NEW_PASSWORD,
    PASSWORD,
    Bridge,
    _activation_link,
)
from tests.support.chromium import chromium
from tests.support.login import Browserless
from tests.support.logs import audit_events

PUBLIC_URL = "http://127.0.0.1:8000"  # realm-config's default for the review client
SECRET = "a-session-secret-of-the-tests-that-is-long-enough"


@dataclass
class Portal:
    bridge: Bridge
    web: FlaskClient
    requester_token: str
    responsible_email: str
    replica: FlaskClient
    """A second bridge process with the same settings (another replica behind the balancer)."""

    def ask(self, email: str, profile: str = "full-access", **more: Any) -> Any:
        return self.bridge.call("POST", "/access-requests", self.requester_token, {
            "email": email, "first_name": "Nina", "last_name": "Newcomer",
            "profile": profile, "tenant": "dossier-acme", **more})

    def sign_in(self, link: str, username: str, *, across_replicas: bool = False) -> Any:
        """Open a review link in a fresh session, sign in through Keycloak as
        ``username``; return the review page's answer. ``across_replicas``: the balancer
        sends the link to the other replica, and Keycloak's redirect back to this one."""
        self.web.delete_cookie("bridge_review", path="/access-requests")
        path = _path(link)
        first = (self.replica if across_replicas else self.web).get(path)
        assert first.status_code == 302, first.get_data(as_text=True)
        if across_replicas:  # the browser carries the cookie the other replica set
            cookie = self.replica.get_cookie("bridge_review", path="/access-requests")
            assert cookie is not None
            self.web.set_cookie("bridge_review", cookie.value, path="/access-requests")
        back = Browserless().sign_in_at(first.headers["Location"], username, PASSWORD)
        assert back.startswith(f"{PUBLIC_URL}/access-requests/signin?"), back
        landed = self.web.get(_path(back))
        assert landed.status_code == 303 and landed.headers["Location"] == path
        return self.web.get(path)


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


@pytest.fixture
def portal(fresh_realm: RealmUnderTest) -> Portal:
    directory = EXAMPLES / "004-accounting-portal"
    fresh_realm.apply([Path(fresh_realm.config_dir), directory])
    from bridge.catalog.load import load as load_catalog
    settings = Settings(keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name,
                        client_id="bridge",
                        client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"],
                        catalog_path=str(directory), session_secret=SECRET,
                        public_url=PUBLIC_URL)
    app = create_app(settings)
    bridge = Bridge(fresh_realm, load_catalog(directory), directory, app.test_client())
    admin, realm = fresh_realm.admin, fresh_realm.name
    # The seed dossier, an organization since the realm apply, is given its responsible.
    [org] = admin.get(f"/{realm}/organizations", q="bridge.tenant:dossier-acme",
                      briefRepresentation="false")
    org["attributes"]["bridge.responsible"] = ["user:fiona.firm"]
    admin.put(f"/{realm}/organizations/{org['id']}", org)
    fiona = bridge.person("fiona.firm", Assignment.of("internal", "firm-staff"))
    rep = bridge.user(fiona)
    rep.update(firstName="Fiona", lastName="Firm",
               attributes={**rep["attributes"], "locale": ["fr"]})
    admin.put(f"/{realm}/users/{fiona}", rep)
    bridge.person("olga.other", Assignment.of("internal", "firm-staff"))
    bridge.person("carl.client", Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-acme"]))
    return Portal(bridge, app.test_client(), bridge.token("carl.client"),
                  bridge.email("fiona.firm"), create_app(settings).test_client())


def _review_link(mail: Mail) -> str:
    return next(u for u in mail.links if "/access-requests/" in u and "decision" not in u)


def _decline_link(mail: Mail) -> str:
    return next(u for u in mail.links if "decision=decline" in u)


def test_request_mailed_to_responsible_approved_after_login_then_invitee_activates(
        portal: Portal, mail_sink: MailSink, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bridge.audit")
    bridge = portal.bridge
    nina = bridge.email("nina.new")
    asked = portal.ask(nina, language="ro")
    assert asked.status_code == 201, asked.get_json()
    made = asked.get_json()
    assert made["state"] == "pending" and made["requester"] == "user:carl.client"
    assert made["expires_at"] > made["created_at"]
    listed = bridge.call("GET", "/access-requests", portal.requester_token).get_json()
    assert [r["id"] for r in listed["items"]] == [made["id"]]

    # The responsible's mail, in French (its locale): who asks, for whom, which dossier.
    mail = mail_sink.wait_for(portal.responsible_email)
    assert mail.subject == "SaaS access : demande d’accès pour dossier ACME SPRL"
    text = " ".join(mail.text.split())
    assert ("Test carl.client demande un compte pour Nina Newcomer (" + nina
            + ") dans dossier ACME SPRL, avec le profil Full access.") in text
    link = _review_link(mail)
    assert link == f"{PUBLIC_URL}/access-requests/{made['id']}"

    # Signed in through Keycloak (begun on one replica, completed on the other): the review
    # page, in French, with the profiles to grant.
    page = portal.sign_in(link, "fiona.firm", across_replicas=True)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert '<html lang="fr">' in body and "Demande d’accès" in body
    options = re.findall(r'<option value="([^"]+)"', body)
    assert options == ["full-access", "full-feedback", "document-processing-archive",
                       "document-processing", "document-delivery"]
    csrf = _csrf(body)

    # A POST without the session's CSRF token decides nothing.
    forged = portal.web.post(_path(link) + "/approve", data={"profile": "full-feedback",
                                                            "csrf": "forged"})
    assert forged.status_code == 403
    # A profile above the one asked is refused.
    higher = portal.web.post(_path(link) + "/approve", data={"profile": "administrator",
                                                            "csrf": csrf})
    assert higher.status_code == 400
    approved = portal.web.post(_path(link) + "/approve", data={"profile": "full-feedback",
                                                              "csrf": csrf})
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert f"Approuvée : l’invitation a été envoyée à {nina}." in approved.get_data(
        as_text=True)

    # Approved twice: 409; an id no request has: 404.
    again = portal.web.post(_path(link) + "/approve", data={"csrf": csrf})
    assert again.status_code == 409
    forged_id = made["id"][:-4] + ("0000" if not made["id"].endswith("0000") else "1111")
    assert portal.web.get(f"/access-requests/{forged_id}").status_code == 404
    assert portal.web.post(f"/access-requests/{forged_id}/approve",
                           data={"csrf": csrf}).status_code == 404

    # The invitee's mail (in the language asked), its activation, a token with the profile
    # the responsible granted, in the dossier.
    invitation = mail_sink.wait_for(nina)
    assert invitation.subject == "SaaS access: invitația dumneavoastră, activați-vă contul"
    Browserless().follow_action_link(_activation_link(invitation), new_password=NEW_PASSWORD)
    claims = Browserless().sign_in(bridge.realm.issuer, nina, NEW_PASSWORD).access_claims
    assert claims["profile"] == "full-feedback"
    assert claims["tenants"] == ["dossier-acme"]
    assert "financial.view" not in claims["permissions"]  # ACME does not enable it

    # Every step audited: who asked, who approved (and invited), what was refused.
    steps = [(e["action"], e["actor"], e["outcome"]) for e in audit_events(caplog.records)]
    assert ("access-request.create", "user:carl.client", "ok") in steps
    assert ("access-request.approve", "user:fiona.firm", "refused") in steps  # the higher one
    assert ("invitation.create", "user:fiona.firm", "ok") in steps
    assert steps.count(("access-request.approve", "user:fiona.firm", "ok")) == 1

    shown = bridge.call("GET", "/access-requests", portal.requester_token).get_json()
    assert shown["items"][0]["state"] == "approved"
    assert shown["items"][0]["granted_profile"] == "full-feedback"
    assert shown["items"][0]["decided_by"] == "user:fiona.firm"


def test_another_signed_in_person_is_refused_and_a_decline_mails_the_reason(
        portal: Portal, mail_sink: MailSink) -> None:
    bridge = portal.bridge
    paul = bridge.email("paul.refused")
    asked = portal.ask(paul, profile="document-processing")
    assert asked.status_code == 201, asked.get_json()
    request_id = asked.get_json()["id"]
    mail = mail_sink.wait_for(portal.responsible_email,
                              subject_contains="demande d’accès")
    decline = _decline_link(mail)

    # Olga is signed in, but she is not the dossier's responsible.
    other = portal.sign_in(decline, "olga.other")
    assert other.status_code == 403
    refused = portal.web.post(f"/access-requests/{request_id}/approve",
                              data={"csrf": _csrf_of_session(portal)})
    assert refused.status_code == 403
    assert bridge.realm.admin.get(f"/{bridge.realm.name}/users", email=paul) == []

    page = portal.sign_in(decline, "fiona.firm")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    declined = portal.web.post(f"/access-requests/{request_id}/decline", data={
        "csrf": _csrf(body), "reason": "Paul left the company last month."})
    assert declined.status_code == 200, declined.get_data(as_text=True)

    told = mail_sink.wait_for(bridge.email("carl.client"))
    assert told.subject == ("SaaS access: your access request for Nina Newcomer was "
                            "declined")
    text = " ".join(told.text.split())
    assert "Fiona Firm declined your request for an account for Nina Newcomer" in text
    assert "Reason: Paul left the company last month." in text
    assert bridge.realm.admin.get(f"/{bridge.realm.name}/users", email=paul) == []
    again = portal.web.post(f"/access-requests/{request_id}/decline", data={
        "csrf": _csrf(body), "reason": "twice"})
    assert again.status_code == 409
    state = bridge.cli("request", "show", request_id, "-o", "json")
    assert state.exit_code == 0, state.output
    assert '"state": "declined"' in state.output


def _csrf_of_session(portal: Portal) -> str:
    """The CSRF token of the session signed in last (read from its cookie, as a forger with
    a session of its own would have one)."""
    from flask.sessions import SecureCookieSessionInterface

    app = portal.web.application
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    cookie = portal.web.get_cookie("bridge_review", path="/access-requests")
    assert cookie is not None
    return str(serializer.loads(cookie.value)["csrf"])


def test_request_mail_and_review_page_in_chromium(portal: Portal, mail_sink: MailSink,
                                                   tmp_path: Path) -> None:
    asked = portal.ask(portal.bridge.email("rita.rendered"))
    assert asked.status_code == 201, asked.get_json()
    mail = mail_sink.wait_for(portal.responsible_email)
    page_html = portal.sign_in(_review_link(mail), "fiona.firm").get_data(as_text=True)

    with chromium(tmp_path / "profile", locale="fr-FR") as context:
        page = context.new_page()
        page.set_content(mail.html)
        expect(page.locator("body")).to_contain_text(
            "demande un compte pour Nina Newcomer")
        expect(page.locator("body")).to_contain_text("Cette demande expire le")
        approve = page.get_by_role("link", name="Examiner et approuver")
        assert approve.get_attribute("href") == _review_link(mail)
        assert page.get_by_role("link", name="Refuser").get_attribute(
            "href") == _decline_link(mail)

        page.set_content(page_html)
        assert page.locator("html").get_attribute("lang") == "fr"
        expect(page.get_by_role("heading", name="Demande d’accès")).to_be_visible()
        expect(page.locator("body")).to_contain_text("Connecté(e) en tant que Fiona Firm.")
        expect(page.get_by_role("button", name="Approuver et envoyer l’invitation")
               ).to_be_visible()
        expect(page.get_by_role("button", name="Refuser la demande")).to_be_visible()
        expect(page.get_by_role("combobox")).to_have_value("full-access")


def test_a_role_responsible_mails_its_holders_and_only_they_decide(
        portal: Portal, mail_sink: MailSink) -> None:
    """``role:<realm role>``: the request goes to every holder (Keycloak's role members),
    and the review page checks the signed-in person's effective realm roles."""
    bridge = portal.bridge
    admin, realm = bridge.realm.admin, bridge.realm.name
    admin.post(f"/{realm}/roles", {"name": "acme-owners"})
    role = admin.get(f"/{realm}/roles/acme-owners")
    [olga] = admin.get(f"/{realm}/users", username="olga.other", exact="true")
    admin.post(f"/{realm}/users/{olga['id']}/role-mappings/realm", [role])
    [org] = admin.get(f"/{realm}/organizations", q="bridge.tenant:dossier-acme",
                      briefRepresentation="false")
    org["attributes"]["bridge.responsible"] = ["role:acme-owners"]
    admin.put(f"/{realm}/organizations/{org['id']}", org)

    asked = portal.ask(bridge.email("rose.role"))
    assert asked.status_code == 201, asked.get_json()
    mail = mail_sink.wait_for(bridge.email("olga.other"), subject_contains="access request")
    assert mail.subject == "SaaS access: access request for dossier ACME SPRL"  # English
    link = _review_link(mail)
    # Fiona, the responsible before, holds no such role now: refused.
    assert portal.sign_in(link, "fiona.firm").status_code == 403
    page = portal.sign_in(link, "olga.other")
    assert page.status_code == 200, page.get_data(as_text=True)
    assert '<html lang="en">' in page.get_data(as_text=True)
