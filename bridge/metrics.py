"""Prometheus metrics of the bridge, served at ``/metrics`` (prometheus_client).

Families (every label has a bounded set of values, so a replica's series stay few whatever
it is sent):

=============================================  ===========================================
``bridge_http_requests_total``                 requests by ``route`` (the Flask URL rule,
                                               e.g. ``/scim/v2/Users/<resource_id>``, or
                                               ``(unmatched)``: never the raw path),
                                               ``method`` and ``status``
``bridge_http_request_duration_seconds``       latency histogram by ``route``, ``method``
``bridge_http_requests_in_flight``             requests being served now
``bridge_keycloak_admin_calls_total``          admin calls by ``method``, ``route`` (the
                                               gateway's own count, one kind per admin
                                               route template: bridge.keycloak.client)
``bridge_keycloak_admin_failures_total``       failed admin calls by ``method``, ``route``,
                                               ``reason`` (bridge.keycloak.client.FAILURES)
``bridge_catalog_refusals_total``              writes refused by a catalog rule, by
                                               ``rule`` (``status.profile``...)
=============================================  ===========================================

Bounds: ``route`` takes the app's URL rules (about 30) plus ``(unmatched)``; ``method``
the seven HTTP methods the bridge serves plus ``other``; ``status`` the codes it answers.
Admin kinds are capped at :data:`bridge.keycloak.client.MAX_KINDS` (256) by the gateway,
rules at :data:`MAX_RULES`. So, whatever the traffic, at most about 31 x 8 x 20 request
series (in practice a few dozen), 31 x 8 x 15 histogram series and 265 x 10 admin series.

No label ever holds a user, an id, a token, an e-mail or a query: ``/metrics`` is served
without authentication, like ``/healthz``, for a scraper on the operators' network (the
reverse proxy in front of the bridge should not publish it; see docs/deploying.md).

Several processes: under gunicorn (``bridge serve``, :mod:`bridge.server`) every worker
writes its samples to a directory of its own server (``PROMETHEUS_MULTIPROC_DIR``, made by
the server at start and removed when it stops), and ``/metrics``, whichever worker answers,
adds up every worker's. Each replica has its own directory: a scraper reads each replica
and Prometheus adds them up. Without that variable (tests, one process) the samples live in
the process.

The metrics are made on first use, not at import: the server must set the directory before
any of them exists (prometheus_client picks its storage when a metric is made).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"
OTHER = "(other)"
MAX_RULES = 64
"""Distinct catalog rule names counted; others (there are about 25) go under ``(other)``."""
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: from a cached read (a few ms) to a /Bulk at its 25 s time budget."""


@dataclass(frozen=True)
class _Families:
    requests: Any
    latency: Any
    in_flight: Any
    admin_calls: Any
    admin_failures: Any
    refusals: Any


_made: _Families | None = None
_making = threading.Lock()
_rules: set[str] = set()


def _families() -> _Families:
    global _made
    if _made is None:
        with _making:
            if _made is None:
                _made = _make()
    return _made


def _make() -> _Families:
    from prometheus_client import Counter, Gauge, Histogram, values

    if os.environ.get(MULTIPROC_ENV):
        # prometheus_client chose its storage when first imported; if that happened before
        # the server set the directory, choose again (metrics made from now on use it).
        values.ValueClass = values.get_value_class()
    return _Families(
        requests=Counter("bridge_http_requests", "HTTP requests answered, by route "
                         "template, method and status", ("route", "method", "status")),
        latency=Histogram("bridge_http_request_duration_seconds", "Time to answer an "
                          "HTTP request, by route template and method", ("route", "method"),
                          buckets=LATENCY_BUCKETS),
        in_flight=Gauge("bridge_http_requests_in_flight", "HTTP requests being answered",
                        multiprocess_mode="livesum"),
        admin_calls=Counter("bridge_keycloak_admin_calls", "Keycloak admin API calls, by "
                            "method and admin route template", ("method", "route")),
        admin_failures=Counter("bridge_keycloak_admin_failures", "Keycloak admin API calls "
                               "that failed, by method, route template and reason",
                               ("method", "route", "reason")),
        refusals=Counter("bridge_catalog_refusals", "Writes refused by a catalog rule, by "
                         "rule name", ("rule",)),
    )


# -- what the rest of the bridge tells ------------------------------------------------------

class AdminCalls:
    """A :class:`bridge.keycloak.client.CallListener`: the gateway's count, exported."""

    def admin_call(self, method: str, route: str) -> None:
        _families().admin_calls.labels(method, route).inc()

    def admin_failure(self, method: str, route: str, reason: str) -> None:
        _families().admin_failures.labels(method, route, reason).inc()


def catalog_refusal(rule: str) -> None:
    """A write refused by the catalog rule ``rule``."""
    if rule not in _rules:
        if len(_rules) >= MAX_RULES:
            rule = OTHER
        else:
            _rules.add(rule)
    _families().refusals.labels(rule).inc()


# -- requests --------------------------------------------------------------------------------

def install(app: Flask) -> None:
    """Count ``app``'s requests (a request observer of its pipeline:
    :mod:`bridge.observability.web`) and serve ``/metrics``."""
    from bridge.observability import web

    web.observe(app, RequestCounts())
    app.register_blueprint(_blueprint())


class RequestCounts:
    """The request families, told of each request by the request pipeline.

    Each labelled series (prometheus_client's child of a family) is looked up once and kept
    (``labels()`` builds and locks on every call): the keys are the bounded labels of the
    module docstring (route template or ``(unmatched)``, one of eight methods, a status), so
    the dicts stay as small as the series, and a child is the series itself, never stale."""

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def request_started(self) -> None:
        _families().in_flight.inc()

    def request_ended(self) -> None:
        _families().in_flight.dec()

    def request_answered(self, method: str, route: str | None, status: str,
                         seconds: float) -> None:
        route = UNMATCHED if route is None else route
        method = method if method in METHODS else "other"
        key = (route, method, status)
        series = self._answers.get(key)
        if series is None:
            families = _families()
            series = (families.requests.labels(route, method, status),
                      families.latency.labels(route, method))
            self._answers[key] = series
        series[0].inc()
        series[1].observe(seconds)


def _blueprint() -> Blueprint:
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics() -> Response:
        from prometheus_client import (
            CONTENT_TYPE_LATEST,
            REGISTRY,
            CollectorRegistry,
            generate_latest,
            multiprocess,
        )

        _families()  # every family is listed, even before its first sample
        registry = REGISTRY
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    return bp
