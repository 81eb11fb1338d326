"""The Flask adapter: the only module of ``scim`` that imports Flask.

``create_scim_blueprint(backend, authenticate, settings=...)`` returns a Blueprint
to register at ``/scim/v2``. It authenticates every request with the injected
``authenticate(authorization_header) -> Subject | None`` (``None`` → 401 with
``WWW-Authenticate: Bearer``; a :class:`~scim.errors.ScimError` it raises is the answer,
e.g. a 401 with its own challenge or a 503), hands the request to
:class:`scim.handlers.ScimHandlers` and wraps the neutral response. It is the error
funnel: an unexpected exception is logged with a request id and answered with a generic
SCIM 500 naming only that id. The id is the application's (``request_id``: e.g. the one it
took from the caller's ``X-Request-Id``), or a new one per request.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable

from flask import Blueprint, Response, request

from . import errors
from .backend import ScimBackend, Subject
from .handlers import ScimHandlers, ScimRequest, ScimResponse, error_response
from .settings import ScimSettings

logger = logging.getLogger(__name__)

SCIM_MEDIA_TYPE = "application/scim+json"
DEFAULT_PREFIX = "/scim/v2"

Authenticator = Callable[[str | None], Subject | None]
"""Injected by the app: maps the ``Authorization`` header to a subject, or ``None``.

It must not raise on a malformed header except with a :class:`scim.errors.ScimError`
(answered as such: a 401 with a precise challenge, a 503 when it cannot tell); any other
exception it raises is treated like any other unexpected error (500 with a request id).
"""

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

ENDPOINT_RULES = (
    "/Users", "/Users/<resource_id>", "/Users/.search",
    "/Groups", "/Groups/<resource_id>", "/Groups/.search",
    "/Bulk", "/.search", "/ServiceProviderConfig", "/ServiceProviderConfig/limits",
    "/ResourceTypes", "/ResourceTypes/<entry>", "/Schemas", "/Schemas/<entry>",
)
"""Each endpoint's own URL rule: the route a request is known by outside the dispatcher (a
metric's label, never the raw path). Every rule reaches the same view, and the catch-all
rule still takes any other path (another casing, an unknown endpoint) to the dispatcher,
which answers it as before: the rules add names, not behaviour."""


def _to_flask(response: ScimResponse, request_id: str) -> Response:
    headers = dict(response.headers)
    headers["X-Request-Id"] = request_id
    if response.body is None:
        return Response(status=response.status, headers=headers)
    return Response(
        json.dumps(response.body),
        status=response.status,
        headers=headers,
        content_type=SCIM_MEDIA_TYPE,
    )


def create_scim_blueprint(
    backend: ScimBackend,
    authenticate: Authenticator,
    *,
    settings: ScimSettings | None = None,
    name: str = "scim",
    url_prefix: str = DEFAULT_PREFIX,
    request_id: Callable[[], str] | None = None,
) -> Blueprint:
    """Build the SCIM blueprint; register it with ``app.register_blueprint(bp)``.

    ``request_id()`` gives the id of the request being served (answered in
    ``X-Request-Id``, named by a 500); by default each request gets a new one."""
    new_id = request_id or (lambda: uuid.uuid4().hex)
    settings = settings or ScimSettings()
    handlers = ScimHandlers(backend, settings)
    # One byte more than any route accepts is enough to know a body is too large: a 50 MB
    # body is refused (413) after reading ~1 MB of it, never buffered whole.
    read_limit = settings.max_body_size + 1
    blueprint = Blueprint(name, __name__, url_prefix=url_prefix)

    def serve(path: str | None = None, **_rule_values: str) -> Response:
        if path is None:  # an endpoint's own rule (or the root): the path is the request's
            path = request.path[len(blueprint.url_prefix or ""):].lstrip("/")
        request_id = new_id()
        try:
            try:
                subject = authenticate(request.headers.get("Authorization"))
            except errors.ScimError as refused:
                return _to_flask(error_response(refused), request_id)
            if subject is None:
                return _to_flask(error_response(errors.Unauthorized()), request_id)
            scim_request = ScimRequest(
                method=request.method,
                path="/" + path,
                base_url=request.host_url.rstrip("/") + (blueprint.url_prefix or ""),
                subject=subject,
                query={key: request.args[key] for key in request.args},
                headers=dict(request.headers),
                body=request.stream.read(read_limit),
                request_id=request_id,
            )
            return _to_flask(handlers.handle(scim_request), request_id)
        except Exception:
            logger.exception("SCIM request %s failed", request_id)
            return _to_flask(error_response(errors.InternalError(request_id)), request_id)

    blueprint.add_url_rule("/", "root", serve, methods=_METHODS, strict_slashes=False)
    for number, rule in enumerate(ENDPOINT_RULES):
        blueprint.add_url_rule(rule, f"endpoint{number}", serve, methods=_METHODS)
    blueprint.add_url_rule("/<path:path>", "scim", serve, methods=_METHODS)
    return blueprint
