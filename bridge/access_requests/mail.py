"""Access-request mails, sent by the bridge through the realm's own SMTP settings (the
server Keycloak mails invitations through: ``smtpServer`` of the realm, read fresh at each
send, so a change in realm-config applies to both at once)."""

from __future__ import annotations

import html
import logging
import smtplib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any, Protocol

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 10.0
"""Seconds one SMTP conversation may take (then the mail is refused as unavailable)."""


class MailUnavailable(Exception):
    """The mail could not be handed to the SMTP server."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    paragraphs: Sequence[str]
    links: Sequence[tuple[str, str]] = ()
    """``(text, url)`` buttons, in order."""
    language: str = "en"


class Mailer(Protocol):
    def send(self, mail: Mail) -> None:
        """Hand ``mail`` to the SMTP server; :class:`MailUnavailable` when it cannot."""


def render(mail: Mail) -> tuple[str, str]:
    """The text and HTML bodies (every value escaped in the HTML)."""
    text = "\n\n".join([*mail.paragraphs, *(f"{t}: {u}" for t, u in mail.links)])
    parts = [f"<p>{html.escape(p)}</p>" for p in mail.paragraphs]
    parts += [f'<p><a href="{html.escape(u, quote=True)}">{html.escape(t)}</a></p>'
              for t, u in mail.links]
    body = (f'<!DOCTYPE html><html lang="{html.escape(mail.language)}"><head>'
            f'<meta charset="utf-8"><title>{html.escape(mail.subject)}</title></head>'
            f'<body>{"".join(parts)}</body></html>')
    return text, body


class RealmSmtp:
    """:class:`Mailer` through the realm's ``smtpServer`` (``realm_settings`` returns the
    realm's representation: one admin call per mail). When the realm's server needs
    authentication, ``password`` (``BRIDGE_SMTP_PASSWORD``: the admin API masks the realm's)
    logs in as the realm's ``user``; without it the send is refused as unavailable."""

    def __init__(self, realm_settings: Callable[[], Mapping[str, Any]],
                 password: str | None = None) -> None:
        self.realm_settings = realm_settings
        self.password = password

    def send(self, mail: Mail) -> None:
        realm = self.realm_settings()
        smtp = dict(realm.get("smtpServer") or {})
        if not smtp.get("host") or not smtp.get("from"):
            raise MailUnavailable("the realm has no SMTP server configured")
        auth = str(smtp.get("auth", "false")).lower() == "true"
        if auth and not (self.password and smtp.get("user")):
            raise MailUnavailable("the realm's SMTP server needs authentication: set "
                                  "BRIDGE_SMTP_PASSWORD (the realm's smtpServer.user's)")
        message = EmailMessage()
        message["Subject"] = mail.subject
        display = str(smtp.get("fromDisplayName") or realm.get("displayName") or "")
        message["From"] = Address(display, addr_spec=str(smtp["from"])) if display \
            else str(smtp["from"])
        message["To"] = mail.to
        text, body = render(mail)
        message.set_content(text)
        message.add_alternative(body, subtype="html")
        port = int(smtp.get("port") or 25)
        ssl = str(smtp.get("ssl", "false")).lower() == "true"
        starttls = str(smtp.get("starttls", "false")).lower() == "true"
        try:
            connection = (smtplib.SMTP_SSL if ssl else smtplib.SMTP)(
                str(smtp["host"]), port, timeout=SMTP_TIMEOUT)
            with connection:
                if starttls:
                    connection.starttls()
                if auth:
                    connection.login(str(smtp["user"]), str(self.password))
                connection.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            logger.warning("access-request mail not sent: %s", exc)
            raise MailUnavailable(str(exc)) from None


class Outbox:
    """:class:`Mailer` that keeps the mails (unit tests)."""

    def __init__(self) -> None:
        self.sent: list[Mail] = []
        self.fail = False

    def send(self, mail: Mail) -> None:
        if self.fail:
            raise MailUnavailable("outbox told to fail")
        self.sent.append(mail)
