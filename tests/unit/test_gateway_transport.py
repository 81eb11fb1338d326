"""The gateway sends its admin calls itself (not through python-keycloak's ``raw_*``): the
requests it makes are those python-keycloak made, and the token is still renewed before it
expires, after a 401, and by one thread at a time."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
import responses
from requests.adapters import HTTPAdapter
from responses import registries

from bridge.keycloak import client as transport
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError, Unavailable
from bridge.observability.context import request_scope
from tests.support.admin_calls import ADMIN_CALL_SHAPES

KC = "http://kc.test"
TOKEN = f"{KC}/realms/master/protocol/openid-connect/token"
ADMIN = f"{KC}/admin/realms"


def _token(access: str, expires_in: int = 300, refresh: str | None = "r") -> dict[str, Any]:
    body: dict[str, Any] = {"access_token": access, "expires_in": expires_in,
                            "token_type": "Bearer"}
    if refresh is not None:
        body["refresh_token"] = refresh
    return body


def _grants() -> list[dict[str, list[str]]]:
    """The form of every token request made so far."""
    return [parse_qs(call.request.body) for call in responses.calls
            if call.request.url == TOKEN]


def _admin_calls() -> list[responses.Call]:
    return [call for call in responses.calls if call.request.url.startswith(ADMIN)]


class _Clock:
    """``time.monotonic`` as the transport reads it, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1000.0
        monkeypatch.setattr(transport.time, "monotonic", lambda: self.now)


# -- the requests on the wire ------------------------------------------------------------------

@responses.activate
@pytest.mark.parametrize(("method", "path", "body", "params"), ADMIN_CALL_SHAPES)
def test_each_call_is_the_request_python_keycloak_made(
        method: str, path: str, body: Any, params: dict[str, Any]) -> None:
    responses.post(TOKEN, json=_token("t"))
    for verb in (responses.GET, responses.POST, responses.PUT, responses.DELETE):
        responses.add(verb, re.compile(rf"{ADMIN}.*"), status=204)
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    with request_scope("req-1"):
        gateway._send(method, path, body=body, params=params, raw=True)
        # the same call through python-keycloak, as the gateway made it before
        connection = gateway._conn
        url = f"admin/realms{path}"
        data = json.dumps(body) if body is not None else None
        if method == "GET":
            connection.raw_get(url, **params)
        elif method == "POST":
            connection.raw_post(url, data=data or "", **params)
        elif method == "PUT":
            connection.raw_put(url, data=data or "", **params)
        else:
            connection.raw_delete(url, data=data)
    ours, theirs = (call.request for call in _admin_calls())
    assert ours.method == theirs.method == method
    assert ours.url == theirs.url
    assert ours.url.startswith(urljoin(KC, "admin/realms"))
    assert dict(ours.headers) == dict(theirs.headers)
    assert list(ours.headers) == list(theirs.headers)  # the same order on the wire
    assert ours.headers["Authorization"] == "Bearer t"
    assert ours.headers["X-Request-Id"] == "req-1"
    assert ours.body == theirs.body
    assert ours.req_kwargs == theirs.req_kwargs  # timeout, verify, cert, proxies, stream


@pytest.mark.parametrize("query", [
    {"username": "al ice+x@例え.jp", "exact": True, "n": 0},
    {"multi": ["a", "b c", None], "none": None, "t": ("x", "y")},
    {"s": "~-._!*'()", "b": b"by tes"},
])
def test_query_strings_are_encoded_as_requests_encodes_params(query: dict[str, Any]) -> None:
    ours = transport._query_string(query)
    theirs = requests.Request("GET", "http://h/x", params=query).prepare().url
    assert f"http://h/x?{ours}" == theirs


def test_a_path_that_has_a_query_gets_the_params_after_it() -> None:
    session = transport._AdminSession.__new__(transport._AdminSession)  # url() needs the base
    session._base = "http://h/admin/realms"
    assert session.url("/r/users/count?briefRepresentation=true", {"q": "a b"}) == \
        requests.Request("GET", "http://h/admin/realms/r/users/count?briefRepresentation=true",
                         params={"q": "a b"}).prepare().url


@responses.activate
def test_timeouts_and_the_ca_bundle_from_the_environment_reach_the_adapter(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    responses.post(TOKEN, json=_token("t"))
    responses.get(f"{ADMIN}/r", json={})
    AdminGateway.with_password(KC, "admin", "pw", timeout=7).get("/r")
    sent = _admin_calls()[0].request.req_kwargs
    assert sent["timeout"] == 7
    assert sent["verify"] == str(bundle)


@responses.activate
def test_a_cookie_keycloak_or_its_balancer_sets_goes_back_on_the_next_call() -> None:
    responses.post(TOKEN, json=_token("t"))
    responses.get(f"{ADMIN}/r/users/1", json={"id": "1"},
                  headers={"Set-Cookie": "ROUTE=node-2; Path=/"})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    gateway.get("/r/users/1")
    gateway.get("/r/users/1")
    first, second = (call.request for call in _admin_calls())
    assert "Cookie" not in first.headers
    assert second.headers["Cookie"] == "ROUTE=node-2"


# -- the token ---------------------------------------------------------------------------------

@responses.activate
def test_the_token_is_refreshed_before_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(monkeypatch)
    responses.post(TOKEN, json=_token("t1", expires_in=60, refresh="r1"))
    responses.get(f"{ADMIN}/r", json={})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    gateway.get("/r")
    clock.now += 53  # under 90% of 60 s: the token in hand
    gateway.get("/r")
    assert len(_grants()) == 1
    responses.replace(responses.POST, TOKEN, json=_token("t2", expires_in=60, refresh="r2"))
    clock.now += 1  # 54 s: from 90% on, renewed first
    gateway.get("/r")
    grants = _grants()
    assert [g["grant_type"] for g in grants] == [["password"], ["refresh_token"]]
    assert grants[1]["refresh_token"] == ["r1"]
    assert [c.request.headers["Authorization"] for c in _admin_calls()] == \
        ["Bearer t1", "Bearer t1", "Bearer t2"]
    assert gateway._conn.token["access_token"] == "t2"


TokenEndpoint = Callable[[requests.PreparedRequest], tuple[int, dict[str, str], str]]


def _logged_in(monkeypatch: pytest.MonkeyPatch, token_endpoint: TokenEndpoint
               ) -> tuple[_Clock, AdminGateway]:
    """A password session that made one call with token t1 (60 s), its token endpoint
    answered from then on by ``token_endpoint``; and the clock the transport reads."""
    clock = _Clock(monkeypatch)
    responses.post(TOKEN, json=_token("t1", expires_in=60))
    responses.get(f"{ADMIN}/r", json={})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    gateway.get("/r")
    responses.remove(responses.POST, TOKEN)
    responses.add_callback(responses.POST, TOKEN, callback=token_endpoint)
    return clock, gateway


@responses.activate
def test_an_ended_session_logs_in_again(monkeypatch: pytest.MonkeyPatch) -> None:
    def token_endpoint(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if parse_qs(request.body)["grant_type"] == ["refresh_token"]:
            return 400, {}, json.dumps({"error": "invalid_grant",
                                        "error_description": "Session not active"})
        return 200, {}, json.dumps(_token("t2"))

    clock, gateway = _logged_in(monkeypatch, token_endpoint)
    clock.now += 60
    gateway.get("/r")
    assert [g["grant_type"] for g in _grants()] == [["password"], ["refresh_token"],
                                                    ["password"]]
    assert _admin_calls()[-1].request.headers["Authorization"] == "Bearer t2"


@responses.activate
def test_a_client_credentials_token_is_renewed_by_a_new_grant(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _Clock(monkeypatch)
    token_url = f"{KC}/realms/prod/protocol/openid-connect/token"
    responses.post(token_url, json=_token("t1", expires_in=300, refresh=None))
    responses.get(f"{ADMIN}/prod/users", json=[])
    gateway = AdminGateway.with_client_credentials(KC, "prod", "bridge", "s3cret")
    gateway.get("/prod/users")
    responses.replace(responses.POST, token_url, json=_token("t2", refresh=None))
    clock.now += 270
    gateway.get("/prod/users")
    grants = [parse_qs(c.request.body) for c in responses.calls if c.request.url == token_url]
    assert [g["grant_type"] for g in grants] == [["client_credentials"]] * 2
    assert _admin_calls()[-1].request.headers["Authorization"] == "Bearer t2"


@responses.activate(registry=registries.OrderedRegistry)
def test_a_401_is_answered_by_a_refresh_and_one_more_try() -> None:
    responses.post(TOKEN, json=_token("t1"))
    responses.get(f"{ADMIN}/r/users/1", status=401, json={"error": "HTTP 401 Unauthorized"})
    responses.post(TOKEN, json=_token("t2"))
    responses.get(f"{ADMIN}/r/users/1", json={"id": "1"})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    assert gateway.get("/r/users/1") == {"id": "1"}
    assert [c.request.headers["Authorization"] for c in _admin_calls()] == \
        ["Bearer t1", "Bearer t2"]
    assert [g["grant_type"] for g in _grants()] == [["password"], ["refresh_token"]]
    assert gateway.calls.total == 1
    assert gateway.calls.failures == {}


@responses.activate(registry=registries.OrderedRegistry)
def test_a_post_answered_401_is_sent_once_more_with_the_same_body() -> None:
    responses.post(TOKEN, json=_token("t1"))
    responses.post(f"{ADMIN}/r/users", status=401)
    responses.post(TOKEN, json=_token("t2"))
    responses.post(f"{ADMIN}/r/users", status=201, headers={"Location": f"{ADMIN}/r/users/u-1"})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    assert gateway.post("/r/users", {"username": "alice"}) == "u-1"
    first, again = (c.request for c in _admin_calls())
    assert first.body == again.body == json.dumps({"username": "alice"})
    assert again.headers["Authorization"] == "Bearer t2"


@responses.activate(registry=registries.OrderedRegistry)
def test_a_second_401_reaches_the_caller_as_denied() -> None:
    responses.post(TOKEN, json=_token("t1"))
    responses.get(f"{ADMIN}/r", status=401)
    responses.post(TOKEN, json=_token("t2"))
    responses.get(f"{ADMIN}/r", status=401)
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    with pytest.raises(GatewayError) as caught:
        gateway.get("/r")
    assert caught.value.status == 401
    assert len(_admin_calls()) == 2
    assert gateway.calls.failures == {("GET /{realm}", "denied"): 1}


@responses.activate(registry=registries.OrderedRegistry)
def test_a_refused_refresh_is_unavailable_and_counted() -> None:
    responses.post(TOKEN, json=_token("t1"))
    responses.get(f"{ADMIN}/r", status=401)
    responses.post(TOKEN, status=401, json={"error": "unauthorized_client"})
    gateway = AdminGateway.with_password(KC, "admin", "pw")
    with pytest.raises(Unavailable, match="refused the admin session"):
        gateway.get("/r")
    assert gateway.calls.failures == {("GET /{realm}", "session"): 1}


@responses.activate
def test_threads_that_meet_an_expired_token_refresh_it_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_refresh(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        time.sleep(0.3)  # the others arrive while it is under way
        return 200, {}, json.dumps(_token("t2"))

    clock, gateway = _logged_in(monkeypatch, slow_refresh)
    clock.now += 61  # past its real expiry: every thread needs the new token
    errors: list[BaseException] = []

    def call() -> None:
        try:
            gateway.get("/r")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert [g["grant_type"] for g in _grants()] == [["password"], ["refresh_token"]]
    assert [c.request.headers["Authorization"] for c in _admin_calls()[1:]] == ["Bearer t2"] * 8


@responses.activate
def test_while_one_thread_refreshes_the_others_use_the_still_valid_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    refreshing, release = threading.Event(), threading.Event()

    def held_refresh(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        refreshing.set()
        release.wait(10)
        return 200, {}, json.dumps(_token("t2"))

    clock, gateway = _logged_in(monkeypatch, held_refresh)
    clock.now += 55  # past 90% of its life, not past its end
    refresher = threading.Thread(target=gateway.get, args=("/r",))
    refresher.start()
    assert refreshing.wait(10)
    gateway.get("/r")  # does not wait for the refresh under way
    release.set()
    refresher.join(10)
    assert [c.request.headers["Authorization"] for c in _admin_calls()[1:]] == \
        ["Bearer t1", "Bearer t2"]
    gateway.get("/r")
    assert _admin_calls()[-1].request.headers["Authorization"] == "Bearer t2"
    assert len(_grants()) == 2


# -- the adapter -------------------------------------------------------------------------------

def _prepared(url: str) -> requests.PreparedRequest:
    return requests.Request("GET", url).prepare()


def test_the_adapter_keeps_one_pool_per_origin_until_it_is_closed() -> None:
    adapter = transport._AdminAdapter(max_retries=transport.ADMIN_RETRY)
    plain = HTTPAdapter()
    first = adapter.get_connection_with_tls_context(_prepared(f"{ADMIN}/r/users/1"), True, {})
    again = adapter.get_connection_with_tls_context(_prepared(f"{ADMIN}/r/groups"), True, {})
    assert again is first
    assert first.host == "kc.test" and first.port == 80 and first.scheme == "http"
    other = adapter.get_connection_with_tls_context(_prepared("http://kc.test:8443/x"), True, {})
    assert other is not first and other.port == 8443
    tls = adapter.get_connection_with_tls_context(_prepared("https://kc.test/x"), "/ca.pem", {})
    expected = plain.get_connection_with_tls_context(_prepared("https://kc.test/x"), "/ca.pem", {})
    assert tls.scheme == "https" and tls.ca_certs == expected.ca_certs == "/ca.pem"
    adapter.poolmanager.clear()
    first.close()  # a pool closed meanwhile is not used again
    fresh = adapter.get_connection_with_tls_context(_prepared(f"{ADMIN}/r"), True, {})
    assert fresh is not first and fresh.pool is not None
    adapter.close()
    after = adapter.get_connection_with_tls_context(_prepared(f"{ADMIN}/r"), True, {})
    assert after is not fresh and after.pool is not None


def test_the_adapter_leaves_proxied_calls_to_requests() -> None:
    adapter = transport._AdminAdapter(max_retries=transport.ADMIN_RETRY)
    proxies = {"http": "http://proxy.test:3128"}
    pool = adapter.get_connection_with_tls_context(_prepared(f"{ADMIN}/r"), True, proxies)
    assert (pool.host, pool.port) == ("proxy.test", 3128)
    assert adapter.request_url(_prepared(f"{ADMIN}/r?x=1"), proxies) == f"{ADMIN}/r?x=1"


@pytest.mark.parametrize("url", [f"{ADMIN}/r/users?x=1&y=%20", f"{KC}//double/slash", KC])
def test_the_adapter_sends_the_path_requests_would(url: str) -> None:
    prepared = _prepared(url)
    assert transport._AdminAdapter().request_url(prepared, {}) == \
        HTTPAdapter().request_url(prepared, {})
    assert urlsplit(prepared.url).path.lstrip("/") in transport._AdminAdapter().request_url(
        prepared, {})
