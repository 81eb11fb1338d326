"""What an operator reads of a running bridge: JSON log lines, the request id, tracing.

- ``context.py``: the request id of the work in progress (a contextvar), and the rule that
  accepts a caller's ``X-Request-Id`` or W3C ``traceparent``. Imports nothing of the bridge,
  so every layer (the Keycloak gateway included) may read it.
- ``logs.py``: the one logging configuration (JSON lines on stderr, every line of a request
  carrying its ``request_id``) for ``bridge`` commands and for gunicorn (``logconfig_dict``).
- ``web.py``: the request pipeline (one WSGI layer around the Flask app): the request id of
  each request, returned in ``X-Request-Id``, one ``bridge.request`` line per request, and
  the request observers (the metrics' counts).
- ``tracing.py``: OpenTelemetry, only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.

The audit trail itself is ``bridge.audit``.
"""
