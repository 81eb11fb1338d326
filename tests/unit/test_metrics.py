"""``/metrics``: requests by route template (never the raw path), bounded series whatever
is sent, the gateway's own admin-call count and its failures, no secret or user data.

On real requests and the real Keycloak: tests/integration/test_metrics.py; several gunicorn
workers and replicas: tests/integration/test_server.py.
"""

from __future__ import annotations

import uuid

import responses
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.config import Settings
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError, NotFound, Unavailable
from tests.support.metrics import samples, series_of

SETTINGS = Settings("http://kc.test", "access", "bridge", "the-client-secret")
TOKEN = "http://kc.test/realms/access/protocol/openid-connect/token"
ADMIN = "http://kc.test/admin/realms/access"


def _client() -> FlaskClient:
    return create_app(SETTINGS).test_client()


def _scrape(client: FlaskClient) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    return response.get_data(as_text=True)


def test_requests_are_counted_by_route_template_method_and_status() -> None:
    client = _client()
    user_id = str(uuid.uuid4())
    before = samples(_scrape(client))
    assert client.get(f"/scim/v2/Users/{user_id}").status_code == 401  # no token
    assert client.get("/healthz").status_code == 200
    text = _scrape(client)
    after = samples(text)
    user = ("bridge_http_requests_total", (("method", "GET"),
                                           ("route", "/scim/v2/Users/<resource_id>"),
                                           ("status", "401")))
    healthz = ("bridge_http_requests_total", (("method", "GET"), ("route", "/healthz"),
                                              ("status", "200")))
    assert after[user] - before.get(user, 0) == 1
    assert after[healthz] - before.get(healthz, 0) == 1
    latency = ("bridge_http_request_duration_seconds_count",
               (("method", "GET"), ("route", "/scim/v2/Users/<resource_id>")))
    assert after[latency] - before.get(latency, 0) == 1
    assert user_id not in text


def test_each_answer_adds_to_its_own_series_and_latency() -> None:
    """Series are looked up once and kept (bridge.metrics.RequestCounts): every later
    answer still adds to its own series, and only to it."""
    client = _client()
    before = samples(_scrape(client))
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    for _ in range(3):
        assert client.post("/healthz").status_code == 405
        assert client.get("/scim/v2/Users").status_code == 401
    after = samples(_scrape(client))

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    requests_total = "bridge_http_requests_total"
    assert delta(requests_total, route="/healthz", method="GET", status="200") == 5
    assert delta(requests_total, route="(unmatched)", method="POST", status="405") == 3
    assert delta(requests_total, route="/scim/v2/Users", method="GET", status="401") == 3
    assert delta("bridge_http_request_duration_seconds_count", route="/healthz",
                 method="GET") == 5
    assert delta("bridge_http_request_duration_seconds_bucket", route="/healthz",
                 method="GET", le="+Inf") == 5
    assert delta("bridge_http_request_duration_seconds_count", route="/scim/v2/Users",
                 method="GET") == 3
    assert delta("bridge_http_request_duration_seconds_sum", route="/healthz",
                 method="GET") > 0


def test_a_thousand_unknown_paths_make_a_bounded_number_of_series() -> None:
    client = _client()
    families = ("bridge_http_requests_total", "bridge_http_request_duration_seconds_bucket")
    before = {name: set(series_of(_scrape(client), name)) for name in families}
    methods = ("GET", "POST", "PUT", "DELETE", "PROPFIND", "BREW", "X-" + "A" * 40)
    for i in range(1000):
        path = f"/no/such/{uuid.uuid4()}/{i}" if i % 2 else f"/scim/v2/Nope{i}/{i}"
        client.open(path, method=methods[i % len(methods)])
    text = _scrape(client)
    added = {name: set(series_of(text, name)) - before[name] for name in families}
    routes = {dict(labels)["route"] for labels in added["bridge_http_requests_total"]}
    labels = {dict(labels)["method"] for labels in added["bridge_http_requests_total"]}
    # Unknown paths: one route ("(unmatched)", or the SCIM catch-all rule), unknown methods
    # "other"; statuses are the few the app answers.
    assert routes <= {"(unmatched)", "/scim/v2/<path:path>"}, routes
    assert labels <= {"GET", "POST", "PUT", "DELETE", "other"}, labels
    assert len(added["bridge_http_requests_total"]) <= 2 * 5 * 3
    assert len(added["bridge_http_request_duration_seconds_bucket"]) <= 2 * 5 * 13
    assert "PROPFIND" not in text and "no/such" not in text


@responses.activate
def test_admin_calls_and_failures_are_the_gateways_own_count() -> None:
    responses.post(TOKEN, json={"access_token": "t", "expires_in": 300,
                                "token_type": "Bearer"})
    app = create_app(SETTINGS)
    client = app.test_client()
    gateway: AdminGateway = app.extensions["bridge.gateway"]
    before = samples(_scrape(client))
    user_id = str(uuid.uuid4())
    responses.get(f"{ADMIN}/users/{user_id}", status=404, json={"error": "User not found"})
    responses.get(f"{ADMIN}/groups", status=503)
    for _ in range(2):
        try:
            gateway.get(f"/access/users/{user_id}")
        except NotFound:
            pass
    try:
        gateway.get("/access/groups")
    except Unavailable:
        pass
    text = _scrape(client)
    after = samples(text)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert gateway.calls.by_kind["GET /{realm}/users/{id}"] == 2
    assert delta("bridge_keycloak_admin_calls_total", method="GET",
                 route="/{realm}/users/{id}") == 2
    assert delta("bridge_keycloak_admin_failures_total", method="GET",
                 route="/{realm}/users/{id}", reason="not_found") == 2
    assert delta("bridge_keycloak_admin_failures_total", method="GET",
                 route="/{realm}/groups", reason="unavailable") >= 1
    assert user_id not in text and SETTINGS.client_secret not in text


@responses.activate
def test_a_refused_login_is_a_keycloak_failure_of_kind_login() -> None:
    responses.post(TOKEN, status=401, json={"error": "unauthorized_client"})
    app = create_app(SETTINGS)
    client = app.test_client()
    before = samples(_scrape(client))
    try:
        app.extensions["bridge.gateway"].get("/access/users")
    except GatewayError as exc:
        assert "refused" in str(exc)
    key = ("bridge_keycloak_admin_failures_total",
           (("method", "GET"), ("reason", "login"), ("route", "/{realm}/users")))
    assert samples(_scrape(client))[key] - before.get(key, 0) == 1


def test_every_family_is_listed_before_its_first_sample() -> None:
    text = _scrape(_client())
    for family, kind in (("bridge_http_requests_total", "counter"),
                         ("bridge_http_request_duration_seconds", "histogram"),
                         ("bridge_http_requests_in_flight", "gauge"),
                         ("bridge_keycloak_admin_calls_total", "counter"),
                         ("bridge_keycloak_admin_failures_total", "counter"),
                         ("bridge_catalog_refusals_total", "counter")):
        assert f"# TYPE {family} {kind}\n" in text, family
