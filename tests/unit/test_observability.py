"""Logs, request ids, the audit line's shape and tracing's switch, without Keycloak.

The same lines on real requests against a real Keycloak: tests/integration/
test_audit_trail.py (in-process and under gunicorn) and test_tracing.py.
"""

from __future__ import annotations

import datetime
import io
import json
import logging
import logging.config
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from click.testing import CliRunner
from flask import Flask
from pythonjsonlogger.json import JsonFormatter

from bridge import audit
from bridge.app import create_app
from bridge.cli import cli
from bridge.config import Settings
from bridge.keycloak.client import AdminGateway
from bridge.observability import context, web
from bridge.observability.logs import JsonLines, configure_logging, logging_config
from bridge.observability.web import RequestPipeline
from tests.support.logs import CapturedLogs, captured_logs
from tests.support.metrics import samples

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root, audit_logger = logging.getLogger(), logging.getLogger("bridge.audit")
    handlers, levels = list(root.handlers), (root.level, audit_logger.level)
    gunicorn = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate)
                for n in ("gunicorn.error", "gunicorn.access")}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(levels[0])
        audit_logger.setLevel(levels[1])
        for name, (kept, propagate) in gunicorn.items():
            logging.getLogger(name).handlers[:] = kept
            logging.getLogger(name).propagate = propagate


@pytest.mark.parametrize(("x_request_id", "traceparent", "expected"), [
    ("abc-123", None, "abc-123"),
    ("  Entra.Req:42_a  ", None, "Entra.Req:42_a"),
    ("a" * 128, None, "a" * 128),
    ("abc-123", f"00-{TRACE}-00f067aa0ba902b7-01", "abc-123"),
    (None, f"00-{TRACE}-00f067aa0ba902b7-01", TRACE),
    ("bad id", f"00-{TRACE}-00f067aa0ba902b7-01", TRACE),
])
def test_a_callers_request_id_or_trace_id_is_kept(
        x_request_id: str | None, traceparent: str | None, expected: str) -> None:
    assert context.accept_request_id(x_request_id, traceparent) == expected


@pytest.mark.parametrize(("x_request_id", "traceparent"), [
    (None, None), ("", None), ("a" * 129, None), ("has space", None),
    ("line\nbreak", None), ('{"json":1}', None), ("-leading-dash", None),
    ("ünïcode", None),
    (None, f"00-{'0' * 32}-00f067aa0ba902b7-01"),  # an all-zero trace id is invalid
    (None, f"ff-{TRACE}-00f067aa0ba902b7-01"),  # version ff is invalid
    (None, f"00-{TRACE.upper()}-00f067aa0ba902b7-01"),  # hex is lowercase
    (None, "garbage"),
])
def test_anything_else_is_replaced_by_a_new_id(
        x_request_id: str | None, traceparent: str | None) -> None:
    made = context.accept_request_id(x_request_id, traceparent)
    assert len(made) == 32 and int(made, 16) >= 0
    assert made != context.accept_request_id(x_request_id, traceparent)


def test_every_line_of_a_request_carries_its_id_whatever_the_logger() -> None:
    with captured_logs("DEBUG") as logs:
        with context.request_scope("req-1"):
            logging.getLogger("urllib3.connectionpool").debug("GET /x")
            logging.getLogger("bridge.provisioning").warning("slow")
        logging.getLogger("bridge.provisioning").warning("outside")
    lines = [line for line in logs.lines() if line["message"] in ("GET /x", "slow", "outside")]
    assert [(line["message"], line.get("request_id")) for line in lines] == [
        ("GET /x", "req-1"), ("slow", "req-1"), ("outside", None)]
    assert lines[0]["time"].endswith("Z") and lines[0]["level"] == "DEBUG"


def test_an_audit_event_writes_only_the_target_keys_it_knows() -> None:
    with captured_logs() as logs:
        audit.record("scim:hr", "scim.user.create",
                     {"id": "1", "username": "ann", "password": "hunter2",
                      "token": "eyJabc", "body": {"secret": "x"}, "email": ""},
                     audit.REFUSED, rule="status.profile", code="invalidValue",
                     detail="x" * 1000)
    [event] = logs.audit()
    assert event["target"] == {"id": "1", "username": "ann"}
    assert (event["outcome"], event["rule"], event["code"]) == (
        "refused", "status.profile", "invalidValue")
    assert len(event["detail"]) == audit.MAX_DETAIL
    assert "hunter2" not in logs.text and "eyJabc" not in logs.text


def test_gunicorn_logconfig_dict_makes_its_own_lines_json(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    logging.config.dictConfig(logging_config("INFO"))
    logging.getLogger("gunicorn.error").info("Booting worker with pid: %s", 42)
    with context.request_scope("req-2"):
        logging.getLogger("gunicorn.access").info('"GET /healthz HTTP/1.1" 200')
        logging.getLogger("bridge.audit").info("x", extra={"action": "a"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line.get("request_id")) for line in lines] == [
        ("gunicorn.error", None), ("gunicorn.access", "req-2"), ("bridge.audit", "req-2")]
    assert lines[0]["message"] == "Booting worker with pid: 42"


def test_configuring_twice_keeps_one_handler_and_the_audit_trail_at_info(
        restored_logging: None) -> None:
    stream = io.StringIO()
    configure_logging("ERROR", stream=io.StringIO())
    configure_logging("ERROR", stream=stream)
    logging.getLogger("bridge.audit").info("kept", extra={"action": "a"})
    logging.getLogger("bridge.x").warning("dropped")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["kept"]


def test_a_bad_log_level_stops_the_cli_in_one_line(restored_logging: None) -> None:
    result = CliRunner().invoke(cli, ["keycloak", "status"], env={"BRIDGE_LOG_LEVEL": "LOUD"})
    assert result.exit_code == 2
    assert "BRIDGE_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, not 'LOUD'" in (
        result.output)


_PROBE = """
import sys
from bridge.app import create_app
from bridge.config import Settings
app = create_app(Settings(keycloak_url="http://127.0.0.1:9", realm="r", client_id="c",
                          client_secret="s"))
print(sorted({m.split(".")[0] for m in sys.modules if m.startswith("opentelemetry")}))
print(type(app.wsgi_app).__name__)
"""


def test_tracing_is_off_and_not_even_imported_without_an_endpoint() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert out == ["[]", "RequestPipeline"]  # the bridge's own layer, not OpenTelemetry's


def test_tracing_is_on_when_the_endpoint_is_set() -> None:
    env = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
           "OTEL_BSP_EXPORT_TIMEOUT": "100"}
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                         text=True, check=True, timeout=60).stdout.splitlines()
    assert out[0] == "['opentelemetry']"
    assert out[1] != "RequestPipeline"  # the instrumentation wraps the WSGI app


@responses.activate
def test_admin_calls_carry_the_request_id_they_are_made_for() -> None:
    kc = "http://kc.test"
    responses.post(f"{kc}/realms/master/protocol/openid-connect/token", json={
        "access_token": "t", "expires_in": 300, "refresh_token": "r", "token_type": "Bearer"})
    responses.get(f"{kc}/admin/realms/r/users/1", json={"id": "1"})
    gateway = AdminGateway.with_password(kc, "admin", "pw")
    with context.request_scope("abc-123"):
        gateway.get("/r/users/1")
    gateway.get("/r/users/1")
    inside, outside = (c.request.headers for c in responses.calls[-2:])
    assert inside["X-Request-Id"] == "abc-123"
    assert "X-Request-Id" not in outside


class _StockJsonLines(JsonFormatter):
    """python-json-logger's formatter configured as the bridge's, as it renders unaided."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{whole}.{int(record.msecs):03d}Z"


def _records() -> list[logging.LogRecord]:
    def record(msg: object, args: tuple[object, ...] = (), level: int = logging.INFO,
               **extra: object) -> logging.LogRecord:
        made = logging.getLogger("bridge.x").makeRecord(
            "bridge.x", level, __file__, 1, msg, args, None, extra=extra or None)
        return made

    try:
        raise ValueError("bad ü")
    except ValueError:
        failed = logging.getLogger("bridge.x").makeRecord(
            "bridge.x", logging.ERROR, __file__, 1, "failed %s", ("x",), sys.exc_info())
    stacked = record("with stack")
    stacked.stack_info = "Stack (most recent call last):\n  line"
    late = record("late field")
    late.request_id = "req-9"  # as the RequestContext filter adds it
    late._private = "never written"
    return [
        record("%s %s %s", ("POST", "/scim/v2/Users", 201), method="POST",
               path="/scim/v2/Users", route="/scim/v2/Users", status=201, duration_ms=12.3),
        record("scim.user.create ok %s", ("scim:hr",), actor="scim:hr",
               target={"id": "1", "username": "zoë"}, outcome="ok"),
        record({"as": "dict", "n": 1}),
        record("odd values", when=datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
               raw=b"\x00\xff", error=KeyError("k"), kind=int, nothing=None),
        record("renamed extra", name_of="x", levelname_x="y"),
        failed, stacked, late,
    ]


def test_the_json_lines_are_python_json_loggers_byte_for_byte() -> None:
    """The bridge's formatter renders each record as python-json-logger's own does, with the
    same options (its speed-ups change nothing a reader of the log sees)."""
    stock = _StockJsonLines(fmt="{asctime}{levelname}{name}{message}", style="{",
                            rename_fields={"asctime": "time", "levelname": "level",
                                           "name": "logger"}, json_ensure_ascii=False)
    ours = JsonLines()
    for record in _records():
        assert ours.format(record) == stock.format(record)
    # The second's text is remade when the second changes, and only the time differs.
    first = _records()[0]
    later = logging.makeLogRecord({**first.__dict__, "created": first.created + 61.5,
                                   "msecs": 0.0})
    assert json.loads(ours.format(later))["time"] == json.loads(stock.format(later))["time"]
    assert json.loads(ours.format(later))["time"] != json.loads(ours.format(first))["time"]


# -- the request pipeline (bridge.observability.web) -----------------------------------------

_APP_SETTINGS = Settings("http://127.0.0.1:9", "access", "bridge", "the-client-secret")


def _request_lines(logs: CapturedLogs) -> list[dict[str, Any]]:
    return [line for line in logs.lines() if line["logger"] == "bridge.request"]


def test_each_request_is_one_request_line_probes_at_debug() -> None:
    client = create_app(_APP_SETTINGS).test_client()
    with captured_logs("DEBUG") as logs:
        assert client.get("/healthz").status_code == 200
        assert client.get("/scim/v2/Users/abc?filter=secret",
                          headers={"X-Request-Id": "read-1"}).status_code == 401
        assert client.get("/no/such/path").status_code == 404
        assert client.post("/healthz").status_code == 405
    lines = _request_lines(logs)
    assert [(line["level"], line["method"], line["path"], line["route"], line["status"])
            for line in lines] == [
        ("DEBUG", "GET", "/healthz", "/healthz", 200),
        ("INFO", "GET", "/scim/v2/Users/abc", "/scim/v2/Users/<resource_id>", 401),
        ("INFO", "GET", "/no/such/path", None, 404),
        ("DEBUG", "POST", "/healthz", None, 405)]
    assert [line["message"] for line in lines[1:3]] == [
        "GET /scim/v2/Users/abc 401", "GET /no/such/path 404"]
    assert all(isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
               for line in lines)
    assert lines[1]["request_id"] == "read-1"
    assert all(len(line["request_id"]) == 32 for line in lines if line is not lines[1])
    assert "secret" not in logs.text
    with captured_logs("INFO") as quiet:  # at INFO (the default) a probe writes nothing
        client.get("/healthz")
        client.get("/metrics")
    assert _request_lines(quiet) == []


def test_the_request_id_is_answered_once_and_only_during_its_request() -> None:
    """The caller's id, or the trace id of its traceparent, or a new one: answered in one
    ``X-Request-Id`` (the SCIM layer names the same id: no second header), and current only
    while the request is served (a worker thread's next lines carry no stale id)."""
    client = create_app(_APP_SETTINGS).test_client()
    given = client.get("/scim/v2/Users", headers={"X-Request-Id": "abc-123"})
    traced = client.get("/healthz", headers={"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"})
    made = client.get("/no/such/path", headers={"X-Request-Id": "bad id"})
    assert given.headers.getlist("X-Request-Id") == ["abc-123"]
    assert traced.headers.getlist("X-Request-Id") == [TRACE]
    [new] = made.headers.getlist("X-Request-Id")
    assert len(new) == 32 and new != "bad id"
    assert context.current_request_id() is None
    with captured_logs() as logs:
        logging.getLogger("bridge.x").warning("between requests")
    assert "request_id" not in logs.lines()[0]


def test_a_view_that_fails_is_a_500_line_and_count_and_leaves_nothing_in_flight() -> None:
    app = create_app(_APP_SETTINGS)

    @app.get("/fails")
    def fails() -> str:
        raise RuntimeError("boom")

    client = app.test_client()
    in_flight = ("bridge_http_requests_in_flight", ())
    failed = ("bridge_http_requests_total", (("method", "GET"), ("route", "/fails"),
                                             ("status", "500")))
    before = samples(client.get("/metrics").get_data(as_text=True))
    with captured_logs() as logs:
        answer = client.get("/fails", headers={"X-Request-Id": "fail-1"})
    assert answer.status_code == 500 and answer.headers["X-Request-Id"] == "fail-1"
    after = samples(client.get("/metrics").get_data(as_text=True))
    assert after[failed] - before.get(failed, 0) == 1
    assert after[in_flight] == before[in_flight]  # (the scrape itself is the one in flight)
    [line] = _request_lines(logs)
    assert (line["level"], line["status"], line["route"], line["request_id"]) == (
        "INFO", 500, "/fails", "fail-1")


class _Observer:
    def __init__(self) -> None:
        self.seen: list[object] = []

    def request_started(self) -> None:
        self.seen.append("started")

    def request_answered(self, method: str, route: str | None, status: str,
                         seconds: float) -> None:
        self.seen.append((method, route, status))

    def request_ended(self) -> None:
        self.seen.append("ended")


def test_an_app_that_raises_ends_its_request_and_unbinds_its_id() -> None:
    """A WSGI app that lets an error out (a test app; Flask answers 500 itself): the
    observers are told it ended, unanswered, and no request id stays current."""
    def broken(_environ: dict[str, Any], _start_response: Any) -> list[bytes]:
        assert context.current_request_id() == "abc-123"
        raise RuntimeError("boom")

    pipeline = RequestPipeline(broken)  # type: ignore[arg-type]
    observer = _Observer()
    pipeline.observe(observer)
    with pytest.raises(RuntimeError):
        pipeline({"HTTP_X_REQUEST_ID": "abc-123", "REQUEST_METHOD": "GET",
                  "PATH_INFO": "/x"}, lambda *_args: None)  # type: ignore[arg-type]
    assert observer.seen == ["started", "ended"]
    assert context.current_request_id() is None


def test_the_pipeline_is_set_up_once_and_before_what_observes_it() -> None:
    app = create_app(_APP_SETTINGS)
    with pytest.raises(RuntimeError, match="already"):
        web.init_app(app)
    with pytest.raises(RuntimeError, match="comes first"):
        web.observe(Flask(__name__), _Observer())
