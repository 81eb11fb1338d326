"""A local SMTP mail sink for development and tests.

``MailSink`` runs an aiosmtpd server on 127.0.0.1 (by default) in a background thread and
keeps every received message in memory (the most recent ``max_messages``), optionally also
as ``.eml`` files in a directory so that another process can read them (see
:func:`read_store_dir`). An optional read-only HTTP page lists the mails (``/``), shows one
(``/mail/<number>``: its body rendered, its links as buttons) and serves
``GET /api/messages`` as JSON.

Nothing is printed: the module only logs through :mod:`logging`.
"""

from __future__ import annotations

import collections
import email
import email.policy
import html
import itertools
import json
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from bridge.local.keycloak import MissingPiece

__all__ = [
    "Mail",
    "MailSink",
    "extract_links",
    "parse_mail",
    "read_store_dir",
    "serve_forever",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGES = 500

# Headers the sink adds in front of a stored .eml file to keep the SMTP envelope.
_ENVELOPE_FROM_HEADER = "X-Mailsink-Envelope-From"
_ENVELOPE_TO_HEADER = "X-Mailsink-Envelope-To"
_RECEIVED_AT_HEADER = "X-Mailsink-Received-At"

_LINK_RE = re.compile(r"""https?://[^\s"'<>`]+""", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?"


@dataclass(frozen=True)
class Mail:
    """One received message, decoded."""

    to: list[str]
    sender: str
    subject: str
    text: str
    html: str
    links: list[str]
    received_at: datetime
    language: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "to": list(self.to),
            "sender": self.sender,
            "subject": self.subject,
            "text": self.text,
            "html": self.html,
            "links": list(self.links),
            "received_at": self.received_at.isoformat(),
            "language": self.language,
        }


# --------------------------------------------------------------------------- parsing


def _clean_link(link: str) -> str:
    link = link.rstrip(_TRAILING_PUNCT)
    # Drop closing brackets that do not belong to the URL, e.g. "(see https://x/y)".
    for opening, closing in (("(", ")"), ("[", "]"), ("{", "}")):
        while link.endswith(closing) and link.count(closing) > link.count(opening):
            link = link[:-1].rstrip(_TRAILING_PUNCT)
    return link


def extract_links(*bodies: str, is_html: Iterable[bool] | None = None) -> list[str]:
    """Return the http(s) links found in ``bodies``, in order, without duplicates.

    Bodies flagged in ``is_html`` (same order as ``bodies``) are HTML: each link found in
    them is HTML-unescaped (``&amp;`` -> ``&``).
    """
    flags = list(is_html) if is_html is not None else [False] * len(bodies)
    seen: dict[str, None] = {}
    for body, body_is_html in zip(bodies, flags, strict=True):
        for match in _LINK_RE.finditer(body or ""):
            link = match.group(0)
            if body_is_html:
                link = html.unescape(link)
                # Unescaping may reveal characters that end a URL (e.g. &quot;).
                link = re.split(r"""[\s"'<>`]""", link, maxsplit=1)[0]
            link = _clean_link(link)
            if len(link) > len("https://") and link not in seen:
                seen[link] = None
    return list(seen)


def _part_content(part: Any) -> str:
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, KeyError, AttributeError):
        # Unknown charset or broken encoding: decode what we can rather than fail.
        content = part.get_payload(decode=True) or b""
    if isinstance(content, bytes):
        content = content.decode(part.get_content_charset() or "utf-8", "replace")
    return str(content).replace("\r\n", "\n")


def _addresses(values: Iterable[str]) -> list[str]:
    return [addr for _name, addr in getaddresses([str(v) for v in values]) if addr]


def parse_mail(
    raw: bytes,
    *,
    envelope_to: Iterable[str] | None = None,
    envelope_from: str | None = None,
    received_at: datetime | None = None,
) -> Mail:
    """Decode a raw RFC 5322 message into a :class:`Mail`.

    Without an envelope, recipients and sender come from the sink's own
    ``X-Mailsink-Envelope-*`` headers if present, else from the To/Cc and From headers.
    """
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)

    if envelope_to is None:
        stored = msg.get_all(_ENVELOPE_TO_HEADER)
        if stored:
            envelope_to = _addresses(stored)
        else:
            envelope_to = _addresses((msg.get_all("To") or []) + (msg.get_all("Cc") or []))
    if envelope_from is None:
        stored_from = msg.get(_ENVELOPE_FROM_HEADER)
        if stored_from is not None:
            envelope_from = str(stored_from).strip().strip("<>")
        else:
            from_addrs = _addresses(msg.get_all("From") or [])
            envelope_from = from_addrs[0] if from_addrs else ""
    if received_at is None:
        stamp = msg.get(_RECEIVED_AT_HEADER)
        try:
            received_at = datetime.fromisoformat(str(stamp)) if stamp else None
        except ValueError:
            received_at = None
        received_at = received_at or datetime.now(UTC)

    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = _part_content(text_part)
    html_body = _part_content(html_part)
    language = msg.get("Content-Language")
    if language is None and text_part is not None:
        language = text_part.get("Content-Language")

    return Mail(
        to=list(envelope_to),
        sender=envelope_from,
        subject=str(msg.get("Subject", "")),
        text=text,
        html=html_body,
        links=extract_links(text, html_body, is_html=(False, True)),
        received_at=received_at,
        language=str(language).strip() if language is not None else None,
    )


def read_store_dir(store_dir: str | os.PathLike[str]) -> list[Mail]:
    """Read the ``.eml`` files a sink wrote to ``store_dir``, oldest first."""
    mails = []
    for path in sorted(Path(store_dir).glob("*.eml")):
        try:
            mails.append(parse_mail(path.read_bytes()))
        except OSError:  # removed while we were reading
            continue
    return mails


# --------------------------------------------------------------------------- SMTP


def _controller_class() -> type[Any]:
    """aiosmtpd's controller, supporting port 0 (the real port is set once bound).

    aiosmtpd is a development dependency (the ``dev`` extra), absent from the runtime image:
    it is imported when a sink starts, and its absence is one line naming the extra.
    """
    try:
        from aiosmtpd.controller import Controller
    except ImportError as exc:
        raise MissingPiece("the mail sink needs the dev extra (aiosmtpd): "
                           "pip install 'saas-access-bridge[dev]'") from exc

    class _Controller(Controller):
        def _create_server(self) -> Awaitable[Any]:
            create = super()._create_server()

            async def bind() -> Any:
                server = await create
                self.port = server.sockets[0].getsockname()[1]
                return server

            return bind()

    return _Controller


class _Handler:
    def __init__(self, sink: MailSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        try:
            self._sink._receive(content, list(envelope.rcpt_tos), envelope.mail_from or "")
        except Exception:
            log.exception("mailsink: could not store a message")
            return "451 Requested action aborted: error in processing"
        return "250 Message accepted for delivery"


# --------------------------------------------------------------------------- HTTP

# The page is for a person reading activation mails at a desk: a list that fits a 1280 px
# window (long addresses and subjects are cut with an ellipsis, never widen the page), and
# one page per mail with its HTML body rendered in a sandboxed frame (no script, no
# same-origin access, nothing fetched: the page's CSP applies to it) and each link as a
# button naming what it does, not its ~600-character URL. Only the list reloads itself; a
# mail's page never does, so what its reader opened stays open.
_PAGE_STYLE = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;
 color:#1d2430;background:#f4f6f9}
header{background:#243447;color:#fff;padding:.8rem 1.5rem;display:flex;gap:1rem;
 align-items:baseline}
header a{color:#cfe3ff}
main{max-width:72rem;margin:1.2rem auto;padding:0 1.5rem}
h1{font-size:1.25rem;margin:0}
.muted{color:#5b6675}
table{border-collapse:collapse;width:100%;table-layout:fixed;background:#fff;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
th,td{padding:.55rem .75rem;text-align:left;border-bottom:1px solid #e3e7ee;
 overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
th{font-weight:600;background:#eef1f6}
col.when{width:12.5rem}col.from{width:15rem}col.to{width:20rem}
tbody tr:hover{background:#f0f5ff}
td.subject a{display:block;overflow:hidden;text-overflow:ellipsis;color:#0b57d0;
 text-decoration:none;font-weight:500}
.card{background:#fff;padding:1rem 1.25rem;margin-bottom:1rem;
 box-shadow:0 1px 2px rgba(0,0,0,.08)}
dl{display:grid;grid-template-columns:6rem minmax(0,1fr);gap:.3rem 1rem;margin:.8rem 0 0}
dt{color:#5b6675}dd{margin:0;overflow-wrap:anywhere}
.actions{display:flex;flex-wrap:wrap;gap:.6rem;margin-top:1rem}
a.button{display:inline-block;padding:.55rem 1.1rem;border-radius:6px;background:#0b57d0;
 color:#fff;text-decoration:none;font-weight:600}
a.button.secondary{background:#e8eefb;color:#0b57d0}
iframe{display:block;width:100%;height:24rem;border:1px solid #e3e7ee;background:#fff;
 resize:vertical}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:.5rem 0 0;font-size:13px}
summary{cursor:pointer;color:#5b6675}
"""

# Keycloak's activation (execute-actions) links; any other link is shown by its host.
_ACTION_TOKEN_PATH = "/login-actions/action-token"  # noqa: S105 - a URL path


def _page(title: str, body: str, *, refresh: int | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"{meta}<title>{html.escape(title)}</title><style>{_PAGE_STYLE}</style></head>"
        '<body><header><h1>Mail sink</h1><a href="/">All mails</a>'
        '<span class="muted">development only: nothing leaves this machine</span></header>'
        f"<main>{body}</main></body></html>"
    )


def _when(mail: Mail) -> str:
    return mail.received_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _render_page(mails: list[tuple[int, Mail]]) -> str:
    """The list, newest first: when, from, to, subject (a link to the mail's page)."""
    esc = html.escape
    rows = []
    for number, mail in mails:
        to = ", ".join(mail.to)
        rows.append(
            "<tr>"
            f'<td title="{esc(mail.received_at.isoformat())}">{esc(_when(mail))}</td>'
            f'<td title="{esc(mail.sender)}">{esc(mail.sender)}</td>'
            f'<td title="{esc(to)}">{esc(to)}</td>'
            f'<td class="subject"><a href="/mail/{number}" title="{esc(mail.subject)}">'
            f"{esc(mail.subject) or '(no subject)'}</a></td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="4">No mail yet.</td></tr>'
    return _page(
        f"Mail sink ({len(mails)})",
        f'<p class="muted">{len(mails)} message(s), newest first; this list reloads every '
        "5 seconds. Open a mail to read it.</p>"
        '<table><colgroup><col class="when"><col class="from"><col class="to"><col>'
        "</colgroup><thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th>"
        f"</tr></thead><tbody>\n{body}\n</tbody></table>",
        refresh=5,
    )


def _link_label(link: str, index: int) -> str:
    if _ACTION_TOKEN_PATH in link:
        return "Activate account"
    host = urlsplit(link).hostname or "link"
    return f"Open link {index} ({host})"


def _render_mail(mail: Mail) -> str:
    """One mail: its headers, its links as buttons, its body rendered in a sandbox."""
    esc = html.escape
    buttons = "".join(
        f'<a class="button{"" if _ACTION_TOKEN_PATH in link else " secondary"}" '
        f'href="{esc(link)}" rel="noreferrer noopener" title="{esc(link)}">'
        f"{esc(_link_label(link, index))}</a>"
        for index, link in enumerate(mail.links, start=1)
    )
    if mail.html:
        # Links inside the mail open a new tab, as in a mail client (the frame itself may
        # not navigate: the page's CSP allows it no source).
        srcdoc = '<base target="_blank">' + mail.html
        rendered = (
            '<iframe title="Mail body" sandbox="allow-popups '
            f'allow-popups-to-escape-sandbox" referrerpolicy="no-referrer" '
            f'srcdoc="{esc(srcdoc, quote=True)}"></iframe>'
        )
        text = (f"<details><summary>Plain-text part</summary><pre>{esc(mail.text)}</pre>"
                "</details>" if mail.text else "")
    else:
        rendered, text = f"<pre>{esc(mail.text)}</pre>", ""
    return _page(
        mail.subject or "(no subject)",
        '<section class="card">'
        f'<h2 style="margin:0;font-size:1.15rem">{esc(mail.subject) or "(no subject)"}</h2>'
        f"<dl><dt>From</dt><dd>{esc(mail.sender)}</dd>"
        f"<dt>To</dt><dd>{esc(', '.join(mail.to))}</dd>"
        f"<dt>Received</dt><dd>{esc(_when(mail))}</dd>"
        + (f"<dt>Language</dt><dd>{esc(mail.language)}</dd>" if mail.language else "")
        + "</dl>"
        + (f'<div class="actions">{buttons}</div>' if buttons else "")
        + "</section>"
        f'<section class="card">{rendered}{text}</section>'
    )


def _make_wsgi_app(sink: MailSink) -> Any:
    headers = {
        # Nothing but the page's own inline style, for the page and the mail's frame
        # (a srcdoc frame inherits it): no script, no image, no font, no request at all.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }

    @Request.application
    def app(request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("method not allowed\n", 405, headers={"Allow": "GET, HEAD"})
        if request.path == "/api/messages":
            newest_first = list(reversed(sink.messages()))
            to = request.args.get("to")
            if to:
                wanted = to.strip().casefold()
                newest_first = [m for m in newest_first if _addressed_to(m, wanted)]
            payload = json.dumps([m.to_json() for m in newest_first], ensure_ascii=False)
            return Response(payload, mimetype="application/json", headers=headers)
        if request.path == "/":
            page = _render_page(list(reversed(sink.numbered())))
            return Response(page, mimetype="text/html", headers=headers)
        found = re.fullmatch(r"/mail/(\d{1,12})", request.path)
        mail = sink.message(int(found.group(1))) if found else None
        if mail is not None:
            return Response(_render_mail(mail), mimetype="text/html", headers=headers)
        if found:
            gone = _page("Mail not kept", '<p>This mail is not kept (any more): the sink '
                         'keeps the most recent ones. <a href="/">All mails</a></p>')
            return Response(gone, 404, mimetype="text/html", headers=headers)
        return Response("not found\n", 404, mimetype="text/plain")

    return app


def _addressed_to(mail: Mail, wanted_casefolded: str) -> bool:
    return any(addr.strip().casefold() == wanted_casefolded for addr in mail.to)


# --------------------------------------------------------------------------- sink


class MailSink:
    """In-process SMTP sink; see the module docstring.

    ``smtp_port=0`` (and ``http_port=0``) pick a free port: read the real one from
    :attr:`smtp_port` / :attr:`http_port` after :meth:`start`. ``http_port=None`` serves no
    HTTP page. ``store_dir`` (created if missing) also receives every mail as an ``.eml``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        smtp_port: int = 0,
        http_port: int | None = None,
        store_dir: str | os.PathLike[str] | None = None,
        *,
        max_messages: int = DEFAULT_MAX_MESSAGES,
    ) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.host = host
        self._smtp_port = smtp_port
        self._http_port = http_port
        self.store_dir = Path(store_dir) if store_dir is not None else None
        # Each mail with its number (1, 2, ...: its page is /mail/<number>).
        self._messages: collections.deque[tuple[int, Mail]] = collections.deque(
            maxlen=max_messages)
        self._numbers = itertools.count(1)
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._controller: Any = None  # aiosmtpd's Controller once started
        self._http_server: BaseWSGIServer | None = None
        self._http_thread: threading.Thread | None = None

    # -- lifecycle

    @property
    def smtp_port(self) -> int:
        """The SMTP port; the real one once started (also when created with 0)."""
        if self._controller is not None:
            return int(self._controller.port)
        return self._smtp_port

    @property
    def http_port(self) -> int | None:
        """The HTTP port (real one once started), or None when no page is served."""
        if self._http_server is not None:
            return int(self._http_server.server_port)
        return self._http_port

    @property
    def http_url(self) -> str | None:
        port = self.http_port
        return None if port is None else f"http://{self.host}:{port}/"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> MailSink:
        if self._controller is not None:
            raise RuntimeError("mail sink already started")
        if self.store_dir is not None:
            self.store_dir.mkdir(parents=True, exist_ok=True)
        controller = _controller_class()(
            _Handler(self),
            hostname=self.host,
            port=self._smtp_port,
            server_hostname="mailsink.localhost",
        )
        controller.start()
        self._controller = controller
        try:
            if self._http_port is not None:
                self._start_http()
        except BaseException:
            self.stop()
            raise
        log.info(
            "mailsink: SMTP on %s:%s%s%s",
            self.host,
            self.smtp_port,
            f", web page on {self.http_url}" if self._http_server is not None else "",
            f", storing to {self.store_dir}" if self.store_dir is not None else "",
        )
        return self

    def _start_http(self) -> None:
        server = make_server(self.host, self._http_port or 0, _make_wsgi_app(self), threaded=True)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="mailsink-http", daemon=True)
        thread.start()
        self._http_server, self._http_thread = server, thread

    def stop(self) -> None:
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            if self._http_thread is not None:
                self._http_thread.join(timeout=5)
            self._http_server = self._http_thread = None
        if self._controller is not None:
            port = self._controller.port
            self._controller.stop()
            self._controller = None
            self._smtp_port = port  # a restart reuses the same port
            log.info("mailsink: stopped")

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- messages

    def _receive(self, raw: bytes, rcpt_tos: list[str], mail_from: str) -> Mail:
        received_at = datetime.now(UTC)
        mail = parse_mail(
            raw, envelope_to=rcpt_tos, envelope_from=mail_from, received_at=received_at
        )
        if self.store_dir is not None:
            self._write_eml(raw, mail)
        with self._cond:
            self._messages.append((next(self._numbers), mail))
            self._cond.notify_all()
        log.info("mailsink: mail to %s: %s", ", ".join(mail.to), mail.subject)
        return mail

    def _write_eml(self, raw: bytes, mail: Mail) -> None:
        assert self.store_dir is not None
        prefix = (
            f"{_ENVELOPE_FROM_HEADER}: <{mail.sender}>\r\n"
            f"{_ENVELOPE_TO_HEADER}: {', '.join(mail.to)}\r\n"
            f"{_RECEIVED_AT_HEADER}: {mail.received_at.isoformat()}\r\n"
        ).encode()
        name = f"{time.time_ns():020d}-{next(self._seq):06d}"
        tmp = self.store_dir / f".{name}.tmp"
        tmp.write_bytes(prefix + raw)
        os.replace(tmp, self.store_dir / f"{name}.eml")  # readers never see a partial file

    def messages(self) -> list[Mail]:
        """All kept messages, oldest first."""
        with self._cond:
            return [mail for _number, mail in self._messages]

    def numbered(self) -> list[tuple[int, Mail]]:
        """All kept messages with their numbers, oldest first."""
        with self._cond:
            return list(self._messages)

    def message(self, number: int) -> Mail | None:
        """The kept message numbered ``number``, or None (never received, or dropped)."""
        with self._cond:
            return next((mail for n, mail in self._messages if n == number), None)

    def clear(self) -> None:
        """Forget the messages kept in memory (files in ``store_dir`` are kept)."""
        with self._cond:
            self._messages.clear()

    def wait_for(self, to: str, timeout: float = 30, subject_contains: str | None = None) -> Mail:
        """Wait until a mail to ``to`` (case-insensitive) has arrived and return the newest.

        With ``subject_contains``, only mails whose subject contains it count. Raises
        :class:`TimeoutError` naming the address after ``timeout`` seconds.
        """
        wanted = to.strip().casefold()

        def find() -> Mail | None:
            for _number, mail in reversed(self._messages):
                if _addressed_to(mail, wanted) and (
                    subject_contains is None or subject_contains in mail.subject
                ):
                    return mail
            return None

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = find()
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(min(remaining, 0.5))
            seen = ", ".join(f"{'/'.join(m.to)}: {m.subject!r}"
                             for _n, m in list(self._messages)[-5:])
        what = f"no mail to {to}" + (
            f" with subject containing {subject_contains!r}" if subject_contains else ""
        )
        raise TimeoutError(f"{what} within {timeout:g}s (last mails received: {seen or 'none'})")


# --------------------------------------------------------------------------- CLI


def serve_forever(
    host: str = "127.0.0.1",
    smtp_port: int = 1025,
    http_port: int | None = 8025,
    store_dir: str | os.PathLike[str] | None = None,
) -> None:
    """Run a sink until interrupted (Ctrl-C or SIGTERM); for ``bridge mailsink``."""
    stop = threading.Event()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sink = MailSink(host=host, smtp_port=smtp_port, http_port=http_port, store_dir=store_dir)
    try:
        with sink:
            try:
                while not stop.wait(1):
                    pass
            except KeyboardInterrupt:
                log.info("mailsink: interrupted")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
