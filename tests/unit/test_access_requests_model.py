"""Access requests' storage format, ids and settings (bridge/access_requests/model.py,
bridge/config.py): what the store writes stays within Keycloak's bounds, a forged id names
no request, and the review pages' session key is checked at start."""

from __future__ import annotations

import pytest

from bridge.access_requests import model, words
from bridge.access_requests.model import AccessRequest
from bridge.config import InvalidSetting, Settings

BASE = {"BRIDGE_CLIENT_SECRET": "s"}


def _request(**changes: str) -> AccessRequest:
    values = {"id": "5b1e0c3a-0f5e-4f7e-9d2c-3f0a1b2c3d4e.0123456789abcdef",
              "requester_id": "5b1e0c3a-0f5e-4f7e-9d2c-3f0a1b2c3d4e",
              "requester": "user:carl", "tenant": "dossier-acme", "email": "n@example.com",
              "first_name": "Nina", "last_name": "New", "profile": "full-access",
              "status": "client-user", "language": "fr",
              "created_at": "2026-12-02T01:00:00Z", "expires_at": "2026-12-09T01:00:00Z",
              **changes}
    return AccessRequest(**values)


def test_a_request_round_trips_through_its_attribute_values() -> None:
    request = _request(state="declined", reason="a=b, with = signs", decided_by="user:f")
    values = model.to_values(request)
    assert all(len(v) <= model.MAX_VALUE for v in values)
    back = model.requests_of(request.requester_id, {request.attribute: values,
                                                    "locale": ("fr",)})
    assert back == [request]


def test_a_value_over_the_bound_is_refused_not_cut() -> None:
    with pytest.raises(ValueError, match="first_name"):
        model.to_values(_request(first_name="x" * 300))


@pytest.mark.parametrize("forged", ["", "abc", "../x.0123456789abcdef",
                                    "5b1e0c3a.0123456789ABCDEF", "5b1e0c3a.01234567",
                                    "a/b.0123456789abcdef"])
def test_a_forged_id_names_no_request(forged: str) -> None:
    assert model.split_id(forged) is None


def test_expiry_is_computed_from_the_stored_time() -> None:
    request = _request()
    assert request.state_at("2026-12-08T23:59:59Z") == "pending"
    assert request.state_at("2026-12-09T01:00:00Z") == "expired"
    assert _request(state="approved").state_at("2027-01-01T00:00:00Z") == "approved"


def test_each_recipient_reads_its_language() -> None:
    assert words.language("fr-BE") == "fr" and words.language(None) == "en"
    assert words.language("de") == "en"
    assert words.date("2026-12-09T01:00:00Z", "ro") == "9 decembrie 2026, 01:00 UTC"


def test_the_session_secret_is_checked_at_start_and_never_echoed() -> None:
    assert Settings.from_env(BASE).session_secret is None
    with pytest.raises(InvalidSetting) as refused:
        Settings.from_env({**BASE, "BRIDGE_SESSION_SECRET": "short-secret-value"})
    assert "BRIDGE_SESSION_SECRET" in str(refused.value)
    assert "short-secret-value" not in str(refused.value)
    key = "k" * 40
    settings = Settings.from_env({**BASE, "BRIDGE_SESSION_SECRET": key,
                                  "BRIDGE_PUBLIC_URL": "https://bridge.example.com/"})
    assert settings.session_secret == key and settings.public_url == \
        "https://bridge.example.com"
    with pytest.raises(InvalidSetting, match="BRIDGE_PUBLIC_URL"):
        Settings.from_env({**BASE, "BRIDGE_PUBLIC_URL": "ftp://x"})


class FakeSmtp:
    """smtplib.SMTP as the mailer uses it, remembering what it was asked."""

    seen: list[tuple[str, object]] = []

    def __init__(self, host: str, port: int, timeout: float) -> None:
        FakeSmtp.seen = [("connect", (host, port))]

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        FakeSmtp.seen.append(("quit", None))

    def starttls(self) -> None:
        FakeSmtp.seen.append(("starttls", None))

    def login(self, user: str, password: str) -> None:
        FakeSmtp.seen.append(("login", (user, password)))

    def send_message(self, message: object) -> None:
        FakeSmtp.seen.append(("send", message))


def test_the_realm_smtp_settings_are_used_and_a_password_is_asked_for(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bridge.access_requests import mail as mail_module
    from bridge.access_requests.mail import Mail, MailUnavailable, RealmSmtp

    monkeypatch.setattr(mail_module.smtplib, "SMTP", FakeSmtp)
    realm = {"displayName": "SaaS access", "smtpServer": {
        "host": "smtp.example.com", "port": "587", "from": "no-reply@example.com",
        "auth": "true", "user": "mailer", "password": "**********", "starttls": "true"}}
    one = Mail(to="fiona@example.com", subject="Subject <b>", paragraphs=["a <p>"],
               links=[("Go", "https://bridge.example/r/1?x=1&y=2")], language="fr")
    with pytest.raises(MailUnavailable, match="BRIDGE_SMTP_PASSWORD"):
        RealmSmtp(lambda: realm).send(one)
    RealmSmtp(lambda: realm, "the-real-password").send(one)
    steps = [s for s, _ in FakeSmtp.seen]
    assert steps == ["connect", "starttls", "login", "send", "quit"]
    assert FakeSmtp.seen[0][1] == ("smtp.example.com", 587)
    assert FakeSmtp.seen[2][1] == ("mailer", "the-real-password")
    message = FakeSmtp.seen[3][1]
    assert message["From"] == "SaaS access <no-reply@example.com>"  # type: ignore[index]
    html = message.get_body(("html",)).get_content()  # type: ignore[attr-defined]
    assert '<html lang="fr">' in html and "a &lt;p&gt;" in html
    assert 'href="https://bridge.example/r/1?x=1&amp;y=2"' in html
