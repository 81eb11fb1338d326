"""OpenTelemetry tracing (``bridge.observability.tracing``) on a real SCIM request against a
real Keycloak, exported to an in-memory exporter: one server span for the request, client
spans for its Keycloak calls in the same trace, each naming the request id."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from bridge.app import create_app
from bridge.config import Settings
from bridge.observability import tracing
from scim.resources import USER_SCHEMA
from tests.conftest import RealmUnderTest


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    spans = InMemorySpanExporter()
    try:
        yield spans
    finally:
        tracing.stop()


def test_a_scim_request_is_a_server_span_with_client_spans_for_keycloak(
        fresh_realm: RealmUnderTest, exporter: InMemorySpanExporter) -> None:
    token = secrets.token_urlsafe(24)
    app = create_app(Settings(
        keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name, client_id="bridge",
        client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"],
        scim_static_tokens=f"hr={hashlib.sha256(token.encode()).hexdigest()}"))
    assert tracing.init_app(app, exporter=exporter)
    created = app.test_client().post(
        "/scim/v2/Users", json={"schemas": [USER_SCHEMA], "userName": "tia.trace"},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": "trace-me-1"})
    assert created.status_code == 201, created.get_json()

    spans = exporter.get_finished_spans()
    [server] = [s for s in spans if s.kind is SpanKind.SERVER]
    assert server.attributes is not None
    assert server.attributes["bridge.request_id"] == "trace-me-1"
    # (the instrumentation's default semantic conventions name it http.status_code)
    assert server.attributes.get("http.status_code",
                                 server.attributes.get("http.response.status_code")) == 201
    clients = [s for s in spans if s.kind is SpanKind.CLIENT]
    assert clients, [s.name for s in spans]
    keycloak = fresh_realm.keycloak.url.split("://", 1)[1]
    for span in clients:
        assert span.context.trace_id == server.context.trace_id
        assert span.attributes is not None
        assert span.attributes["bridge.request_id"] == "trace-me-1"
        assert keycloak in str(span.attributes.get("url.full", span.attributes.get("http.url")))
    assert any(s.name == "POST" for s in clients)  # the user's creation
