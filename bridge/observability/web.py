"""The Flask side: each request's id, returned in ``X-Request-Id`` and on its log lines,
and one ``bridge.request`` line per request (method, route, status, duration).

``init_app(app)`` registers the hooks; nothing else of the app changes. The request line
names the path without its query string and no header, so no token or filter value is
written; health probes are logged at DEBUG, so that a balancer's polling does not drown
the rest.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

from bridge.observability import context, tracing
from bridge.observability.context import REQUEST_ID_HEADER

request_log = logging.getLogger("bridge.request")

_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths polled by machines: their lines are DEBUG."""


def init_app(app: Flask) -> None:
    """Register the request-id and request-line hooks on ``app``, then tracing when the
    environment asks for it (``bridge.observability.tracing``)."""
    if "bridge.request_ids" in app.extensions:
        raise RuntimeError("request ids are already set up on this app")
    app.extensions["bridge.request_ids"] = True

    @app.before_request
    def _begin() -> None:
        request_id = context.accept_request_id(request.headers.get(REQUEST_ID_HEADER),
                                               request.headers.get("traceparent"))
        g.bridge_request_token = context.bind(request_id)
        g.bridge_request_started = time.perf_counter()

    @app.after_request
    def _answer(response: Response) -> Response:
        request_id = context.current_request_id()
        if request_id is not None:
            response.headers[REQUEST_ID_HEADER] = request_id
        started = g.pop("bridge_request_started", None)
        if started is not None:
            rule = request.url_rule.rule if request.url_rule is not None else None
            level = logging.DEBUG if request.path in _QUIET else logging.INFO
            request_log.log(
                level, "%s %s %s", request.method, request.path, response.status_code,
                extra={"method": request.method, "path": request.path, "route": rule,
                       "status": response.status_code,
                       "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return response

    @app.teardown_request
    def _end(_exc: BaseException | None) -> None:
        token = g.pop("bridge_request_token", None)
        if token is not None:
            context.unbind(token)

    tracing.init_app(app)
