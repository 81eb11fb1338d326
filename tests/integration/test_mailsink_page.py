"""The dev mail sink's page as a person reads it, in headless Debian Chromium at 1280 px:
the list of mails, then one Keycloak activation mail with its body rendered and its
activation link as a button. Screenshots of both are written under the test's tmp_path
(``mail-list.png``, ``mail-single.png``) for a person to look at; they are not committed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bridge.keycloak import realm as kc_realm
from bridge.local.mailsink import MailSink
from tests.conftest import REALM_CONFIG, KeycloakUnderTest, RealmUnderTest, realm_env
from tests.integration.test_login_flows import _create_user, _send_actions
from tests.support.chromium import chromium

WIDTH, HEIGHT = 1280, 800


@pytest.fixture
def page_sink() -> Iterator[MailSink]:
    """A sink serving its page (the session's sink serves none), as `./dev up` runs it."""
    with MailSink(smtp_port=0, http_port=0) as sink:
        yield sink


@pytest.fixture
def realm_mailing_the_page(keycloak: KeycloakUnderTest,
                           page_sink: MailSink) -> Iterator[RealmUnderTest]:
    """A throwaway realm from realm-config/ whose mails go to ``page_sink``."""
    admin = keycloak.admin()
    realm = RealmUnderTest(f"t-{uuid.uuid4().hex[:10]}", REALM_CONFIG, realm_env(page_sink),
                           keycloak, admin)
    realm.apply()
    try:
        yield realm
    finally:
        kc_realm.delete(admin, realm.name)


def _no_horizontal_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"the page is {width} px wide in a {WIDTH} px window"


def test_mail_sink_page_lists_mails_and_shows_the_activation_mail_at_1280px(
        realm_mailing_the_page: RealmUnderTest, page_sink: MailSink, tmp_path: Path) -> None:
    realm = realm_mailing_the_page
    # Two real activation mails from Keycloak: a long address, the ~600-character links.
    first = _create_user(realm, "early.bird")
    second = _create_user(realm, "a.person.with.a.rather.long.name.for.an.address")
    _send_actions(realm, first, ["UPDATE_PASSWORD"])
    page_sink.wait_for(f"early.bird@{realm.name}.example.com")
    _send_actions(realm, second, ["UPDATE_PASSWORD", "CONFIGURE_TOTP"])
    to = f"a.person.with.a.rather.long.name.for.an.address@{realm.name}.example.com"
    mail = page_sink.wait_for(to)
    [link] = [u for u in mail.links if "/login-actions/action-token" in u]
    assert len(link) > 400  # what the page must not print as text

    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": WIDTH, "height": HEIGHT})

        # The list: newest first, one row per mail, what a reader scans for.
        page.goto(page_sink.http_url or "")
        rows = page.locator("tbody tr")
        expect(rows).to_have_count(2)
        expect(page.get_by_role("columnheader")).to_have_text(
            ["Received", "From", "To", "Subject"])
        newest = rows.nth(0)
        expect(newest.locator("td").nth(2)).to_have_text(to)
        expect(newest.locator("td").nth(1)).to_have_text("no-reply@bridge.test")
        expect(newest.get_by_role("link", name="Update Your Account")).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("action-token")
        _no_horizontal_overflow(page)
        page.screenshot(path=str(tmp_path / "mail-list.png"), full_page=True)

        # One mail: opened from the list, headers, the activation link as a button, the
        # body rendered in a sandboxed frame.
        newest.get_by_role("link", name="Update Your Account").click()
        expect(page.get_by_role("heading", level=2)).to_have_text("Update Your Account")
        button = page.get_by_role("link", name="Activate account", exact=True)
        expect(button).to_be_visible()
        assert button.get_attribute("href") == link
        assert button.inner_text() == "Activate account"  # not the raw URL
        frame_element = page.locator("iframe[title='Mail body']")
        sandbox = (frame_element.get_attribute("sandbox") or "").split()
        assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
        body = page.frame_locator("iframe[title='Mail body']")
        expect(body.get_by_role("link", name="Link to account update")).to_have_attribute(
            "href", link)
        expect(body.locator("body")).to_contain_text("Update Password")
        _no_horizontal_overflow(page)
        assert page.locator("meta[http-equiv='refresh']").count() == 0  # stays as opened
        page.screenshot(path=str(tmp_path / "mail-single.png"), full_page=True)
