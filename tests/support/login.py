"""Drive Keycloak's real login pages with a scripted HTTP client: no browser, no JavaScript.

:class:`Browserless` keeps one :class:`requests.Session` (cookies kept, like one browser
profile) and walks the HTML pages Keycloak serves: it starts an authorization-code request
with PKCE S256, fills the forms it finds (their ``action`` always comes from the page, never
from a hard-coded Keycloak URL), performs the required actions Keycloak asks for (update
password, configure OTP, one-time code, "proceed" info pages), stops at the first redirect
that leaves Keycloak (nothing listens on the client's redirect URI) and exchanges the code
for tokens. Whatever Keycloak reports as an error (``kc-feedback-text``, the error page)
is raised as :class:`LoginError` carrying Keycloak's own words.

Typical use::

    client = Browserless()
    client.authorize(realm.issuer, ui_locales="fr")
    tokens = client.login("alice", "password", new_password="...")
    tokens.access_claims["azp"]          # "portal"

A browser session is single sign-on: a second :meth:`Browserless.login` in the same client
would reuse the Keycloak session cookie. Use a new :class:`Browserless` for a fresh login.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pyotp
import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge

__all__ = [
    "ActionOutcome",
    "Browserless",
    "FlowError",
    "Form",
    "Link",
    "LoginError",
    "Message",
    "Page",
    "TokenError",
    "Tokens",
    "TotpSecret",
    "decode_jwt",
    "parse_page",
    "verified_claims",
]

DEFAULT_REDIRECT_URI = "http://127.0.0.1:3000/"
_MAX_STEPS = 25


# --------------------------------------------------------------------------- errors


class LoginError(Exception):
    """Keycloak showed an error: ``message`` is its text, as the page shows it."""

    def __init__(self, message: str, page: Page | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.page = page


class FlowError(AssertionError):
    """The page asks for something the caller did not give, or is not one this client knows."""

    def __init__(self, message: str, page: Page | None = None) -> None:
        where = f" [page {page.page_id or page.template or '?'} at {page.url}]" if page else ""
        super().__init__(message + where)
        self.page = page


class TokenError(Exception):
    """The token endpoint refused a grant (``error`` and ``description`` from its answer)."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = description


# --------------------------------------------------------------------------- HTML


@dataclass(frozen=True)
class Form:
    """One ``<form>``: its absolute action, method and the values a browser would submit."""

    id: str | None
    action: str
    method: str
    fields: dict[str, str]
    field_names: frozenset[str]
    buttons: tuple[tuple[str, str], ...] = ()

    def has(self, *names: str) -> bool:
        return all(name in self.field_names for name in names)


@dataclass(frozen=True)
class Link:
    href: str
    text: str
    id: str | None = None


@dataclass(frozen=True)
class Message:
    """A feedback message: ``kind`` is error, warning, info or success; ``field`` when it is
    attached to one input (e.g. ``username``, ``password-new``)."""

    kind: str
    text: str
    field: str | None = None


@dataclass(frozen=True)
class Page:
    """One HTML page Keycloak served, parsed."""

    url: str
    status: int
    html: str
    lang: str | None
    page_id: str | None  # <body data-page-id>, e.g. "login-login", "login-login-otp"
    template: str | None  # from Keycloak's "<!-- template: login.ftl -->" comment
    title: str  # the #kc-page-title heading, else <title>
    text: str  # visible text, whitespace collapsed (no script, style, language menu)
    forms: tuple[Form, ...]
    links: tuple[Link, ...]
    messages: tuple[Message, ...]
    texts_by_id: dict[str, str] = field(repr=False, default_factory=dict)

    @property
    def errors(self) -> list[str]:
        return [m.text for m in self.messages if m.kind == "error"]

    def form_with(self, *names: str) -> Form | None:
        return next((f for f in self.forms if f.has(*names)), None)

    def link_containing(self, fragment: str) -> Link | None:
        return next((link for link in self.links if fragment in link.href), None)

    def by_id(self, element_id: str) -> str | None:
        return self.texts_by_id.get(element_id)


_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
_HIDDEN_TEXT = frozenset({"script", "style", "template", "select", "noscript"})
_KINDS = (
    ("error", ("pf-m-error", "pf-m-danger", "alert-error", "alert-danger")),
    ("warning", ("pf-m-warning", "alert-warning")),
    ("success", ("pf-m-success", "alert-success")),
    ("info", ("pf-m-info", "alert-info")),
)


def _squash(parts: list[str]) -> str:
    return " ".join("".join(parts).split())


@dataclass
class _Element:
    tag: str
    attrs: dict[str, str]
    text: list[str] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()


class _PageParser(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.stack: list[_Element] = []
        self.lang: str | None = None
        self.page_id: str | None = None
        self.template: str | None = None
        self.head_title: list[str] = []
        self.text: list[str] = []
        self.by_id: dict[str, str] = {}
        self.forms: list[Form] = []
        self.links: list[Link] = []
        self.messages: list[Message] = []
        self._form: dict[str, Any] | None = None
        self._select: tuple[str, list[str], list[str]] | None = None  # name, first, selected

    # -- helpers

    def _hidden(self) -> bool:
        return any(e.tag in _HIDDEN_TEXT for e in self.stack)

    def _message_kind(self, element: _Element) -> str:
        for el in [element, *reversed(self.stack)]:
            for kind, markers in _KINDS:
                if any(m in el.classes for m in markers):
                    return kind
        return "info"

    def _message_field(self) -> str | None:
        for el in reversed(self.stack):
            el_id = el.attrs.get("id", "")
            if el_id.startswith("input-error-"):
                return el_id.removeprefix("input-error-").removeprefix("container-")
        return None

    # -- HTMLParser

    def handle_comment(self, data: str) -> None:
        match = re.search(r"template:\s*(\S+?)\.ftl", data)
        if match and self.template is None:
            self.template = match.group(1)

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v if v is not None else "") for k, v in attr_list}
        if tag == "html":
            self.lang = attrs.get("lang") or None
        elif tag == "body":
            self.page_id = attrs.get("data-page-id") or None
        elif tag == "form":
            self._form = {"id": attrs.get("id"), "method": attrs.get("method", "get").lower(),
                          "action": urljoin(self.base_url, attrs.get("action") or self.base_url),
                          "fields": {}, "names": set(), "buttons": []}
        elif tag == "input" and self._form is not None:
            self._input(attrs)
        elif tag == "button" and self._form is not None and attrs.get("name"):
            if attrs.get("type", "submit").lower() == "submit":
                self._form["buttons"].append((attrs["name"], attrs.get("value", "")))
        elif tag == "select" and attrs.get("name"):
            self._select = (attrs["name"], [], [])
        elif tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._select[1].append(value)
            if "selected" in attrs:
                self._select[2].append(value)
        elif tag == "br":
            self._data(" ")
        if tag not in _VOID:
            self.stack.append(_Element(tag, attrs))

    def _input(self, attrs: dict[str, str]) -> None:
        assert self._form is not None
        name = attrs.get("name")
        if not name:
            return
        kind = attrs.get("type", "text").lower()
        if kind in ("submit", "image"):
            self._form["buttons"].append((name, attrs.get("value", "")))
            return
        if kind == "button" or kind == "reset":
            return
        self._form["names"].add(name)
        if "disabled" in attrs:  # shown, never submitted
            return
        if kind in ("checkbox", "radio"):
            if "checked" in attrs:
                self._form["fields"][name] = attrs.get("value", "on")
            return
        self._form["fields"][name] = attrs.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not any(e.tag == tag for e in self.stack):
            return  # stray end tag
        while self.stack:
            element = self.stack.pop()
            self._close(element)
            if element.tag == tag:
                break

    def _close(self, element: _Element) -> None:
        text = _squash(element.text)
        el_id = element.attrs.get("id")
        if el_id:
            self.by_id[el_id] = text
        if element.tag == "title":
            self.head_title.append(text)
        elif element.tag == "a" and element.attrs.get("href") is not None:
            self.links.append(Link(urljoin(self.base_url, element.attrs["href"]), text, el_id))
        elif element.tag == "textarea" and self._form is not None:
            name = element.attrs.get("name")
            if name:
                self._form["fields"][name] = "".join(element.text)
                self._form["names"].add(name)
        elif element.tag == "select" and self._select is not None:
            name, options, selected = self._select
            if self._form is not None:
                self._form["names"].add(name)
                if selected or options:
                    self._form["fields"][name] = (selected or options)[0]
            self._select = None
        elif element.tag == "form" and self._form is not None:
            f = self._form
            self.forms.append(Form(f["id"], f["action"], f["method"], dict(f["fields"]),
                                   frozenset(f["names"]), tuple(f["buttons"])))
            self._form = None
        if text and "kc-feedback-text" in element.classes:
            self.messages.append(Message(self._message_kind(element), text,
                                         self._message_field()))
        elif text and el_id == "kc-error-message":  # error.ftl: the whole page is the error
            self.messages.append(Message("error", text))

    def handle_data(self, data: str) -> None:
        self._data(data)

    def _data(self, data: str) -> None:
        for element in self.stack:
            element.text.append(data)
        if not self._hidden() and not any(e.tag == "title" for e in self.stack):
            self.text.append(data)

    def close(self) -> None:
        super().close()
        while self.stack:
            self._close(self.stack.pop())


def parse_page(html_text: str, url: str = "", status: int = 200) -> Page:
    """Parse one Keycloak page (any HTML, really) into a :class:`Page`."""
    parser = _PageParser(url)
    parser.feed(html_text)
    parser.close()
    title = parser.by_id.get("kc-page-title") or _squash(parser.head_title)
    return Page(url=url, status=status, html=html_text, lang=parser.lang,
                page_id=parser.page_id, template=parser.template, title=title,
                text=_squash(parser.text), forms=tuple(parser.forms),
                links=tuple(parser.links), messages=tuple(parser.messages),
                texts_by_id=parser.by_id)


# --------------------------------------------------------------------------- tokens


def decode_jwt(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, NOT verified (tests read their own tokens)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@dataclass(frozen=True)
class Tokens:
    """A token endpoint's answer, with the JWT payloads decoded (not verified)."""

    raw: dict[str, Any]
    issuer: str
    client_id: str

    @property
    def access_token(self) -> str:
        return str(self.raw["access_token"])

    @property
    def refresh_token(self) -> str | None:
        return self.raw.get("refresh_token")

    @property
    def id_token(self) -> str | None:
        return self.raw.get("id_token")

    @property
    def access_claims(self) -> dict[str, Any]:
        return decode_jwt(self.access_token)

    @property
    def id_claims(self) -> dict[str, Any]:
        return decode_jwt(self.id_token) if self.id_token else {}


def verified_claims(token: str, issuer: str, *, session: requests.Session | None = None,
                    timeout: float = 30) -> dict[str, Any]:
    """Verify ``token``'s signature against the realm's JWKS, its ``iss`` and ``exp``."""
    from joserfc import jwt
    from joserfc.jwk import KeySet

    http = session or requests.Session()
    config = http.get(f"{issuer}/.well-known/openid-configuration", timeout=timeout)
    config.raise_for_status()
    jwks = http.get(config.json()["jwks_uri"], timeout=timeout)
    jwks.raise_for_status()
    signing = [k for k in jwks.json()["keys"] if k.get("use", "sig") == "sig"]
    decoded = jwt.decode(token, KeySet.import_key_set({"keys": signing}))
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}).validate(decoded.claims)
    return dict(decoded.claims)


# --------------------------------------------------------------------------- TOTP


@dataclass(frozen=True)
class TotpSecret:
    """The shared secret Keycloak showed at OTP enrolment, with its policy."""

    secret: str  # base32, as an authenticator app would type it
    digits: int = 6
    interval: int = 30
    algorithm: str = "SHA1"

    def totp(self) -> pyotp.TOTP:
        digest = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256,
                  "SHA512": hashlib.sha512}[self.algorithm.upper().replace("HMAC", "")]
        return pyotp.TOTP(self.secret, digits=self.digits, interval=self.interval,
                          digest=digest)

    def now(self) -> str:
        return self.totp().now()


# Keycloak refuses a code that was already accepted (otpPolicyCodeReusable=false): remember
# the time steps used, across clients, and move on to an unused one.
_USED_STEPS: dict[str, set[int]] = {}
_USED_LOCK = threading.Lock()


def _fresh_code(secret: TotpSecret) -> str:
    """The current step's code if no code of this step or a later one was used, else wait
    for the next step. Codes of future steps (inside Keycloak's look-around window) proved
    flaky on a loaded machine, so only the present one is ever sent."""
    totp = secret.totp()
    while True:
        now = time.time()
        step = int(now // secret.interval)
        # Not in the last second of a step: the code must still be current on arrival.
        if (step + 1) * secret.interval - now > 1.0:
            with _USED_LOCK:
                used = _USED_STEPS.setdefault(secret.secret, set())
                if step > max(used, default=step - 1):
                    used.add(step)
                    return totp.at(step * secret.interval)
        time.sleep((step + 1) * secret.interval - now + 0.1)


# --------------------------------------------------------------------------- the client


@dataclass
class _Request:
    issuer: str
    client_id: str
    redirect_uri: str
    code_verifier: str
    state: str
    nonce: str


@dataclass
class _Needs:
    """What the caller gave for the pages Keycloak may show."""

    username: str | None = None
    password: str | None = None
    new_password: str | None = None
    enrol_totp: bool = False
    totp: TotpSecret | None = None
    otp_code: str | None = None
    profile: dict[str, str] | None = None
    submitted: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ActionOutcome:
    """Where following an action link ended.

    ``location`` is the redirect that left Keycloak (e.g. the client's redirect URI), else
    None; ``page`` the last Keycloak page (e.g. "Your account has been updated"); ``totp``
    the secret enrolled on the way, if any.
    """

    page: Page | None
    location: str | None
    totp: TotpSecret | None

    @property
    def back_link(self) -> str | None:
        """The final page's link out of Keycloak ("« Back to Application"), if any."""
        if self.page is None:
            return None
        origin = urlsplit(self.page.url)[:2]
        return next((link.href for link in self.page.links
                     if urlsplit(link.href)[:2] != origin), None)


class Browserless:
    """One scripted "browser" on Keycloak's login pages (see the module docstring)."""

    def __init__(self, *, timeout: float = 30, session: requests.Session | None = None) -> None:
        self.session = session or requests.Session()
        self.timeout = timeout
        self.page: Page | None = None  # the last HTML page seen
        self.location: str | None = None  # the last redirect that left Keycloak
        self.visited: list[str] = []  # every URL requested
        self.seen: list[str] = []  # every page's data-page-id, e.g. "login-login-otp"
        self.totp: TotpSecret | None = None  # the secret enrolled last
        self._request: _Request | None = None
        self._discovery: dict[str, dict[str, Any]] = {}

    # -- what the last page said

    @property
    def lang(self) -> str | None:
        return self.page.lang if self.page else None

    @property
    def text(self) -> str:
        return self.page.text if self.page else ""

    @property
    def title(self) -> str:
        return self.page.title if self.page else ""

    # -- OpenID Connect

    def discovery(self, issuer: str) -> dict[str, Any]:
        if issuer not in self._discovery:
            answer = self.session.get(f"{issuer}/.well-known/openid-configuration",
                                      timeout=self.timeout)
            answer.raise_for_status()
            self._discovery[issuer] = answer.json()
        return self._discovery[issuer]

    def authorize(self, issuer: str, client_id: str = "portal",
                  redirect_uri: str = DEFAULT_REDIRECT_URI, scope: str = "openid",
                  ui_locales: str | None = None, *, prompt: str | None = None,
                  login_hint: str | None = None) -> Page:
        """Start an authorization-code request with PKCE S256; return the first page."""
        issuer = issuer.rstrip("/")
        request = _Request(issuer, client_id, redirect_uri,
                           code_verifier=secrets.token_urlsafe(64),
                           state=secrets.token_urlsafe(16), nonce=secrets.token_urlsafe(16))
        self._request = request
        params = {
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
            "scope": scope, "state": request.state, "nonce": request.nonce,
            "code_challenge": create_s256_code_challenge(request.code_verifier),
            "code_challenge_method": "S256", "ui_locales": ui_locales, "prompt": prompt,
            "login_hint": login_hint,
        }
        endpoint = self.discovery(issuer)["authorization_endpoint"]
        where = self._visit("GET", endpoint, params={k: v for k, v in params.items() if v})
        if isinstance(where, str):
            raise FlowError(f"Keycloak redirected at once to {where} (already signed in?)")
        self._raise_if_error(where)
        return where

    def login(self, username: str, password: str, *, new_password: str | None = None,
              enrol_totp: bool = True, totp: TotpSecret | str | None = None,
              otp_code: str | None = None, profile: dict[str, str] | None = None) -> Tokens:
        """Sign in on the page :meth:`authorize` returned, through every required action.

        After a :class:`LoginError`, calling it again retries from the page that showed it.

        ``new_password`` answers an UPDATE_PASSWORD page; ``enrol_totp`` lets the client
        enrol OTP when Keycloak demands it (the secret lands in :attr:`totp`); ``totp`` (a
        secret) or ``otp_code`` (a literal code) answer the one-time-code page; ``profile``
        (e.g. ``{"firstName": ..., "lastName": ...}``) answers VERIFY_PROFILE.
        """
        if self._request is None or self.page is None:
            raise FlowError("call authorize() first")
        needs = _Needs(username, password, new_password, enrol_totp,
                       TotpSecret(totp) if isinstance(totp, str) else totp, otp_code, profile)
        location = self._drive(self.page, needs, resume=True)
        if location is None:
            raise FlowError("Keycloak did not redirect back to the client", self.page)
        return self._finish(location)

    def sign_in(self, issuer: str, username: str, password: str, *,
                client_id: str = "portal", redirect_uri: str = DEFAULT_REDIRECT_URI,
                scope: str = "openid", ui_locales: str | None = None,
                **login: Any) -> Tokens:
        """:meth:`authorize` then :meth:`login`."""
        self.authorize(issuer, client_id, redirect_uri, scope, ui_locales)
        return self.login(username, password, **login)

    def follow_action_link(self, url: str, *, new_password: str | None = None,
                           totp: bool = False,
                           profile: dict[str, str] | None = None) -> ActionOutcome:
        """Open an execute-actions e-mail's link and perform the actions it leads to.

        Returns where it ended: a redirect leaving Keycloak (the client's redirect URI when
        execute-actions-email was given ``client_id`` and ``redirect_uri``) or Keycloak's
        last page ("Your account has been updated"). Keycloak's errors (an expired or used
        link...) raise :class:`LoginError`.
        """
        needs = _Needs(new_password=new_password, enrol_totp=totp, profile=profile)
        self.location = None
        where = self._visit("GET", url)
        location = where if isinstance(where, str) else self._drive(where, needs,
                                                                      final_info_ok=True)
        return ActionOutcome(page=self.page, location=location,
                             totp=self.totp if needs.submitted.get("totp") else None)

    def refresh(self, tokens: Tokens) -> Tokens:
        """Use ``tokens``' refresh token; raise :class:`TokenError` when Keycloak refuses."""
        endpoint = self.discovery(tokens.issuer)["token_endpoint"]
        answer = self.session.post(endpoint, data={
            "grant_type": "refresh_token", "refresh_token": tokens.refresh_token,
            "client_id": tokens.client_id}, timeout=self.timeout)
        return Tokens(self._token_answer(answer), tokens.issuer, tokens.client_id)

    # -- plumbing

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.visited.append(url)
        answer = self.session.request(method, url, allow_redirects=False,
                                      timeout=self.timeout, **kwargs)
        # Keycloak marks every cookie Secure, even over http; a browser still sends them to
        # http://127.0.0.1 (a "potentially trustworthy" origin), requests does not. Keep
        # them usable on the plain-http origin they came from.
        if urlsplit(url).scheme == "http":
            host = urlsplit(url).hostname or ""
            for cookie in self.session.cookies:
                if cookie.secure and cookie.domain.lstrip(".") == host:
                    cookie.secure = False
        return answer

    def _visit(self, method: str, url: str, **kwargs: Any) -> Page | str:
        """Request ``url``, following redirects that stay on its origin; return the page,
        or the URL of a redirect leaving it, or reaching the pending redirect URI (not
        followed: Keycloak's own account console has its redirect URI on Keycloak's origin)."""
        origin = urlsplit(url)[:2]
        back = (self._request.redirect_uri.split("?")[0].rstrip("/")
                if self._request is not None else None)
        for _ in range(_MAX_STEPS):
            answer = self._send(method, url, **kwargs)
            if answer.is_redirect:
                target = urljoin(url, answer.headers["Location"])
                if urlsplit(target)[:2] != origin or (back and target.startswith(back)):
                    self.location = target
                    return target
                method, url, kwargs = "GET", target, {}
                continue
            self.page = parse_page(answer.text, answer.url, answer.status_code)
            self.seen.append(self.page.page_id or self.page.template or "?")
            return self.page
        raise FlowError(f"too many redirects from {url}")

    def _submit(self, page: Page, form: Form, needs: _Needs, kind: str,
                values: dict[str, str]) -> Page | str:
        count = needs.submitted.get(kind, 0) + 1
        if count > 3:
            raise FlowError(f"Keycloak keeps showing the {kind} form", page)
        needs.submitted[kind] = count
        data = {**form.fields, **values}
        if form.buttons:  # the first submit button, as pressing Enter would
            data.setdefault(*form.buttons[0])
        if form.method == "post":
            return self._visit("POST", form.action, data=data)
        return self._visit("GET", form.action, params=data)

    @staticmethod
    def _raise_if_error(page: Page) -> None:
        if page.errors:
            raise LoginError(" ".join(dict.fromkeys(page.errors)), page)

    def _drive(self, page: Page, needs: _Needs, *, final_info_ok: bool = False,
               resume: bool = False) -> str | None:
        """Answer Keycloak's pages until a redirect leaves Keycloak (returned) or, with
        ``final_info_ok``, an info page with nothing left to do (None). With ``resume``, the
        error already shown on ``page`` (reported by an earlier call) is not raised again."""
        where: Page | str = page
        for step in range(_MAX_STEPS):
            if isinstance(where, str):
                return where
            page = where
            profile_form = next((f for f in page.forms if f.id == "kc-update-profile-form"), None)
            if profile_form is not None and not needs.submitted.get("profile"):
                # VERIFY_PROFILE / UPDATE_PROFILE: shown WITH "Please specify this field."
                # errors on first display: they say why it is shown, not that we failed.
                where = self._complete_profile(page, profile_form, needs)
                continue
            if not (resume and step == 0):
                self._raise_if_error(page)
            if (form := page.form_with("username", "password")) is not None:
                if needs.username is None or needs.password is None:
                    raise FlowError("Keycloak asks to sign in; no credentials given", page)
                where = self._submit(page, form, needs, "login", {
                    "username": needs.username, "password": needs.password})
            elif (form := page.form_with("password-new")) is not None:
                if needs.new_password is None:
                    raise FlowError("Keycloak asks for a new password; none given", page)
                where = self._submit(page, form, needs, "password", {
                    "password-new": needs.new_password,
                    "password-confirm": needs.new_password})
            elif (form := page.form_with("totp", "totpSecret")) is not None:
                where = self._enrol_totp(page, form, needs)
            elif (form := page.form_with("otp")) is not None:
                where = self._one_time_code(page, form, needs)
            elif (link := self._proceed_link(page)) is not None:
                where = self._visit("GET", link)
            elif page.template == "login-verify-email" or page.page_id == "login-verify-email":
                raise FlowError("Keycloak asks to verify the e-mail address first", page)
            elif final_info_ok and _is_info(page) and not page.forms:
                return None  # e.g. "Your account has been updated."
            else:
                raise FlowError(f"no rule for this page: {page.title!r}", page)
        raise FlowError("too many steps", self.page)

    @staticmethod
    def _proceed_link(page: Page) -> str | None:
        """info.ftl's "Click here to proceed" (``actionUri``): a Keycloak login-actions link."""
        if not _is_info(page):
            return None
        origin = urlsplit(page.url)[:2]
        for link in page.links:
            parts = urlsplit(link.href)
            if parts[:2] == origin and "/login-actions/" in parts.path:
                return link.href
        return None

    def _complete_profile(self, page: Page, form: Form, needs: _Needs) -> Page | str:
        missing = sorted({m.field for m in page.messages if m.kind == "error" and m.field})
        if needs.profile is None:
            raise FlowError(f"Keycloak asks to complete the profile (fields {missing}); "
                            "no profile given", page)
        return self._submit(page, form, needs, "profile", dict(needs.profile))

    def _enrol_totp(self, page: Page, form: Form, needs: _Needs) -> Page | str:
        if not needs.enrol_totp:
            raise FlowError("Keycloak demands OTP enrolment; not allowed here", page)
        if page.by_id("kc-totp-secret-key") is None:
            # The default page shows a QR code only; its "Unable to scan?" link shows the key.
            manual = page.link_containing("mode=manual")
            if manual is None:
                raise FlowError("no manual mode link on the OTP enrolment page", page)
            shown = self._visit("GET", manual.href)
            if isinstance(shown, str):
                raise FlowError(f"manual OTP mode redirected to {shown}", page)
            self._raise_if_error(shown)
            page = shown
            form = page.form_with("totp", "totpSecret") or form
        secret = _totp_from_page(page)
        raw = form.fields.get("totpSecret", "")
        # The hidden field holds the raw secret; the key shown (and typed into an app) is
        # its base32 form. A mismatch means this parser read the wrong element.
        if raw and base64.b32encode(raw.encode()).decode().rstrip("=") != secret.secret.rstrip("="):
            raise FlowError("the OTP key shown does not match the form's totpSecret", page)
        code = _fresh_code(secret)
        self.totp = secret
        return self._submit(page, form, needs, "totp", {
            "totp": code, "userLabel": form.fields.get("userLabel") or "browserless"})

    def _one_time_code(self, page: Page, form: Form, needs: _Needs) -> Page | str:
        if needs.otp_code is not None:
            code = needs.otp_code
        elif needs.totp is not None:
            code = _fresh_code(needs.totp)
        else:
            raise FlowError("Keycloak asks for a one-time code; none given", page)
        return self._submit(page, form, needs, "otp", {"otp": code})

    def _finish(self, location: str) -> Tokens:
        request = self._request
        assert request is not None
        query = parse_qs(urlsplit(location).query) or parse_qs(urlsplit(location).fragment)
        got = {k: v[0] for k, v in query.items()}
        if not location.startswith(request.redirect_uri.split("?")[0].rstrip("/")):
            raise FlowError(f"Keycloak redirected to {location}, not to the redirect URI")
        if "error" in got:
            raise LoginError(got.get("error_description") or got["error"])
        if got.get("state") != request.state:
            raise FlowError(f"state mismatch in {location}")
        if "code" not in got:
            raise FlowError(f"no code in {location}")
        endpoint = self.discovery(request.issuer)["token_endpoint"]
        answer = self.session.post(endpoint, data={
            "grant_type": "authorization_code", "code": got["code"],
            "redirect_uri": request.redirect_uri, "client_id": request.client_id,
            "code_verifier": request.code_verifier}, timeout=self.timeout)
        tokens = Tokens(self._token_answer(answer), request.issuer, request.client_id)
        if tokens.id_token and tokens.id_claims.get("nonce") != request.nonce:
            raise FlowError("nonce mismatch in the ID token")
        self._request = None
        return tokens

    @staticmethod
    def _token_answer(answer: requests.Response) -> dict[str, Any]:
        try:
            body = answer.json()
        except ValueError:
            body = {}
        if answer.status_code != 200 or "access_token" not in body:
            raise TokenError(answer.status_code, str(body.get("error", "?")),
                             str(body.get("error_description", answer.text[:200])))
        return dict(body)


def _is_info(page: Page) -> bool:
    return page.template == "info" or page.page_id == "login-info"


def _totp_from_page(page: Page) -> TotpSecret:
    """The base32 key in ``#kc-totp-secret-key`` and the policy listed beside it."""
    shown = page.by_id("kc-totp-secret-key") or ""
    secret = "".join(shown.split()).upper()
    if not re.fullmatch(r"[A-Z2-7]+=*", secret):
        raise FlowError(f"no base32 OTP key on the page (found {shown!r})", page)

    def value(element_id: str) -> str | None:
        text = page.by_id(element_id)
        return text.split(":")[-1].strip() if text and ":" in text else None

    digits = value("kc-totp-digits")
    period = value("kc-totp-period")
    algorithm = value("kc-totp-algorithm")
    kind = (page.by_id("kc-totp-type") or "").lower()
    if "counter" in kind or "compteur" in kind:
        raise FlowError("HOTP (counter-based) OTP is not supported here", page)
    return TotpSecret(secret, digits=int(digits) if digits and digits.isdigit() else 6,
                      interval=int(period) if period and period.isdigit() else 30,
                      algorithm=algorithm or "SHA1")
