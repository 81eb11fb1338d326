"""Drive Keycloak's real login pages with a scripted HTTP client: no browser, no JavaScript.

:class:`Browserless` is one "browser profile" (a :class:`requests.Session` keeping Keycloak's
cookies) and one OAuth 2.0 public client. The work is done by maintained libraries:

- authlib's OAuth 2.0 client (:class:`~authlib.integrations.requests_client.OAuth2Session`)
  builds the authorization request with PKCE S256 (RFC 7636), checks ``state`` on the way
  back, exchanges the code and refreshes tokens;
- lxml's HTML form model (:mod:`lxml.html`) reads Keycloak's pages: forms, their ``action``
  (always taken from the page, never from a hard-coded Keycloak URL), the values a browser
  would submit, links and feedback messages;
- joserfc verifies the tokens' signatures against the realm's JWKS before any claim is read;
- pyotp computes the one-time codes of an enrolled authenticator.

What is left here is the part no library knows: which of Keycloak's pages asks for what
(sign in, update password, configure OTP, one-time code, "proceed" info pages), and when to
stop (the first redirect that leaves Keycloak: nothing listens on the redirect URI).
Whatever Keycloak reports as an error (``kc-feedback-text``, the error page) is raised as
:class:`LoginError` carrying Keycloak's own words.

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
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import lxml.html
import pyotp
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749.errors import MismatchingStateException
from joserfc import jws, jwt
from joserfc.jwk import KeySet

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


# --------------------------------------------------------------------------- pages


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


# Text a person does not see as part of the page: scripts, styles, the language <select>.
_UNSEEN = ("script", "style", "template", "noscript", "select", "title")
_KINDS = (
    ("error", ("pf-m-error", "pf-m-danger", "alert-error", "alert-danger")),
    ("warning", ("pf-m-warning", "alert-warning")),
    ("success", ("pf-m-success", "alert-success")),
    ("info", ("pf-m-info", "alert-info")),
)
_FEEDBACK = "//*[contains(concat(' ', normalize-space(@class), ' '), ' kc-feedback-text ')]"


def _squash(text: str) -> str:
    return " ".join(text.split())


def _text(element: lxml.html.HtmlElement) -> str:
    return _squash(element.text_content())


def _form(element: lxml.html.FormElement) -> Form:
    # form_values() is what a browser submits: no disabled, unchecked or button inputs.
    buttons = tuple((b.get("name"), b.get("value", "")) for b in element.xpath(
        ".//input[@name and (@type='submit' or @type='image')]"
        " | .//button[@name and (not(@type) or @type='submit')]"))
    names = frozenset(element.inputs.keys()) - {name for name, _ in buttons}
    return Form(element.get("id"), element.action or element.base_url or "",
                element.method.lower(), dict(element.form_values()), names, buttons)


def _message(element: lxml.html.HtmlElement) -> Message:
    lineage = [element, *element.iterancestors()]
    kind = next((k for el in lineage for k, markers in _KINDS
                 if set(markers) & set(el.classes)), "info")
    field_id = next((el.get("id") for el in lineage
                     if (el.get("id") or "").startswith("input-error-")), None)
    name = field_id.removeprefix("input-error-").removeprefix("container-") if field_id else None
    return Message(kind, _text(element), name)


def parse_page(html_text: str, url: str = "", status: int = 200) -> Page:
    """Parse one Keycloak page (any HTML, really) into a :class:`Page`."""
    root = lxml.html.document_fromstring(html_text or "<html></html>", base_url=url or None)
    comments = " ".join(str(c.text) for c in root.getroottree().xpath("//comment()"))
    template = re.search(r"template:\s*(\S+?)\.ftl", comments)
    by_id = {el.get("id"): _text(el) for el in root.xpath("//*[@id]")}
    messages = [_message(el) for el in root.xpath(_FEEDBACK) if _text(el)]
    if by_id.get("kc-error-message"):  # error.ftl: the whole page is the error
        messages.append(Message("error", by_id["kc-error-message"]))
    links = tuple(Link(urljoin(url, a.get("href")), _text(a), a.get("id"))
                  for a in root.xpath("//a[@href]"))
    forms = tuple(_form(f) for f in root.forms)
    heading = by_id.get("kc-page-title") or _squash(" ".join(root.xpath("//title//text()")))
    body = root.find("body")
    visible = ""
    if body is not None:
        seen = lxml.html.fromstring(lxml.html.tostring(body))
        for hidden in seen.xpath(" | ".join(f"//{tag}" for tag in _UNSEEN)):
            hidden.drop_tree()
        for br in seen.iter("br"):
            br.tail = " " + (br.tail or "")
        visible = _text(seen)
    return Page(url=url, status=status, html=html_text, lang=root.get("lang") or None,
                page_id=(body.get("data-page-id") if body is not None else None) or None,
                template=template.group(1) if template else None, title=heading,
                text=visible, forms=forms, links=links, messages=tuple(messages),
                texts_by_id=by_id)


# --------------------------------------------------------------------------- tokens


def decode_jwt(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, NOT verified: for a token whose signature does not
    matter to the caller (e.g. one it just received and only measures). Claims a test
    asserts on come from :attr:`Tokens.access_claims` or :func:`verified_claims`."""
    return json.loads(jws.extract_compact(token.encode()).payload)


def _realm_keys(http: requests.Session, issuer: str, timeout: float) -> KeySet:
    config = http.get(f"{issuer}/.well-known/openid-configuration", timeout=timeout)
    config.raise_for_status()
    answer = http.get(config.json()["jwks_uri"], timeout=timeout)
    answer.raise_for_status()
    return KeySet.import_key_set({"keys": [k for k in answer.json()["keys"]
                                           if k.get("use", "sig") == "sig"]})


def _signed_claims(token: str, keys: KeySet, issuer: str) -> dict[str, Any]:
    """Claims of ``token`` once its signature checks against the realm's keys and its
    ``iss`` is the realm. ``exp`` is deliberately not checked here: a test may read a token
    it received minutes earlier (a slow step on a loaded machine), and expiry is Keycloak's
    to enforce on refresh and introspection, which tests check through those endpoints."""
    claims = dict(jwt.decode(token, keys).claims)
    if claims.get("iss") != issuer:
        raise FlowError(f"token issued by {claims.get('iss')!r}, not {issuer!r}")
    return claims


def verified_claims(token: str, issuer: str, *, session: requests.Session | None = None,
                    timeout: float = 30) -> dict[str, Any]:
    """Verify ``token``'s signature against the realm's JWKS, its ``iss`` and ``exp``."""
    decoded = jwt.decode(token, _realm_keys(session or requests.Session(), issuer, timeout))
    jwt.JWTClaimsRegistry(iss={"essential": True, "value": issuer}).validate(decoded.claims)
    return dict(decoded.claims)


@dataclass(frozen=True)
class Tokens:
    """A token endpoint's answer; claims are read only after their signature is verified
    against the realm's keys (``keys``, fetched once per login)."""

    raw: dict[str, Any]
    issuer: str
    client_id: str
    keys: KeySet | None = field(default=None, repr=False, compare=False)

    @property
    def access_token(self) -> str:
        return str(self.raw["access_token"])

    @property
    def refresh_token(self) -> str | None:
        return self.raw.get("refresh_token")

    @property
    def id_token(self) -> str | None:
        return self.raw.get("id_token")

    def _claims(self, token: str) -> dict[str, Any]:
        keys = self.keys or _realm_keys(requests.Session(), self.issuer, 30)
        return _signed_claims(token, keys, self.issuer)

    @property
    def access_claims(self) -> dict[str, Any]:
        return self._claims(self.access_token)

    @property
    def id_claims(self) -> dict[str, Any]:
        return self._claims(self.id_token) if self.id_token else {}


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

    def fresh_code(self) -> str:
        """A code Keycloak has not seen accepted yet (see :func:`_fresh_code`)."""
        return _fresh_code(self)


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
    """One authorization request in flight: the OAuth client that made it and its secrets."""

    issuer: str
    oauth: OAuth2Session
    code_verifier: str
    state: str
    nonce: str

    @property
    def client_id(self) -> str:
        return str(self.oauth.client_id)

    @property
    def redirect_uri(self) -> str:
        return str(self.oauth.redirect_uri)


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
        self._keys: dict[str, KeySet] = {}

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

    def _oauth(self, client_id: str, redirect_uri: str | None = None,
               scope: str | None = None) -> OAuth2Session:
        """authlib's client for a public client: PKCE S256, no client secret."""
        return OAuth2Session(client_id, redirect_uri=redirect_uri, scope=scope,
                             code_challenge_method="S256", token_endpoint_auth_method="none",
                             default_timeout=self.timeout)

    def authorize(self, issuer: str, client_id: str = "portal",
                  redirect_uri: str = DEFAULT_REDIRECT_URI, scope: str = "openid",
                  ui_locales: str | None = None, *, prompt: str | None = None,
                  login_hint: str | None = None) -> Page:
        """Start an authorization-code request with PKCE S256; return the first page."""
        issuer = issuer.rstrip("/")
        oauth = self._oauth(client_id, redirect_uri, scope)
        verifier, nonce = secrets.token_urlsafe(64), secrets.token_urlsafe(16)
        extra = {"nonce": nonce, "ui_locales": ui_locales, "prompt": prompt,
                 "login_hint": login_hint}
        url, state = oauth.create_authorization_url(
            self.discovery(issuer)["authorization_endpoint"], code_verifier=verifier,
            **{k: v for k, v in extra.items() if v})
        self._request = _Request(issuer, oauth, verifier, state, nonce)
        where = self._visit("GET", url)
        if isinstance(where, str):
            raise FlowError(f"Keycloak redirected at once to {where} (already signed in?)")
        self._raise_if_error(where)
        return where

    def choose_identity_provider(self, alias: str) -> Page:
        """On the sign-in page :meth:`authorize` returned, take the link of the identity
        provider ``alias`` (``/broker/{alias}/login``), as a person clicks "Sign in with
        ..."; return the upstream's first page (its own sign-in page), for :meth:`login`."""
        if self._request is None or self.page is None:
            raise FlowError("call authorize() first")
        link = self.page.link_containing(f"/broker/{alias}/login")
        if link is None:
            raise FlowError(f"no sign-in link for identity provider {alias!r}", self.page)
        where = self._visit("GET", urljoin(self.page.url, link.href))
        if isinstance(where, str):
            raise FlowError(f"the identity provider redirected at once to {where}")
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

    def sign_in_at(self, url: str, username: str, password: str) -> str:
        """Open an authorization URL made elsewhere (a README recipe, a client's own PKCE
        pair) and sign in as a person would; return the redirect that left Keycloak (the
        client's redirect URI, with ``code`` or ``error``). The code is not exchanged."""
        self.location = None
        where = self._visit("GET", url)
        location = where if isinstance(where, str) else self._drive(
            where, _Needs(username, password))
        if location is None:
            raise FlowError("Keycloak did not redirect back to the client", self.page)
        return location

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
        oauth = self._oauth(tokens.client_id)
        endpoint = self.discovery(tokens.issuer)["token_endpoint"]
        answer = self._token_call(oauth, "refresh_token_response", lambda: oauth.refresh_token(
            endpoint, refresh_token=tokens.refresh_token))
        return Tokens(answer, tokens.issuer, tokens.client_id, self._realm_keys(tokens.issuer))

    # -- plumbing

    def _realm_keys(self, issuer: str) -> KeySet:
        if issuer not in self._keys:
            self._keys[issuer] = _realm_keys(self.session, issuer, self.timeout)
        return self._keys[issuer]

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
        # its base32 form. A mismatch means this client read the wrong element.
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
        """The redirect back to the client: authlib checks ``state`` and exchanges the code
        with the PKCE verifier; the ID token's ``nonce`` must be the one sent."""
        request = self._request
        assert request is not None
        if not location.startswith(request.redirect_uri.split("?")[0].rstrip("/")):
            raise FlowError(f"Keycloak redirected to {location}, not to the redirect URI")
        got = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        if "error" in got:
            raise LoginError(got.get("error_description") or got["error"])
        if "code" not in got:
            raise FlowError(f"no code in {location}")
        endpoint = self.discovery(request.issuer)["token_endpoint"]
        try:
            answer = self._token_call(request.oauth, "access_token_response",
                                      lambda: request.oauth.fetch_token(
                                          endpoint, authorization_response=location,
                                          state=request.state,
                                          code_verifier=request.code_verifier))
        except MismatchingStateException as mismatch:
            raise FlowError(f"state mismatch in {location}") from mismatch
        tokens = Tokens(answer, request.issuer, request.client_id,
                        self._realm_keys(request.issuer))
        if tokens.id_token and tokens.id_claims.get("nonce") != request.nonce:
            raise FlowError("nonce mismatch in the ID token")
        self._request = None
        return tokens

    @staticmethod
    def _token_call(oauth: OAuth2Session, hook: str, call: Any) -> dict[str, Any]:
        """Run one authlib token call; a refusal becomes :class:`TokenError` with the HTTP
        status (read through authlib's compliance hook: its error carries no status)."""
        status: list[int] = []

        def remember(response: requests.Response) -> requests.Response:
            status.append(response.status_code)
            return response

        oauth.register_compliance_hook(hook, remember)
        try:
            return dict(call())
        except OAuthError as refused:
            raise TokenError(status[-1] if status else 0, str(refused.error),
                             str(refused.description or "")) from refused


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
