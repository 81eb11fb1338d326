"""Optional OpenTelemetry tracing: on only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

Then every request is a server span (Flask instrumentation) and every call the bridge
makes with requests (the Keycloak admin API, token and JWKS fetches) a client span, each
carrying the request id as ``bridge.request_id``; the W3C ``traceparent`` goes on to
Keycloak with each call. Spans are exported over OTLP/HTTP, configured by the standard
``OTEL_*`` variables (``OTEL_SERVICE_NAME`` defaults to ``saas-access-bridge``).

Off (the variable unset), nothing of OpenTelemetry is imported and no hook is added: zero
cost. The packages are the ``otel`` extra (``pip install 'saas-access-bridge[otel]'``);
asked for without them, start-up stops with one line saying so.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask

from bridge.observability.context import current_request_id

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME = "saas-access-bridge"
REQUEST_ID_ATTRIBUTE = "bridge.request_id"

_lock = threading.Lock()
_provider: TracerProvider | None = None


class TracingUnavailable(RuntimeError):
    """Tracing was asked for, but the ``otel`` extra is not installed."""


def enabled(env: Mapping[str, str] | None = None) -> bool:
    return bool((os.environ if env is None else env).get(ENDPOINT))


def init_app(app: Flask, *, exporter: SpanExporter | None = None,
             env: Mapping[str, str] | None = None) -> bool:
    """Trace ``app`` when the environment asks for it, or to ``exporter`` (tests: an
    in-memory exporter, exported synchronously). Returns whether tracing is on."""
    if exporter is None and not enabled(env):
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.instrumentation.flask import FlaskInstrumentor
    except ImportError as exc:
        raise TracingUnavailable(
            f"{ENDPOINT} is set but OpenTelemetry is not installed "
            "(pip install 'saas-access-bridge[otel]')") from exc
    provider = _tracer_provider(exporter)
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider,
                                       request_hook=_tag_server_span)

    @app.before_request
    def _tag() -> None:  # the id is bound by then (the pipeline: bridge.observability.web)
        request_id = current_request_id()
        if request_id is not None:
            trace.get_current_span().set_attribute(REQUEST_ID_ATTRIBUTE, request_id)

    return True


def _tag_server_span(span: Any, _environ: Any) -> None:
    request_id = current_request_id()
    if request_id is not None and span is not None and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def _tag_client_span(span: Any, _request: Any) -> None:
    _tag_server_span(span, None)


def _tracer_provider(exporter: SpanExporter | None) -> TracerProvider:
    """The process's one provider (made on first use; requests is instrumented once, for
    the whole process); an ``exporter`` given gets its own synchronous processor."""
    global _provider
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    with _lock:
        if _provider is None:
            resource = Resource.create({"service.name": os.environ.get(
                "OTEL_SERVICE_NAME", SERVICE_NAME)})
            provider = TracerProvider(resource=resource)
            if exporter is None:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
                provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
            RequestsInstrumentor().instrument(tracer_provider=provider,
                                              request_hook=_tag_client_span)
            _provider = provider
        if exporter is not None:
            _provider.add_span_processor(SimpleSpanProcessor(exporter))
        return _provider


def stop() -> None:
    """Flush and drop the process's provider and undo the requests instrumentation (for
    tests; a server's provider flushes at exit by itself)."""
    global _provider
    with _lock:
        if _provider is None:
            return
        from opentelemetry.instrumentation.requests import RequestsInstrumentor

        RequestsInstrumentor().uninstrument()
        _provider.shutdown()
        _provider = None
