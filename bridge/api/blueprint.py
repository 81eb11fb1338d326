"""``/api/v1``: invitations and lifecycle as JSON over HTTP (the only Flask import here).

Every route authenticates the caller (:mod:`bridge.api.auth`), turns its JSON into the
use-case's values, calls :class:`bridge.invitations.AccessAdministration` and renders the
result. Errors go through one funnel and always read ``{"error": code, "detail": text}``:

====  ==========================================================================
400   ``invalid-request``, or a catalog rule's name (``status.profile``...)
401   no valid access token of the realm, or the actor is deactivated
403   ``delegation.*``: the actor may not do this (the reason in ``detail``)
404   ``not-found``
409   ``already-active``, ``already-invited``, ``not-pending``, ``lifecycle.self``
503   Keycloak (or its mail server) unavailable, with ``Retry-After``
====  ==========================================================================

No traceback, token or link ever leaves; an unexpected error is a 500 with a request id that
the log line carries too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from bridge.api.auth import Caller
from bridge.api.openapi import document
from bridge.auth import AuthFault, InvalidToken, KeysUnavailable, bearer_token
from bridge.catalog.mapping import perimeter_digest
from bridge.invitations import (
    DEFAULT_LIFESPAN,
    AccessAdministration,
    AccessDenied,
    Conflict,
    Facts,
    InvalidRequest,
    InvitationRequest,
    LifecycleError,
    Profile,
    Unavailable,
)
from bridge.keycloak import errors as kc

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"
FACT_KEYS = frozenset({"user_type", "status", "profile", "profiles", "toggles", "perimeter",
                       "tenants", "tenant"})
INVITE_KEYS = FACT_KEYS | {"email", "language", "first_name", "last_name", "client_id",
                           "redirect_uri", "lifespan"}
PATCH_KEYS = FACT_KEYS | {"first_name", "last_name", "language"}


AUTH_REALM = "bridge"  # the protection space named in WWW-Authenticate


def create_api_blueprint(service: AccessAdministration | None,
                         authenticate: Callable[[str | None], Caller | None], *,
                         retry_after: int = 30) -> Blueprint:
    """The blueprint. ``authenticate`` maps the Authorization header to the caller (None:
    401), or raises a :class:`bridge.auth.AuthFault` answered as on every surface;
    :meth:`bridge.api.auth.ActorAuthenticator.authenticate` in production. ``service`` None (no
    catalog configured) answers 503 on every route but the OpenAPI document."""
    bp = Blueprint("api_v1", __name__, url_prefix=PREFIX)

    def error(status: int, code: str, detail: str, body: Mapping[str, Any] | None = None,
              headers: Mapping[str, str] | None = None) -> Response:
        response = jsonify({**(body or {}), "error": code, "detail": detail})
        response.status_code = status
        for name, value in (headers or {}).items():
            response.headers[name] = value
        return response

    def unavailable(code: str, detail: str) -> Response:
        return error(503, code, detail, headers={"Retry-After": str(retry_after)})

    @bp.errorhandler(Exception)
    def funnel(exc: Exception) -> Response:
        if isinstance(exc, KeysUnavailable):  # the same answer as SCIM's (bridge.auth)
            return error(503, "keycloak-unavailable", exc.description,
                         headers=exc.headers(AUTH_REALM))
        if isinstance(exc, AuthFault):
            return error(exc.status, "unauthorized", exc.description,
                         headers=exc.headers(AUTH_REALM))
        if isinstance(exc, LifecycleError):
            if exc.status == 503:
                return unavailable(exc.code, exc.detail)
            body = {**exc.body, "outcome": exc.code} if isinstance(exc, Conflict) else exc.body
            return error(exc.status, exc.code, exc.detail, body)
        if isinstance(exc, kc.Unavailable):
            logger.warning("Keycloak unavailable: %s", exc)
            return unavailable("keycloak-unavailable", "Keycloak is unavailable; retry later")
        if isinstance(exc, kc.NotFound):
            return error(404, "not-found", "no such resource")
        if isinstance(exc, kc.Conflict):
            return error(409, "conflict", f"Keycloak refused a duplicate: {exc.detail}")
        if isinstance(exc, kc.GatewayError):
            if exc.status == 400:
                return error(400, "keycloak-refused", f"Keycloak refused a value: {exc.detail}")
            logger.warning("Keycloak admin call failed: %s", exc)
            return unavailable("keycloak-error", "Keycloak failed; retry later")
        if isinstance(exc, HTTPException):
            return error(exc.code or 500, exc.name.lower().replace(" ", "-"),
                         exc.description or exc.name)
        request_id = uuid.uuid4().hex[:12]
        logger.exception("API request %s failed", request_id)
        return error(500, "internal", f"internal error (request {request_id})")

    @bp.before_request
    def authenticate_caller() -> None:
        if request.endpoint == f"{bp.name}.openapi":
            return
        if service is None:
            raise Unavailable("no access catalog is configured (BRIDGE_CATALOG)",
                              code="catalog-not-configured")
        header = request.headers.get("Authorization")
        caller = authenticate(header)
        if caller is None:
            bearer_token(header)  # MissingToken without bearer credentials
            raise InvalidToken("a valid access token of the realm is required")
        try:
            g.actor = service.actor_for_user(caller.subject, caller.username)
        except AccessDenied as exc:
            if exc.code == "actor.inactive":
                raise InvalidToken(exc.detail) from None
            raise

    def svc() -> AccessAdministration:
        assert service is not None
        return service

    # -- invitations

    @bp.post("/invitations")
    def invite() -> tuple[Response, int] | Response:
        body = _body(INVITE_KEYS)
        result = svc().invite(g.actor, InvitationRequest(
            email=_string(body, "email", required=True) or "",
            facts=_facts(body),
            language=_string(body, "language") or "en",
            first_name=_string(body, "first_name"), last_name=_string(body, "last_name"),
            client_id=_string(body, "client_id"), redirect_uri=_string(body, "redirect_uri"),
            lifespan=_integer(body, "lifespan", DEFAULT_LIFESPAN)))
        response = jsonify({"outcome": result.outcome,
                            "invitation": result.invitation.to_json()})
        response.headers["Location"] = f"{PREFIX}/invitations/{result.invitation.id}"
        return response, 201 if result.outcome == "invited" else 200

    @bp.get("/invitations")
    def list_invitations() -> Response:
        state = request.args.get("state", "all")
        if state not in ("all", "pending"):
            raise InvalidRequest("state is 'all' or 'pending'")
        page = svc().list_invitations(
            g.actor, first=_query_int("first", 0), max=_query_int("max", 50),
            include_expired=state == "all")
        return jsonify({"items": [i.to_json() for i in page.items], "first": page.first,
                        "max": page.max, "next": page.next})

    @bp.get("/invitations/<user_id>")
    def get_invitation(user_id: str) -> Response:
        return jsonify(svc().get_invitation(g.actor, user_id).to_json())

    @bp.post("/invitations/<user_id>/resend")
    def resend(user_id: str) -> Response:
        body = _body({"lifespan"}, optional=True)
        invitation = svc().resend(g.actor, user_id,
                                  _integer(body, "lifespan", DEFAULT_LIFESPAN))
        return jsonify({"outcome": "resent", "invitation": invitation.to_json()})

    @bp.delete("/invitations/<user_id>")
    def revoke(user_id: str) -> tuple[str, int]:
        svc().revoke(g.actor, user_id)
        return "", 204

    # -- the caller itself

    @bp.get("/me/perimeter")
    def my_perimeter() -> Response:
        # The actor's facts were just read from its account: no further admin call.
        perimeter = g.actor.assignment.perimeter_by_dimension()
        return jsonify({"perimeter": perimeter,
                        "perimeter_ref": perimeter_digest(perimeter) if perimeter else None})

    # -- users

    @bp.get("/users/<user_id>")
    def get_user(user_id: str) -> Response:
        return jsonify(svc().get_user(g.actor, user_id).to_json())

    @bp.patch("/users/<user_id>")
    def update_user(user_id: str) -> Response:
        body = _body(PATCH_KEYS)
        user = svc().update(g.actor, user_id, Profile(
            facts=_facts(body), first_name=_string(body, "first_name"),
            last_name=_string(body, "last_name"), language=_string(body, "language")))
        return jsonify({"outcome": "updated", "user": user.to_json()})

    def lifecycle(action: Callable[..., Any], outcome: str, user_id: str) -> Response:
        user = action(g.actor, user_id)
        return jsonify({"outcome": outcome, "user": user.to_json()})

    @bp.post("/users/<user_id>/deactivate")
    def deactivate(user_id: str) -> Response:
        return lifecycle(svc().deactivate, "deactivated", user_id)

    @bp.post("/users/<user_id>/reactivate")
    def reactivate(user_id: str) -> Response:
        return lifecycle(svc().reactivate, "reactivated", user_id)

    @bp.delete("/users/<user_id>")
    def delete_user(user_id: str) -> tuple[str, int]:
        svc().delete(g.actor, user_id)
        return "", 204

    @bp.get("/openapi.json")
    def openapi() -> Response:
        return jsonify(document())

    return bp


# -- request parsing (400 invalid-request, naming the field) -------------------------------

def _body(allowed: frozenset[str] | set[str], optional: bool = False) -> dict[str, Any]:
    if optional and not request.get_data():
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidRequest(f"unknown field(s): {', '.join(unknown)}")
    return data


def _string(body: Mapping[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidRequest(f"{key} is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(f"{key} must be a non-empty string")
    return value.strip()


def _strings(body: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InvalidRequest(f"{key} must be a list of strings")
    return tuple(value)


def _integer(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{key} must be an integer")
    return value


def _query_int(key: str, default: int) -> int:
    value = request.args.get(key)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidRequest(f"{key} must be an integer") from None


def _facts(body: Mapping[str, Any]) -> Facts:
    if "profile" in body and "profiles" in body:
        raise InvalidRequest("give profile or profiles, not both")
    if "tenant" in body and "tenants" in body:
        raise InvalidRequest("give tenant or tenants, not both")
    profiles = _strings(body, "profiles")
    if "profile" in body:
        profile = body["profile"]
        if profile is not None and not (isinstance(profile, str) and profile):
            raise InvalidRequest("profile must be a string (or null: no profile)")
        profiles = (profile,) if profile else ()
    tenants = _strings(body, "tenants")
    # ``tenant``: the one tenant this change is for (added, never replacing the others;
    # a profile with it is per user, see Facts.for_tenants). ``tenants``: all of them.
    for_tenants = None
    if "tenant" in body:
        for_tenants = frozenset({_string(body, "tenant", required=True) or ""})
    toggles = _strings(body, "toggles")
    perimeter = body.get("perimeter")
    if perimeter is not None:
        if not isinstance(perimeter, dict) or not all(
                isinstance(v, list) and all(isinstance(e, str) and e for e in v)
                for v in perimeter.values()):
            raise InvalidRequest("perimeter must map each dimension to a list of entries, "
                                 'e.g. {"project": ["p1", "p2"], "team": ["t1"]}')
        perimeter = {str(k): tuple(v) for k, v in perimeter.items()}
    return Facts(user_type=_string(body, "user_type"), status=_string(body, "status"),
                 profiles=profiles, toggles=None if toggles is None else frozenset(toggles),
                 perimeter=perimeter, tenants=None if tenants is None else frozenset(tenants),
                 for_tenants=for_tenants)
