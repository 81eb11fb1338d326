"""The review pages a responsible reaches from an access-request mail (``/access-requests``).

``GET /access-requests/<id>`` signs the person in through Keycloak first (authorization
code + PKCE S256 with authlib's Flask client, against the realm's ``bridge-review`` client,
realm-config/clients/bridge-review.yaml), then shows the request with the profiles the
person may grant, if it is the request's responsible (403 otherwise, 404 for an unknown id).
Approving or declining is a POST carrying the session's CSRF token; GET never changes
anything (a mail scanner following the links decides nothing).

The session (who signed in, the CSRF token, authlib's state, nonce and PKCE verifier) is
Flask's cookie, signed with ``BRIDGE_SESSION_SECRET``: nothing is kept on the replica, so a
sign-in begun on one replica completes on any other. It lives :data:`SESSION_LIFETIME`.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, Flask, Response, redirect, request, session

from bridge.access_requests import words
from bridge.access_requests.service import AccessRequests, Review
from bridge.invitations import (
    AccessDenied,
    Conflict,
    InvalidRequest,
    LifecycleError,
    NotFound,
    RuleRefused,
)

logger = logging.getLogger(__name__)

PREFIX = "/access-requests"
CALLBACK = f"{PREFIX}/signin"
SESSION_LIFETIME = timedelta(minutes=15)
"""How long a sign-in on the review pages lasts (then the person signs in again)."""
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def install(app: Flask, service: AccessRequests, *, secret: str, public_url: str,
            issuer: str, client_id: str) -> None:
    """The review pages on ``app``, whose session cookie ``secret`` now signs."""
    app.secret_key = secret
    app.config.update(SESSION_COOKIE_NAME="bridge_review", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=public_url.startswith("https://"),
                      SESSION_COOKIE_PATH=PREFIX, PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME)
    oauth = OAuth(app)
    keycloak = oauth.register(
        name="keycloak", client_id=client_id,
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid", "code_challenge_method": "S256",
                       "token_endpoint_auth_method": "none", "timeout": 10})
    app.register_blueprint(blueprint(service, keycloak, f"{public_url}{CALLBACK}"))


def blueprint(service: AccessRequests, keycloak: Any, callback_url: str) -> Blueprint:
    bp = Blueprint("access_requests_web", __name__, url_prefix=PREFIX)

    @bp.after_request
    def hardened(response: Response) -> Response:
        for name, value in _HEADERS.items():
            response.headers[name] = value
        return response

    def reviewer() -> str | None:
        who = session.get("reviewer")
        return str(who) if who else None

    @bp.get("/signin")
    def signed_in() -> Any:
        try:
            token = keycloak.authorize_access_token()
        except (OAuthError, KeyError, ValueError) as exc:
            logger.info("review sign-in refused: %s", exc)
            return _page("en", 400, words.say("en", "page.title"),
                         "<p>The sign-in did not complete; open the link again.</p>")
        claims = token.get("userinfo") or {}
        if not claims.get("sub"):
            return _page("en", 400, "Sign-in", "<p>The sign-in did not name anyone.</p>")
        wanted = str(session.pop("next", "") or "")
        session.clear()
        session.permanent = True
        session["reviewer"] = str(claims["sub"])
        session["csrf"] = secrets.token_urlsafe(32)
        # Only a review page of ours: never an open redirect.
        return redirect(wanted if wanted.startswith(f"{PREFIX}/") else f"{PREFIX}/", 303)

    def sign_in() -> Any:
        session["next"] = request.full_path.rstrip("?")
        return keycloak.authorize_redirect(callback_url)

    @bp.get("/<request_id>")
    def review(request_id: str) -> Any:
        who = reviewer()
        if who is None:
            return sign_in()
        lang = _language(service, who)
        try:
            seen = service.review(request_id, who)
        except LifecycleError as exc:
            return _refused(lang, exc)
        return _page(lang, 200, words.say(lang, "page.title"),
                     _review_body(service, seen, lang, str(session.get("csrf", "")),
                                  request.args.get("decision") == "decline"))

    def decide(request_id: str, act: Callable[[Any, str], str]) -> Any:
        who = reviewer()
        lang = _language(service, who) if who else "en"
        if who is None:
            return _page(lang, 401, words.say(lang, "page.title"),
                         "<p>Sign in first: open the link of the mail again.</p>")
        sent = request.form.get("csrf", "")
        expected = str(session.get("csrf", ""))
        if not expected or not secrets.compare_digest(sent.encode(), expected.encode()):
            return _page(lang, 403, words.say(lang, "page.title"),
                         "<p>This form has expired; open the link of the mail again.</p>")
        try:
            actor = service.administration.actor_for_user(who)
            said = act(actor, lang)
        except LifecycleError as exc:
            return _refused(lang, exc)
        return _page(lang, 200, words.say(lang, "page.title"), f"<p id=\"outcome\">"
                     f"{html.escape(said)}</p>")

    @bp.post("/<request_id>/approve")
    def approve(request_id: str) -> Any:
        def act(actor: Any, lang: str) -> str:
            done = service.approve(actor, request_id, request.form.get("profile") or None,
                                   reviewer_id=reviewer())
            return words.say(lang, "page.approved", email=done.request.email)
        return decide(request_id, act)

    @bp.post("/<request_id>/decline")
    def decline(request_id: str) -> Any:
        def act(actor: Any, lang: str) -> str:
            done = service.decline(actor, request_id, request.form.get("reason", ""),
                                   reviewer_id=reviewer())
            return words.say(lang, "page.declined", requester=done.requester)
        return decide(request_id, act)

    return bp


def _language(service: AccessRequests, user_id: str) -> str:
    person = service.people.get(user_id)
    return words.language(person.locale if person else None)


def _refused(lang: str, exc: LifecycleError) -> Response:
    if isinstance(exc, NotFound):
        status, text = 404, words.say(lang, "page.not-found")
    elif isinstance(exc, AccessDenied):
        status, text = 403, words.say(lang, "page.forbidden")
    elif isinstance(exc, Conflict) and exc.code == "request.expired":
        status, text = 409, words.say(lang, "page.expired")
    elif isinstance(exc, Conflict) and exc.code == "request.decided":
        status, text = 409, words.say(lang, "page.decided", state=exc.detail)
    elif isinstance(exc, RuleRefused | InvalidRequest | Conflict):
        status, text = exc.status, words.say(lang, "page.refused", detail=exc.detail)
    else:
        status, text = exc.status, exc.detail
    return _page(lang, status, words.say(lang, "page.title"),
                 f'<p id="outcome" data-code="{html.escape(exc.code)}">{html.escape(text)}</p>')


def _review_body(service: AccessRequests, seen: Review, lang: str, csrf: str,
                 declining: bool) -> str:
    r = seen.request
    e = html.escape
    profiles = service.catalog.profile_by_name
    asked = profiles[r.profile].label if r.profile in profiles else r.profile
    kind = service.catalog.tenancy.label if service.catalog.tenancy else "tenant"
    rows = [("page.requester", seen.requester_name),
            ("page.person", f"{r.first_name} {r.last_name} ({r.email})"),
            ("page.tenant", f"{kind} {seen.tenant_label}"),
            ("page.asked", asked or r.profile),
            ("page.expires", words.date(r.expires_at, lang))]
    table = "".join(f"<tr><th>{e(words.say(lang, k))}</th><td>{e(v)}</td></tr>"
                    for k, v in rows)
    who = service.people.get(str(session.get("reviewer")))
    signed = (f'<p class="who">{e(words.say(lang, "page.signed-in", name=who.name))}</p>'
              if who else "")
    if seen.state != "pending":
        key = "page.expired" if seen.state == "expired" else "page.decided"
        return (f"{signed}<table>{table}</table><p id=\"outcome\">"
                f"{e(words.say(lang, key, state=seen.state))}</p>")
    options = "".join(
        f'<option value="{e(name)}"{" selected" if name == r.profile else ""}>{e(label)}'
        "</option>" for name, label in seen.grantable)
    token = f'<input type="hidden" name="csrf" value="{e(csrf)}">'
    approve = (f'<form method="post" action="{PREFIX}/{e(r.id)}/approve" id="approve">'
               f'{token}<label>{e(words.say(lang, "page.grant"))} <select name="profile">'
               f'{options}</select></label> <button type="submit">'
               f'{e(words.say(lang, "page.approve"))}</button></form>')
    decline = (f'<form method="post" action="{PREFIX}/{e(r.id)}/decline" id="decline">'
               f'{token}<label>{e(words.say(lang, "page.reason"))}<br><textarea '
               f'name="reason" maxlength="240" required{" autofocus" if declining else ""}>'
               f'</textarea></label><br><button type="submit">'
               f'{e(words.say(lang, "page.decline"))}</button></form>')
    forms = decline + approve if declining else approve + decline
    return f"{signed}<table>{table}</table>{forms}"


def _page(lang: str, status: int, title: str, body: str) -> Response:
    e = html.escape
    document = (f'<!DOCTYPE html><html lang="{e(lang)}"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f"<title>{e(title)}</title><style>body{{font-family:sans-serif;max-width:"
                f"40rem;margin:2rem auto}}th{{text-align:left;padding-right:1rem}}form"
                f"{{margin-top:1.5rem}}</style></head><body><h1>{e(title)}</h1>{body}"
                "</body></html>")
    return Response(document, status=status, mimetype="text/html")
