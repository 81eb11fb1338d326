"""The request pipeline around the Flask app: each request's id, returned in
``X-Request-Id`` and on its log lines, one ``bridge.request`` line per request (method,
path, route, status, duration), and what the request observers count (the metrics:
:mod:`bridge.metrics`).

``init_app(app)`` wraps ``app.wsgi_app`` in one :class:`RequestPipeline`; nothing else of
the app changes. One WSGI layer instead of Flask hooks: the id is bound before Flask makes
the request context (so every line of the request, Flask's own included, carries it) and
unbound when the app returns, whatever happened; method, path and route template are read
once, from the request Flask made and matched (:class:`PipelineRequest`), after it answered.

The request line names the path without its query string and no header, so no token or
filter value is written; health probes are logged at DEBUG, so that a balancer's polling
does not drown the rest.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from flask import Flask, Request

from bridge.observability import context, tracing
from bridge.observability.context import REQUEST_ID_HEADER

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

request_log = logging.getLogger("bridge.request")

_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
"""Paths polled by machines: their lines are DEBUG."""
_ID_HEADER = REQUEST_ID_HEADER.lower()
_PIPELINE = "bridge.request_pipeline"
_REQUEST = "bridge.request"  # in the WSGI environ: the request Flask made (PipelineRequest)


class PipelineRequest(Request):
    """Flask's request, which also leaves itself in the WSGI environ for the pipeline
    (Flask clears werkzeug's own ``werkzeug.request`` entry when the request context ends,
    before the pipeline writes the request line; the pipeline takes this one out)."""

    def __init__(self, environ: WSGIEnvironment, *args: Any, **kwargs: Any) -> None:
        super().__init__(environ, *args, **kwargs)
        environ[_REQUEST] = self


class RequestObserver(Protocol):
    """Told of every request the pipeline serves (the metrics: bridge.metrics)."""

    def request_started(self) -> None:
        """A request came in (before the app sees it)."""

    def request_answered(self, method: str, route: str | None, status: str,
                         seconds: float) -> None:
        """The app answered: ``route`` is the URL rule that matched (None: no rule),
        ``status`` the code (``"201"``), ``seconds`` the time it took."""

    def request_ended(self) -> None:
        """The request is over (answered or not: always after :meth:`request_started`)."""


class RequestPipeline:
    """WSGI middleware: request id, request line and observers around the Flask app."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app
        self.observers: tuple[RequestObserver, ...] = ()

    def observe(self, observer: RequestObserver) -> None:
        self.observers = (*self.observers, observer)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse
                 ) -> Iterable[bytes]:
        request_id = context.accept_request_id(environ.get("HTTP_X_REQUEST_ID"),
                                               environ.get("HTTP_TRACEPARENT"))
        started = time.perf_counter()
        status = ""

        def answer(line: str, headers: list[tuple[str, str]], exc_info: Any = None
                   ) -> Callable[[bytes], object]:
            nonlocal status
            status = line[:3]
            # Ours replaces any the app set (the SCIM layer names the same id).
            headers = [h for h in headers if h[0].lower() != _ID_HEADER]
            headers.append((REQUEST_ID_HEADER, request_id))
            return start_response(line, headers, exc_info)

        observers = self.observers
        for observer in observers:
            observer.request_started()
        token = context.bind(request_id)
        try:
            body = self.app(environ, answer)
            if status:  # not when the app raised (only a test app lets an error out)
                self._answered(environ.get(_REQUEST), environ, status,
                               time.perf_counter() - started)
            return body
        finally:
            environ.pop(_REQUEST, None)  # (it refers to the environ: no cycle left behind)
            for observer in observers:
                observer.request_ended()
            context.unbind(token)

    def _answered(self, request: Request | None, environ: WSGIEnvironment, status: str,
                  seconds: float) -> None:
        if request is not None:
            method, path = request.method, request.path
            rule = request.url_rule.rule if request.url_rule is not None else None
        else:  # the app answered without making a request (not Flask's way)
            method, path, rule = environ.get("REQUEST_METHOD", ""), environ.get(
                "PATH_INFO", ""), None
        for observer in self.observers:
            observer.request_answered(method, rule, status, seconds)
        level = logging.DEBUG if path in _QUIET else logging.INFO
        if request_log.isEnabledFor(level):
            code = int(status)
            request_log.log(
                level, "%s %s %s", method, path, code,
                extra={"method": method, "path": path, "route": rule, "status": code,
                       "duration_ms": round(seconds * 1000, 1)})


def init_app(app: Flask) -> None:
    """Serve ``app`` through a :class:`RequestPipeline`, then trace it when the
    environment asks for it (``bridge.observability.tracing``)."""
    if _PIPELINE in app.extensions:
        raise RuntimeError("request ids are already set up on this app")
    if app.request_class is not Request:
        raise RuntimeError("the request pipeline needs Flask's own request class")
    app.request_class = PipelineRequest
    pipeline = RequestPipeline(app.wsgi_app)
    app.wsgi_app = pipeline  # type: ignore[method-assign]
    app.extensions[_PIPELINE] = pipeline
    tracing.init_app(app)


def observe(app: Flask, observer: RequestObserver) -> None:
    """Tell ``observer`` of every request ``app`` serves (after :func:`init_app`)."""
    pipeline = app.extensions.get(_PIPELINE)
    if pipeline is None:
        raise RuntimeError("observability.init_app(app) comes first")
    pipeline.observe(observer)
