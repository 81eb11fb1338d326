"""Keycloak's real login pages, driven without a browser (authorization code + PKCE S256).

Each test gets a throwaway realm from realm-config/ (``fresh_realm``); activation mails go to
the session's SMTP sink (``mail_sink``), which the realm's SMTP settings point at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bridge.local.mailsink import MailSink
from tests.conftest import RealmUnderTest
from tests.support.keycloak_pages import account_updated
from tests.support.login import (
    Browserless,
    FlowError,
    LoginError,
    TokenError,
    TotpSecret,
    verified_claims,
)

PASSWORD = "A-long-enough-pass-1"
NEW_PASSWORD = "Chosen-at-activation-2"
REDIRECT_URI = "http://127.0.0.1:3000/"


def _create_user(realm: RealmUnderTest, username: str, *, password: str | None = PASSWORD,
                 groups: tuple[str, ...] = (), locale: str | None = None) -> str:
    body: dict[str, Any] = {
        "username": username, "email": f"{username}@{realm.name}.example.com",
        "enabled": True, "emailVerified": True, "firstName": "Test", "lastName": username,
        "groups": list(groups),
    }
    if password is not None:
        body["credentials"] = [{"type": "password", "value": password, "temporary": False}]
    if locale is not None:
        body["attributes"] = {"locale": [locale]}
    user_id = realm.admin.post(f"/{realm.name}/users", body)
    assert user_id
    return user_id


def _send_actions(realm: RealmUnderTest, user_id: str, actions: list[str],
                  lifespan: int = 600) -> None:
    realm.admin.put(f"/{realm.name}/users/{user_id}/execute-actions-email", actions,
                    client_id="portal", redirect_uri=REDIRECT_URI, lifespan=lifespan)


def _wrong_code(secret: TotpSecret) -> str:
    """A code that is valid in no step Keycloak would look at."""
    totp, now = secret.totp(), time.time()
    valid = {totp.at(now + k * secret.interval) for k in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def _brute_force(realm: RealmUnderTest, user_id: str) -> dict[str, Any]:
    """Keycloak's own brute-force record of a user, as its admin API reports it."""
    return realm.admin.get(f"/{realm.name}/attack-detection/brute-force/users/{user_id}")


def _await_brute_force(realm: RealmUnderTest, user_id: str, done: Callable[[dict[str, Any]], bool],
                       timeout: float = 15) -> dict[str, Any]:
    """Keycloak records login failures asynchronously (after answering the login page):
    wait, bounded, until its record of ``user_id`` satisfies ``done``."""
    deadline = time.monotonic() + timeout
    while not done(state := _brute_force(realm, user_id)):
        if time.monotonic() > deadline:
            raise AssertionError(f"brute-force record still {state} after {timeout} s")
        time.sleep(0.1)
    return state


def test_password_login_with_pkce(fresh_realm: RealmUnderTest) -> None:
    user_id = _create_user(fresh_realm, "pat.client")
    _create_user(fresh_realm, "pam.client")

    client = Browserless()
    page = client.authorize(fresh_realm.issuer)
    assert page.page_id == "login-login" and page.lang == "en"
    # The wrong password is typed for another account. Brute-force protection counts
    # failures per user, and two of them under a second apart (quickLoginCheckMilliSeconds)
    # lock that user for a minute; Keycloak books them after answering, in the background.
    # So the account that signs in below never fails, and no timing can lock it.
    with pytest.raises(LoginError, match="Invalid username or password"):
        client.login("pam.client", "not-the-password-at-all")
    # Retry on the page that showed the error, as a person would.
    tokens = client.login("pat.client", PASSWORD)
    assert _brute_force(fresh_realm, user_id)["numFailures"] == 0

    claims = verified_claims(tokens.access_token, fresh_realm.issuer)
    assert claims["azp"] == "portal"
    assert claims["preferred_username"] == "pat.client"
    # "portal roles" maps the user's portal roles only (none here); with fullScopeAllowed
    # false, no realm role (default-roles, mfa-required) reaches the token.
    assert claims.get("roles", []) == []
    assert "realm_access" not in claims
    assert tokens.id_claims["aud"] == "portal"
    assert tokens.refresh_token


def test_repeated_failures_lock_the_account_as_shipped(fresh_realm: RealmUnderTest) -> None:
    """The realm's brute-force protection, as realm-config ships it: wrong passwords in a row
    lock the account (a second one within a second does, quickLoginCheckMilliSeconds; five
    do at any pace, failureFactor), and then even the right password is refused."""
    user_id = _create_user(fresh_realm, "quinn.quick")
    client = Browserless()
    client.authorize(fresh_realm.issuer)
    for _ in range(5):
        with pytest.raises(LoginError, match="Invalid username or password"):
            client.login("quinn.quick", "not-the-password-at-all")
    locked = _await_brute_force(fresh_realm, user_id, lambda state: state["disabled"])
    assert 2 <= locked["numFailures"] <= 5
    assert locked["failedLoginNotBefore"] > time.time() + 30  # a minute's wait, either rule

    # The right password, now: refused, with the same words (a lock is not revealed).
    with pytest.raises(LoginError, match="Invalid username or password"):
        client.login("quinn.quick", PASSWORD)
    assert client.location is None  # no code, no token

    # An operator lifts the lock (admin API); the right password then works.
    fresh_realm.admin.delete(f"/{fresh_realm.name}/attack-detection/brute-force/users/{user_id}")
    tokens = client.login("quinn.quick", PASSWORD)
    assert tokens.access_claims["preferred_username"] == "quinn.quick"


def test_password_login_in_french(fresh_realm: RealmUnderTest) -> None:
    _create_user(fresh_realm, "paul.client")
    client = Browserless()
    page = client.authorize(fresh_realm.issuer, ui_locales="fr")
    assert page.lang == "fr"
    assert "Connectez-vous" in page.title
    with pytest.raises(LoginError, match="Nom d'utilisateur ou mot de passe invalide"):
        client.login("paul.client", "pas-le-bon-mot-de-passe")
    assert client.lang == "fr"


def test_technician_must_enrol_otp_then_use_it(fresh_realm: RealmUnderTest) -> None:
    user_id = _create_user(fresh_realm, "tess.tech", groups=("/bridge/technicians",))

    # First login: Keycloak forces OTP enrolment (conditional OTP for mfa-required).
    first = Browserless()
    first.authorize(fresh_realm.issuer)
    tokens = first.login("tess.tech", PASSWORD)
    assert "login-login-config-totp" in first.seen
    secret = first.totp
    assert secret is not None and (secret.digits, secret.interval) == (6, 30)
    assert tokens.access_claims["roles"] == ["technician"]
    assert "realm_access" not in tokens.access_claims
    credentials = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{user_id}/credentials")
    assert sorted(c["type"] for c in credentials) == ["otp", "password"]

    # Second login, new browser: the password alone is not enough.
    second = Browserless()
    second.authorize(fresh_realm.issuer)
    with pytest.raises(FlowError, match="one-time code"):
        second.login("tess.tech", PASSWORD)
    assert second.page is not None and second.page.page_id == "login-login-otp"
    with pytest.raises(LoginError, match="Invalid authenticator code"):
        second.login("tess.tech", PASSWORD, otp_code=_wrong_code(secret))
    assert second.location is None  # never sent back to the portal: no code, no token

    tokens = second.login("tess.tech", PASSWORD, totp=secret)
    assert second.seen.count("login-login-config-totp") == 0
    assert tokens.access_claims["roles"] == ["technician"]
    assert tokens.access_claims["azp"] == "portal"


@pytest.mark.parametrize(("locale", "subject"), [
    ("en", "Update Your Account"),
    ("fr", "Mettre à jour votre compte"),
])
def test_activation_link_sets_password_then_login(fresh_realm: RealmUnderTest,
                                                  mail_sink: MailSink, locale: str,
                                                  subject: str) -> None:
    # "Account updated" / "Compte mis à jour" on 26.7+, the message itself before.
    updated, updated_message = account_updated(fresh_realm.keycloak.version, locale)
    username = f"invited.{locale}"
    user_id = _create_user(fresh_realm, username, password=None, locale=locale)
    _send_actions(fresh_realm, user_id, ["UPDATE_PASSWORD"])

    mail = mail_sink.wait_for(f"{username}@{fresh_realm.name}.example.com")
    assert mail.subject == subject
    link = next(u for u in mail.links if "/login-actions/action-token" in u)

    client = Browserless()
    outcome = client.follow_action_link(link, new_password=NEW_PASSWORD)
    assert "login-login-update-password" in client.seen
    assert outcome.page is not None
    assert outcome.page.lang == locale
    assert outcome.page.title == updated
    assert updated_message in outcome.page.text
    assert outcome.back_link == REDIRECT_URI
    assert outcome.totp is None
    user = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{user_id}")
    assert user["requiredActions"] == []

    # The link works once. (Keycloak no longer knows whose link it was: its error page is
    # in the realm's default language.)
    with pytest.raises(LoginError, match="Action expired"):
        Browserless().follow_action_link(link, new_password="Yet-another-pass-3")

    tokens = Browserless().sign_in(fresh_realm.issuer, username, NEW_PASSWORD)
    assert tokens.access_claims["preferred_username"] == username
    assert tokens.access_claims.get("locale") == locale


def test_technician_activation_enrols_otp(fresh_realm: RealmUnderTest,
                                          mail_sink: MailSink) -> None:
    user_id = _create_user(fresh_realm, "ted.tech", password=None,
                           groups=("/bridge/technicians",))
    _send_actions(fresh_realm, user_id, ["UPDATE_PASSWORD", "CONFIGURE_TOTP", "VERIFY_EMAIL"])
    mail = mail_sink.wait_for(f"ted.tech@{fresh_realm.name}.example.com")

    outcome = Browserless().follow_action_link(mail.links[0], new_password=NEW_PASSWORD,
                                               totp=True)
    assert outcome.totp is not None
    assert outcome.back_link == REDIRECT_URI

    client = Browserless()
    client.authorize(fresh_realm.issuer)
    tokens = client.login("ted.tech", NEW_PASSWORD, totp=outcome.totp)
    assert "login-login-otp" in client.seen
    assert tokens.access_claims["roles"] == ["technician"]


def test_expired_activation_link(fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    user_id = _create_user(fresh_realm, "late.user", password=None)
    _send_actions(fresh_realm, user_id, ["UPDATE_PASSWORD"], lifespan=1)
    mail = mail_sink.wait_for(f"late.user@{fresh_realm.name}.example.com")
    time.sleep(2.5)
    with pytest.raises(LoginError, match="Action expired") as refused:
        Browserless().follow_action_link(mail.links[0], new_password=NEW_PASSWORD)
    assert refused.value.page is not None and refused.value.page.page_id == "login-error"


def test_disabled_user_cannot_log_in_and_refresh_fails(fresh_realm: RealmUnderTest) -> None:
    user_id = _create_user(fresh_realm, "dora.disabled")
    client = Browserless()
    tokens = client.sign_in(fresh_realm.issuer, "dora.disabled", PASSWORD)
    tokens = client.refresh(tokens)  # works while enabled (and rotates: revokeRefreshToken)

    fresh_realm.admin.put(f"/{fresh_realm.name}/users/{user_id}", {"enabled": False})

    with pytest.raises(TokenError) as refused:
        client.refresh(tokens)
    assert refused.value.error == "invalid_grant"

    again = Browserless()
    again.authorize(fresh_realm.issuer)
    with pytest.raises(LoginError, match="Account is disabled"):
        again.login("dora.disabled", PASSWORD)

    in_french = Browserless()
    in_french.authorize(fresh_realm.issuer, ui_locales="fr")
    with pytest.raises(LoginError, match="Compte désactivé"):
        in_french.login("dora.disabled", PASSWORD)
    assert in_french.lang == "fr"
