"""Unit tests for the local SMTP mail sink (real SMTP and HTTP on 127.0.0.1 only)."""

from __future__ import annotations

import base64
import html
import http.client
import json
import re
import smtplib
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from bridge.local.mailsink import Mail, MailSink, extract_links, parse_mail, read_store_dir

pytestmark = pytest.mark.unit

LONG_LINK = (
    "https://sso.example.test/realms/access/login-actions/action-token"
    "?key=eyJhbGciOiJIUzUxMiIsInR5cCIgOiAiSldUIiwia2lkIiA6ICJhYmNkZWYifQ.eyJleHAiOjE3"
    "&client_id=bridge&tab_id=Xy_12-3&redirect_uri=https%3A%2F%2Fportal.example.test%2F"
)
HTML_LINK = "https://portal.example.test/welcome?lang=fr&step=2"
SUBJECT_FR = "Invitation à rejoindre l'espace « Accès » — créez votre mot de passe"


def _qp_soft_wrapped(text: str, width: int = 76) -> str:
    """Quoted-printable encode ``text`` (UTF-8) with soft line breaks, like Jakarta Mail."""
    out_lines = []
    for line in text.split("\n"):
        encoded = "".join(
            ch
            if (33 <= ord(ch) <= 126 and ch != "=") or ch == " "
            else "".join(f"={b:02X}" for b in ch.encode())
            for ch in line
        )
        chunks = []
        while len(encoded) > width - 1:
            cut = width - 1
            # never split an =XX escape
            if "=" in encoded[cut - 2 : cut]:
                cut = encoded.rindex("=", 0, cut)
            chunks.append(encoded[:cut] + "=")
            encoded = encoded[cut:]
        chunks.append(encoded)
        out_lines.extend(chunks)
    return "\r\n".join(out_lines)


def _keycloak_like_mail(to: str) -> bytes:
    """A multipart/alternative UTF-8 mail shaped like the ones Keycloak sends."""
    text = (
        "Bonjour Élodie,\n\n"
        "Un administrateur vous invite à rejoindre l'espace Accès. "
        f"Cliquez sur le lien ci-dessous :\n\n{LONG_LINK}\n\n"
        "Ce lien expire dans 12 heures.\n"
    )
    html_body = (
        '<html><body><p>Bonjour Élodie,</p><p><a href="'
        + LONG_LINK.replace("&", "&amp;")
        + '">Créer mon mot de passe</a></p>'
        f'<p>Portail : <a href="{HTML_LINK.replace("&", "&amp;")}">portail</a></p>'
        "</body></html>"
    )
    encoded_subject = "=?UTF-8?B?" + base64.b64encode(SUBJECT_FR.encode()).decode() + "?="
    html_b64 = base64.encodebytes(html_body.encode()).decode().replace("\n", "\r\n")
    qp_text = _qp_soft_wrapped(text)
    assert "=\r\n" in qp_text  # the long link really is split by soft line breaks
    assert LONG_LINK not in qp_text
    raw = (
        "From: =?UTF-8?Q?Acc=C3=A8s?= <noreply@example.test>\r\n"
        f"To: {to}\r\n"
        f"Subject: {encoded_subject}\r\n"
        "Content-Language: fr\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="----=_Part_0_1"\r\n'
        "\r\n"
        "------=_Part_0_1\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        f"{qp_text}\r\n"
        "------=_Part_0_1\r\n"
        "Content-Type: text/html; charset=UTF-8\r\n"
        "Content-Transfer-Encoding: base64\r\n"
        "\r\n"
        f"{html_b64}"
        "------=_Part_0_1--\r\n"
    )
    return raw.encode("ascii")


def _send(port: int, to: str, raw: bytes, sender: str = "noreply@example.test") -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.sendmail(sender, [to], raw)


def _send_simple(port: int, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = "noreply@example.test"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(msg)


def _http(port: int, path: str, method: str = "GET") -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        ctype = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        return resp.status, ctype, resp.read().decode()
    finally:
        conn.close()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    with MailSink(host="127.0.0.1", smtp_port=0) as running:
        yield running


def test_port_zero_exposes_real_port(sink: MailSink) -> None:
    assert sink.smtp_port > 0
    assert sink.http_port is None
    assert sink.messages() == []


def test_multipart_utf8_mail_is_decoded(sink: MailSink) -> None:
    _send(sink.smtp_port, "elodie@example.test", _keycloak_like_mail("elodie@example.test"))

    mail = sink.wait_for("elodie@example.test", timeout=5)

    assert isinstance(mail, Mail)
    assert mail.to == ["elodie@example.test"]
    assert mail.sender == "noreply@example.test"
    assert mail.subject == SUBJECT_FR
    assert mail.language == "fr"
    assert "Bonjour Élodie," in mail.text
    assert "Ce lien expire dans 12 heures." in mail.text
    assert LONG_LINK in mail.text  # soft line breaks removed
    assert "\r" not in mail.text
    assert "Créer mon mot de passe" in mail.html
    # text link first, then the new html link; &amp; unescaped; the duplicate dropped
    assert mail.links == [LONG_LINK, HTML_LINK]
    assert mail.received_at.tzinfo is not None
    assert sink.messages() == [mail]


def test_mail_is_frozen(sink: MailSink) -> None:
    _send_simple(sink.smtp_port, "a@example.test", "hello", "body")
    mail = sink.wait_for("a@example.test", timeout=5)
    with pytest.raises(AttributeError):
        mail.subject = "changed"  # type: ignore[misc]


def test_wait_for_matches_case_insensitively_and_by_subject(sink: MailSink) -> None:
    _send_simple(sink.smtp_port, "Bob@Example.test", "Welcome", "one")
    _send_simple(sink.smtp_port, "bob@example.test", "Reset your password", "two")

    assert sink.wait_for("bob@example.test", timeout=5).subject == "Reset your password"
    assert sink.wait_for("BOB@example.test", 5, subject_contains="Welcome").text == "one\n"


def test_wait_for_waits_for_a_later_mail(sink: MailSink) -> None:
    timer = threading.Timer(
        0.3, _send_simple, args=(sink.smtp_port, "late@example.test", "late", "x")
    )
    timer.start()
    try:
        started = time.monotonic()
        mail = sink.wait_for("late@example.test", timeout=10)
        assert mail.subject == "late"
        assert time.monotonic() - started < 9
    finally:
        timer.join()


def test_wait_for_timeout_names_the_address(sink: MailSink) -> None:
    _send_simple(sink.smtp_port, "other@example.test", "not for you", "x")
    sink.wait_for("other@example.test", timeout=5)

    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"nobody@example\.test"):
        sink.wait_for("nobody@example.test", timeout=0.3)
    assert 0.25 <= time.monotonic() - started < 5

    with pytest.raises(TimeoutError, match=r"other@example\.test.*'Missing'"):
        sink.wait_for("other@example.test", timeout=0.1, subject_contains="Missing")


def test_clear_and_bounded_memory() -> None:
    with MailSink(smtp_port=0, max_messages=3) as sink:
        for i in range(5):
            _send_simple(sink.smtp_port, f"u{i}@example.test", f"mail {i}", "x")
        sink.wait_for("u4@example.test", timeout=5)
        assert [m.subject for m in sink.messages()] == ["mail 2", "mail 3", "mail 4"]
        sink.clear()
        assert sink.messages() == []
        with pytest.raises(TimeoutError):
            sink.wait_for("u4@example.test", timeout=0.1)


def test_store_dir_keeps_eml_files_readable_by_another_process(tmp_path) -> None:
    store = tmp_path / "mails"
    with MailSink(smtp_port=0, store_dir=store) as sink:
        _send(sink.smtp_port, "elodie@example.test", _keycloak_like_mail("elodie@example.test"))
        _send_simple(sink.smtp_port, "bcc-only@example.test", "second", "x")
        sink.wait_for("bcc-only@example.test", timeout=5)
        in_memory = sink.messages()

    files = sorted(store.glob("*.eml"))
    assert len(files) == 2
    assert not list(store.glob("*.tmp")) and not list(store.glob(".*"))
    from_disk = read_store_dir(store)
    assert [m.subject for m in from_disk] == [SUBJECT_FR, "second"]
    assert from_disk[0].links == in_memory[0].links == [LONG_LINK, HTML_LINK]
    assert from_disk[0].to == ["elodie@example.test"]
    assert from_disk[0].received_at == in_memory[0].received_at


def test_http_page_escapes_and_api_lists_mails() -> None:
    with MailSink(smtp_port=0, http_port=0) as sink:
        assert sink.http_port and sink.http_port > 0
        port = sink.http_port
        _send(sink.smtp_port, "elodie@example.test", _keycloak_like_mail("elodie@example.test"))
        _send_simple(
            sink.smtp_port,
            "mallory@example.test",
            "<script>alert(1)</script> & co",
            'Go to https://evil.example.test/x?a=1&b="><img src=x onerror=alert(2)>\n',
        )
        sink.wait_for("mallory@example.test", timeout=5)

        status, ctype, page = _http(port, "/")
        assert status == 200 and ctype == "text/html"
        assert "<script>" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
        assert "<img" not in page
        assert "Invitation à rejoindre" in page
        # newest first
        assert page.index("mallory@example.test") < page.index("elodie@example.test")
        # The list links each mail's page; the mail's links are buttons on that page.
        assert 'href="/mail/1"' in page and 'href="/mail/2"' in page
        assert LONG_LINK.replace("&", "&amp;") not in page
        status, ctype, first = _http(port, "/mail/1")
        assert status == 200 and ctype == "text/html"
        assert f'href="{LONG_LINK.replace("&", "&amp;")}"' in first
        status, _, second = _http(port, "/mail/2")
        assert "<script>" not in second and "<img" not in second
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in second

        status, ctype, body = _http(port, "/api/messages")
        assert status == 200 and ctype == "application/json"
        data = json.loads(body)
        assert [m["to"] for m in data] == [["mallory@example.test"], ["elodie@example.test"]]
        assert data[1]["subject"] == SUBJECT_FR
        assert data[1]["links"] == [LONG_LINK, HTML_LINK]
        assert data[1]["language"] == "fr"
        assert data[0]["links"] == ["https://evil.example.test/x?a=1&b="]

        _, _, filtered = _http(port, "/api/messages?to=ELODIE@example.test")
        assert [m["to"] for m in json.loads(filtered)] == [["elodie@example.test"]]

        assert _http(port, "/nope")[0] == 404
        assert _http(port, "/mail/3")[0] == 404
        assert _http(port, "/", method="POST")[0] == 405


def test_mail_page_renders_html_in_a_sandbox_and_links_as_buttons() -> None:
    hostile = (
        "<html><body><h2>Welcome</h2><script>parent.document.title='owned'</script>"
        f'<p><a href="{LONG_LINK.replace("&", "&amp;")}">Link to account update</a></p>'
        '<img src="https://tracker.example.test/pixel.gif"></body></html>')
    msg = EmailMessage()
    msg["From"] = "noreply@example.test"
    msg["To"] = "tina@example.test"
    msg["Subject"] = "Update Your Account"
    msg.set_content(f"Click {LONG_LINK}\n")
    msg.add_alternative(hostile, subtype="html")
    with MailSink(smtp_port=0, http_port=0) as sink:
        with smtplib.SMTP("127.0.0.1", sink.smtp_port, timeout=10) as smtp:
            smtp.send_message(msg)
        sink.wait_for("tina@example.test", timeout=5)
        assert sink.numbered()[0][0] == 1 and sink.message(1) is sink.messages()[0]
        status, _, page = _http(sink.http_port or 0, "/mail/1")
    assert status == 200
    # The HTML body only inside the frame's srcdoc (escaped), in a sandbox without scripts
    # or same-origin access; the page itself runs and loads nothing (CSP).
    frame = re.search(r"<iframe [^>]*>", page)
    assert frame is not None
    assert re.search(r'sandbox="[^"]*"', frame.group(0))
    sandbox = re.search(r'sandbox="([^"]*)"', frame.group(0)).group(1).split()  # type: ignore[union-attr]
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox
    assert "<script" not in page.replace(frame.group(0), "")
    assert "&lt;script&gt;" in frame.group(0)
    # The activation link is a button naming what it does, not the raw URL as text.
    button = re.search(r'<a class="button"[^>]*href="([^"]+)"[^>]*>([^<]+)</a>', page)
    assert button is not None
    assert html.unescape(button.group(1)) == LONG_LINK
    assert button.group(2) == "Activate account"
    assert "refresh" not in page  # a mail's page never reloads under its reader


def test_stop_releases_ports() -> None:
    sink = MailSink(smtp_port=0, http_port=0).start()
    smtp_port = sink.smtp_port
    sink.stop()
    with pytest.raises(OSError), smtplib.SMTP("127.0.0.1", smtp_port, timeout=2):
        pass


def test_extract_links_trims_punctuation_and_dedupes() -> None:
    text = "See https://a.test/x. Or (https://a.test/y) and https://a.test/x again."
    html_body = '<a href="https://a.test/z?p=1&amp;q=2">z</a> https://a.test/y'
    assert extract_links(text, html_body, is_html=(False, True)) == [
        "https://a.test/x",
        "https://a.test/y",
        "https://a.test/z?p=1&q=2",
    ]


def test_parse_mail_without_envelope_uses_headers() -> None:
    raw = (
        b"From: Sender <s@example.test>\r\nTo: A <a@example.test>, b@example.test\r\n"
        b"Subject: =?UTF-8?Q?R=C3=A9initialiser?=\r\n\r\nhttp://plain.test/path\r\n"
    )
    mail = parse_mail(raw)
    assert mail.to == ["a@example.test", "b@example.test"]
    assert mail.sender == "s@example.test"
    assert mail.subject == "Réinitialiser"
    assert mail.links == ["http://plain.test/path"]
    assert mail.language is None
