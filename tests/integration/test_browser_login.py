"""A person's first login, in headless Debian Chromium: the activation mail from the real
SMTP sink, its link, OTP enrolment read off the page, a chosen password, then a sign-in with
the one-time code, and the token the portal gets.

Everything in the browser goes through what the pages show (headings, labels, buttons,
links), as a person would. Only the portal's back end is scripted: authlib builds the
authorization request (PKCE S256) and exchanges the code, and the claims are read after
joserfc verified their signature against the realm's keys.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from authlib.integrations.requests_client import OAuth2Session
from playwright.sync_api import expect

from bridge.local.mailsink import MailSink
from tests.conftest import RealmUnderTest
from tests.integration.test_invitations import NEW_PASSWORD, _bridge
from tests.support.chromium import chromium, field, heading, portal_stand_in
from tests.support.keycloak_pages import account_updated
from tests.support.login import TotpSecret, verified_claims

TECHNICIAN = ["boards.manage", "doors.manage", "tv.manage"]
ACTIONS = "Update Password, Verify Email, Configure OTP"


def test_003_technician_activates_enrols_otp_and_signs_in_with_chromium(
        fresh_realm: RealmUnderTest, mail_sink: MailSink, tmp_path: Path) -> None:
    # The portal's redirect URI is a stand-in page on a free loopback port; the realm's
    # portal client is configured for it (PORTAL_URL), through the product's realm config.
    with portal_stand_in() as landed:
        fresh_realm.env["PORTAL_URL"] = landed.url
        _signs_up_and_in(fresh_realm, mail_sink, tmp_path, landed)


def _signs_up_and_in(fresh_realm: RealmUnderTest, mail_sink: MailSink, tmp_path: Path,
                     landed: list[str]) -> None:
    redirect_uri = f"{fresh_realm.env['PORTAL_URL']}/"
    bridge = _bridge(fresh_realm, "003-childcare-technician")
    email = bridge.email("tina.tech")
    invited = bridge.cli("invite", email, "--status", "external-technician",
                         "--profile", "external-technician", "--redirect-uri", redirect_uri,
                         "--first-name", "Tina", "--last-name", "Tech")
    assert invited.exit_code == 0, invited.output

    # The activation mail, as the SMTP sink received it.
    mail = mail_sink.wait_for(email)
    assert mail.subject == "Update Your Account"
    assert f"following action(s): {ACTIONS}." in mail.text
    assert "This link will expire within 3 days." in mail.text
    (link,) = mail.links
    assert link.startswith(f"{fresh_realm.issuer}/login-actions/action-token?key=")

    oauth = OAuth2Session("portal", redirect_uri=redirect_uri, scope="openid",
                          code_challenge_method="S256", token_endpoint_auth_method="none",
                          default_timeout=30)
    verifier = secrets.token_urlsafe(64)
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()

        # The mail as a mail client shows it: one link, which is the one of the text part.
        page.set_content(mail.html)
        update = page.get_by_role("link", name="Link to account update")
        assert update.get_attribute("href") == link
        update.click()

        expect(heading(page, "Perform the following action(s)")).to_be_visible()
        expect(page.locator("body")).to_contain_text(f"Perform the following action(s): {ACTIONS}")
        page.get_by_role("link", name="Click here to proceed").click()

        # OTP enrolment: the key an authenticator app would be given, typed from the page.
        expect(heading(page, "Mobile Authenticator Setup")).to_be_visible()
        page.get_by_role("link", name="Unable to scan?").click()
        shown = page.locator("#kc-totp-secret-key").inner_text()  # waits for the key
        for line in ("Type: Time-based", "Algorithm: SHA1", "Digits: 6", "Interval: 30"):
            expect(page.locator("body")).to_contain_text(line)
        secret = TotpSecret("".join(shown.split()))
        field(page, "One-time code").fill(secret.fresh_code())
        field(page, "Device Name").fill("Tina's phone")
        page.get_by_role("button", name="Submit").click()

        expect(heading(page, "Update password")).to_be_visible()
        field(page, "New Password").fill(NEW_PASSWORD)
        field(page, "Confirm password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Submit").click()

        # "Account updated" on 26.7+, "Your account has been updated." as heading before.
        updated, updated_message = account_updated(fresh_realm.keycloak.version)
        expect(heading(page, updated)).to_be_visible()
        expect(page.locator("#kc-info-message")).to_contain_text(updated_message)
        back = page.get_by_role("link", name="Back to Application")
        assert back.get_attribute("href") == redirect_uri

        # The first sign-in: password, then the one-time code of the phone just enrolled.
        url, state = oauth.create_authorization_url(
            f"{fresh_realm.issuer}/protocol/openid-connect/auth", code_verifier=verifier)
        page.goto(url)
        expect(heading(page, "Sign in to your account")).to_be_visible()
        field(page, "Username or email").fill(email)
        field(page, "Password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Sign In").click()

        expect(field(page, "One-time code")).to_be_visible()
        field(page, "One-time code").fill(secret.fresh_code())
        page.get_by_role("button", name="Sign In").click()

        expect(heading(page, "Portal")).to_be_visible()  # back at the client, which got a code
    assert len(landed) == 1
    back_at_portal = parse_qs(urlsplit(landed[0]).query)
    assert back_at_portal["state"] == [state] and "error" not in back_at_portal

    tokens = oauth.fetch_token(f"{fresh_realm.issuer}/protocol/openid-connect/token",
                               authorization_response=landed[0], state=state,
                               code_verifier=verifier)
    claims = verified_claims(tokens["access_token"], fresh_realm.issuer)
    assert claims["azp"] == "portal" and claims["email"] == email
    assert claims["status"] == "external-technician"
    assert claims["profile"] == ["external-technician"]
    assert sorted(claims["roles"]) == TECHNICIAN
    assert sorted(claims["permissions"]) == TECHNICIAN
    # "1": authenticated in this very login, not carried over by SSO ("0"). The realm maps
    # no level of assurance to OTP, so the OTP is proven by the page that asked for it
    # above and by the credential Keycloak stored from what was typed.
    assert claims["acr"] == "1"
    user_id = claims["sub"]
    credentials = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{user_id}/credentials")
    assert sorted((c["type"], c.get("userLabel")) for c in credentials) == [
        ("otp", "Tina's phone"), ("password", None)]
    user = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{user_id}")
    assert user["requiredActions"] == [] and user["emailVerified"] is True
