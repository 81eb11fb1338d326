"""``/api/v1``: invitations and lifecycle as JSON over HTTP (the only Flask import here).

Every route is declared once as an :class:`bridge.api.openapi.Operation`: its request and
response bodies are the pydantic models of :mod:`bridge.api.models`, which validate what it
reads and render what it answers, and the OpenAPI document (``/api/v1/openapi.json``, read
at ``/api/v1/docs``) is generated from the same declarations. Every route but those two
authenticates the caller (:mod:`bridge.api.auth`), turns the validated body into the
use-case's values, calls :class:`bridge.invitations.AccessAdministration` and renders the
result. Errors go through one funnel and always read ``{"error": code, "detail": text}``:

====  ==========================================================================
400   ``invalid-request`` (also a body nested deeper than 32, or not UTF-8 JSON),
      ``invalid-value`` (a value the directory would refuse), or a catalog rule's name
      (``status.profile``...)
401   no valid access token of the realm, or the actor is deactivated
403   ``delegation.*``: the actor may not do this (the reason in ``detail``)
404   ``not-found``
409   ``already-active``, ``already-invited``, ``not-pending``, ``lifecycle.self``,
      ``conflict``
413   ``payload-too-large``: a body over :data:`MAX_PAYLOAD_SIZE` bytes, on every route
503   Keycloak (or its mail server) unavailable, with ``Retry-After``; or
      ``catalog-not-configured`` (no ``Retry-After``): the bridge runs without
      ``BRIDGE_CATALOG``, so every route but the document and its docs page answers this
====  ==========================================================================

No traceback, token, link or Keycloak text ever leaves (Keycloak's messages are logged and
answered in the bridge's words); an unexpected error is a 500 with a request id that the log
line carries too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from bridge import errors as domain
from bridge.access_requests.service import AccessRequests
from bridge.api.access_requests import register as register_access_requests
from bridge.api.auth import Caller
from bridge.api.docs import page as docs_page
from bridge.api.models import (
    InvitationBody,
    InvitationOut,
    InvitationOutcome,
    InvitationPage,
    InvitationQuery,
    MyAccess,
    MyPerimeter,
    ResendBody,
    UserChange,
    UserOut,
    UserOutcome,
    refusal,
)
from bridge.api.openapi import Operation, Reply, document, refused
from bridge.api.tenants import TenantOperations
from bridge.api.tenants import register as register_tenant_routes
from bridge.auth import AuthFault, InvalidToken, KeysUnavailable, bearer_token
from bridge.catalog.mapping import perimeter_digest
from bridge.invitations import (
    AccessAdministration,
    AccessDenied,
    Conflict,
    InvalidRequest,
    LifecycleError,
    RuleRefused,
)
from bridge.observability.context import request_id_or_new
from bridge.tenants.errors import TenantError
from scim.payload import BodyTooLarge, PayloadError, parse_json

logger = logging.getLogger(__name__)

PREFIX = "/api/v1"
TITLE = "Access bridge: invitations and lifecycle"
M = TypeVar("M", bound=BaseModel)
MAX_PAYLOAD_SIZE = 1_048_576
"""Largest request body of any route, in bytes (413 beyond): an invitation with a perimeter of
10,000 entries is about 200 KB."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects in a body (400 beyond); the deepest valid body is 3."""


class PayloadTooLarge(Exception):
    """A body over :data:`MAX_PAYLOAD_SIZE` (answered 413)."""


AUTH_REALM = "bridge"  # the protection space named in WWW-Authenticate
NO_CATALOG = ("this bridge serves no access catalog, so it has no invitations or users to "
              "manage: start it with BRIDGE_CATALOG naming a catalog.yaml or its directory "
              "(e.g. realm-config/examples/004-accounting-portal), applied to the realm "
              "with `bridge realm apply realm-config <that directory>`; SCIM works without "
              "one")
"""The detail of every ``/api/v1`` answer (503 ``catalog-not-configured``) without a catalog."""


def create_api_blueprint(service: AccessAdministration | None,
                         authenticate: Callable[[str | None], Caller | None], *,
                         retry_after: int = 30,
                         on_refusal: Callable[[str], None] | None = None,
                         tenants: TenantOperations | None = None,
                         access_requests: AccessRequests | None = None) -> Blueprint:
    """The blueprint. ``authenticate`` maps the Authorization header to the caller (None:
    401), or raises a :class:`bridge.auth.AuthFault` answered as on every surface;
    :meth:`bridge.api.auth.ActorAuthenticator.authenticate` in production. ``service`` None (no
    catalog configured) answers 503 ``catalog-not-configured`` (:data:`NO_CATALOG`) on every
    route but the OpenAPI document and its docs page. ``on_refusal`` is told the rule's name
    of each write a catalog rule refuses (the server's /metrics). ``tenants`` (a catalog with
    tenancy): the ``/tenants`` routes of :mod:`bridge.api.tenants` call it.
    ``access_requests`` None (no ``BRIDGE_SESSION_SECRET``): no ``/access-requests`` route."""
    bp = Blueprint("api_v1", __name__, url_prefix=PREFIX)
    public: set[str] = set()  # endpoints served without a token

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
            if on_refusal is not None and isinstance(exc, RuleRefused | AccessDenied):
                on_refusal(exc.code)
            if exc.status == 503:
                return unavailable(exc.code, exc.detail)
            body = {**exc.body, "outcome": exc.code} if isinstance(exc, Conflict) else exc.body
            return error(exc.status, exc.code, exc.detail, body)
        if isinstance(exc, TenantError):
            if on_refusal is not None and exc.rule:
                on_refusal(exc.rule)
            return error(exc.status, exc.code, exc.detail)
        if isinstance(exc, domain.Unavailable):
            logger.warning("Keycloak unavailable: %s", exc)
            return unavailable("keycloak-unavailable", "Keycloak is unavailable; retry later")
        if isinstance(exc, domain.NotFound):
            return error(404, "not-found", "no such resource")
        if isinstance(exc, PayloadTooLarge):
            return error(413, "payload-too-large",
                         f"the request body exceeds {MAX_PAYLOAD_SIZE} bytes")
        if isinstance(exc, domain.Duplicate):
            logger.info("Keycloak refused a duplicate: %s", exc.detail)
            return error(409, "conflict", exc.words)
        if isinstance(exc, domain.Refused):
            # Keycloak's own text stays in the log; the client reads the bridge's words.
            logger.info("Keycloak refused a value: %s", exc.detail)
            return error(400, "invalid-value", exc.words)
        if isinstance(exc, domain.TooLarge):
            return error(413, "payload-too-large", "the request is larger than the "
                         "directory stores")
        if isinstance(exc, domain.DirectoryError):
            logger.warning("Keycloak admin call failed: %s", exc)
            return unavailable("keycloak-error", "Keycloak failed; retry later")
        if isinstance(exc, HTTPException):
            return error(exc.code or 500, exc.name.lower().replace(" ", "-"),
                         exc.description or exc.name)
        request_id = request_id_or_new()
        logger.exception("API request %s failed", request_id)
        return error(500, "internal", f"internal error (request {request_id})")

    @bp.before_request
    def authenticate_caller() -> Response | None:
        # Every route, before anything else: a body over the limit is never read whole.
        if (request.content_length or 0) > MAX_PAYLOAD_SIZE:
            raise PayloadTooLarge
        if request.endpoint in public:
            return
        if service is None:
            # A deployment without a catalog, not a passing fault: no Retry-After.
            return error(503, "catalog-not-configured", NO_CATALOG)
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

    operations: list[Operation] = []

    def route(op: Operation) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register ``op``'s rule and describe it in the document; the view gets the body
        (``body=``) and query (``query=``) validated by ``op``'s models."""
        def register(view: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(view)
            def validated(**kwargs: Any) -> Any:
                if op.body is not None:
                    kwargs["body"] = _validate(op.body, _body(optional=not op.body_required))
                if op.query is not None:
                    kwargs["query"] = _validate(op.query, request.args.to_dict())
                return view(**kwargs)

            bp.add_url_rule(op.rule, view.__name__, validated, methods=[op.method])
            operations.append(op)
            if op.public:
                public.add(f"{bp.name}.{view.__name__}")
            return validated
        return register

    # -- invitations

    @route(Operation(
        "POST", "/invitations", "invite", "Invite a person", body=InvitationBody,
        description=(
            "Creates the user with the required actions the catalog implies and has Keycloak "
            "mail the activation link in the invitee's language. An e-mail that already has "
            "an account gets no second one: 200 `already-invited` (pending, with the same "
            "access), 409 `already-invited` (pending with other access: nothing is changed, "
            "change the user instead) or 409 `already-active`."),
        replies={201: Reply("Invited; mail sent", InvitationOutcome,
                            headers={"Location": {"schema": {"type": "string"},
                                                  "description": "the invitation"}}),
                 200: Reply("`already-invited`: the pending invitation", InvitationOutcome),
                 409: refused("`already-active`, `already-invited` outside the actor's "
                              "reach or with other access than asked, or `already-exists` "
                              "(created meanwhile)")}))
    def invite(body: InvitationBody) -> tuple[Response, int]:
        result = svc().invite(g.actor, body.request())
        response = _json(InvitationOutcome.of(result))
        response.headers["Location"] = f"{PREFIX}/invitations/{result.invitation.id}"
        return response, 201 if result.outcome == "invited" else 200

    @route(Operation(
        "GET", "/invitations", "listInvitations",
        "Pending and expired invitations the caller may manage", query=InvitationQuery,
        replies={200: Reply("One page (it may hold fewer than `max` items)",
                            InvitationPage)}))
    def list_invitations(query: InvitationQuery) -> Response:
        page = svc().list_invitations(g.actor, first=query.first, max=query.max,
                                      include_expired=query.state == "all")
        return _json(InvitationPage.of(page))

    invitation_id = "the invitation's id (the invited user's id)"

    @route(Operation(
        "GET", "/invitations/<id>", "getInvitation", "One pending invitation",
        path_description=invitation_id,
        replies={200: Reply("The invitation", InvitationOut), 409: refused("`not-pending`")}))
    def get_invitation(id: str) -> Response:
        return _json(InvitationOut.of(svc().get_invitation(g.actor, id)))

    @route(Operation(
        "POST", "/invitations/<id>/resend", "resendInvitation",
        "Mail a new activation link, with a new expiry", path_description=invitation_id,
        body=ResendBody, body_required=False,
        replies={200: Reply("Resent", InvitationOutcome), 409: refused("`not-pending`")}))
    def resend(id: str, body: ResendBody) -> Response:
        invitation = svc().resend(g.actor, id, body.lifespan)
        return _json(InvitationOutcome(outcome="resent",
                                       invitation=InvitationOut.of(invitation)))

    @route(Operation(
        "DELETE", "/invitations/<id>", "revokeInvitation",
        "Revoke before activation (the link stops working)", path_description=invitation_id,
        replies={204: Reply("Revoked"), 409: refused("`not-pending`")}))
    def revoke(id: str) -> tuple[str, int]:
        svc().revoke(g.actor, id)
        return "", 204

    # -- the caller itself

    @route(Operation(
        "GET", "/me/perimeter", "myPerimeter", "The caller's perimeter",
        description=(
            "Resolves the `perimeter_ref` claim: a perimeter too large for the access token "
            "(see docs/access-catalog.md) is read here, with the caller's own token."),
        replies={200: Reply("The perimeter", MyPerimeter)}))
    def my_perimeter() -> Response:
        # The actor's facts were just read from its account: no further admin call.
        perimeter = g.actor.assignment.perimeter_by_dimension()
        return _json(MyPerimeter(
            perimeter=perimeter,
            perimeter_ref=perimeter_digest(perimeter) if perimeter else None))

    @route(Operation(
        "GET", "/me/access", "myAccess", "The caller's tenants and permissions",
        description=(
            "Resolves the `access_ref` claim: tenants and permissions too large for the "
            "access token (a user of hundreds of tenants, over the catalog's "
            "`access_budget`; see docs/access-catalog.md) are read here, with the caller's "
            "own token. Without overflow it answers the token's inline values and a null "
            "`access_ref`, so an app needs this one call either way."),
        replies={200: Reply("The tenants and permissions", MyAccess)}))
    def my_access() -> Response:
        # The actor's facts were just read from its account: no further admin call.
        actor = g.actor
        assert actor.assignment is not None
        return _json(MyAccess(tenants=sorted(actor.assignment.tenants),
                              permissions=list(actor.permissions),
                              access_ref=actor.access_ref))

    # -- users

    user_id = "the Keycloak user id"
    outcome = {200: Reply("Done", UserOutcome)}

    @route(Operation("GET", "/users/<id>", "getUser", "One user", path_description=user_id,
                     replies={200: Reply("The user", UserOut)}))
    def get_user(id: str) -> Response:
        return _json(UserOut.of(svc().get_user(g.actor, id)))

    @route(Operation(
        "PATCH", "/users/<id>", "updateUser",
        "Change names, language, status, profile, toggles, perimeter or tenants",
        path_description=user_id, body=UserChange, replies=outcome))
    def update_user(id: str, body: UserChange) -> Response:
        user = svc().update(g.actor, id, body.profile_change())
        return _json(UserOutcome(outcome="updated", user=UserOut.of(user)))

    @route(Operation(
        "POST", "/users/<id>/deactivate", "deactivateUser",
        "Disable and end every session (refresh fails)", path_description=user_id,
        replies={**outcome, 409: refused("`lifecycle.self`")}))
    def deactivate(id: str) -> Response:
        user = svc().deactivate(g.actor, id)
        return _json(UserOutcome(outcome="deactivated", user=UserOut.of(user)))

    @route(Operation("POST", "/users/<id>/reactivate", "reactivateUser", "Enable again",
                     path_description=user_id, replies=outcome))
    def reactivate(id: str) -> Response:
        user = svc().reactivate(g.actor, id)
        return _json(UserOutcome(outcome="reactivated", user=UserOut.of(user)))

    @route(Operation(
        "DELETE", "/users/<id>", "deleteUser", "Delete the user", path_description=user_id,
        replies={204: Reply("Deleted"), 409: refused("`lifecycle.self`")}))
    def delete_user(id: str) -> tuple[str, int]:
        svc().delete(g.actor, id)
        return "", 204

    # -- tenants (their own module: bridge.api.tenants)

    if tenants is not None:
        register_tenant_routes(route, lambda: tenants)

    # -- access requests (their own module; absent, and out of the document, when off)

    if access_requests is not None:
        register_access_requests(route, access_requests)

    # -- the document and its page

    @route(Operation("GET", "/openapi.json", "openapi", "This document", public=True,
                     replies={200: Reply("OpenAPI 3.1 document",
                                         schema={"type": "object"})}))
    def openapi() -> Response:
        return jsonify(described)

    @route(Operation("GET", "/docs", "docs", "This document, to read and try (Swagger UI)",
                     public=True, replies={200: Reply("Swagger UI", media_type="text/html",
                                                      schema={"type": "string"})}))
    def docs() -> Response:
        return Response(docs_page(TITLE), mimetype="text/html")

    described = document(operations)  # every route is declared above: the document is whole
    return bp


# -- request parsing (400 invalid-request, naming the field) -------------------------------

def _body(optional: bool = False) -> Any:
    """The JSON body (``{}`` for an empty optional one), within the size and depth limits
    (:func:`scim.payload.parse_json`, the one parser of request bodies)."""
    raw = request.stream.read(MAX_PAYLOAD_SIZE + 1)
    if optional and not raw:
        return {}
    try:
        return parse_json(raw, max_size=MAX_PAYLOAD_SIZE, max_depth=MAX_JSON_DEPTH)
    except BodyTooLarge:
        raise PayloadTooLarge from None
    except PayloadError as exc:
        raise InvalidRequest(str(exc)) from None


def _validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise InvalidRequest("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequest(refusal(exc)) from None


def _json(model: BaseModel) -> Response:
    return jsonify(model.model_dump(mode="json"))
