"""The gateway sends its admin calls straight to urllib3's pool for Keycloak: on the wire they
are the requests requests sent (request line, headers in order, body), with the same retry
policy, token renewal and cookies; requests still sends what needs it (a redirect to follow,
a cookie to send back, a wrapped ``Session.send``).

Keycloak is a scripted HTTP server on loopback here: the direct path is urllib3 on a real
socket, which ``responses`` (it patches requests' adapter) would not see."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.keycloak import client as transport
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError, Unavailable
from bridge.observability.context import request_scope
from tests.support.admin_calls import ADMIN_CALL_SHAPES
from tests.support.loopback_http import LoopbackHandler, loopback_server

TOKEN_PATH = "/realms/master/protocol/openid-connect/token"

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Seen:
    """One request as it reached the server."""

    line: str  # "GET /admin/realms/r/users?x=1 HTTP/1.1"
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class ScriptedKeycloak:
    """Answers the token endpoint with a new token each time; admin calls from ``script``
    (a queue of answers per ``METHOD path``, the last one repeated; status 0 closes the
    connection without an answer), else 204."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    script: dict[str, list[Answer]] = field(default_factory=dict)
    grants: int = 0

    def admin_calls(self) -> list[Seen]:
        return [s for s in self.seen if " /admin/" in s.line]

    def answer(self, method: str, target: str) -> Answer:
        if target == TOKEN_PATH:
            self.grants += 1
            token = {"access_token": f"t{self.grants}", "expires_in": 300,
                     "refresh_token": "r", "token_type": "Bearer"}
            return 200, {"Content-Type": "application/json"}, json.dumps(token).encode()
        queue = self.script.get(f"{method} {target.split('?', 1)[0]}")
        if not queue:
            return 204, {}, b""
        return queue.pop(0) if len(queue) > 1 else queue[0]


@contextmanager
def scripted_keycloak(tls: ssl.SSLContext | None = None) -> Iterator[ScriptedKeycloak]:
    keycloak = ScriptedKeycloak()

    class Handler(LoopbackHandler):
        def _serve(self) -> None:
            body = self.body()
            keycloak.seen.append(Seen(self.requestline, list(self.headers.items()), body))
            status, headers, data = keycloak.answer(self.command, self.path)
            if status == 0:
                self.close_connection = True
                return
            self.reply(status, headers, data)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    with loopback_server(Handler, tls) as url:
        keycloak.url = url
        yield keycloak


@pytest.fixture
def keycloak() -> Iterator[ScriptedKeycloak]:
    with scripted_keycloak() as keycloak:
        yield keycloak


def _json(status: int, body: Any, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


def _through_requests(gateway: AdminGateway) -> None:
    gateway._admin._direct = False


def _sent_directly(gateway: AdminGateway) -> bool:
    return gateway._admin._direct_pool() is not None


# -- the requests on the wire ------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body", "params"), ADMIN_CALL_SHAPES)
def test_a_direct_call_is_on_the_wire_what_requests_sent(
        keycloak: ScriptedKeycloak, method: str, path: str, body: Any,
        params: dict[str, Any]) -> None:
    direct = AdminGateway.with_password(keycloak.url, "admin", "pw")
    through_requests = AdminGateway.with_password(keycloak.url, "admin", "pw")
    _through_requests(through_requests)
    assert _sent_directly(direct) and not _sent_directly(through_requests)
    with request_scope("req-1"):
        direct._send(method, path, body=body, params=params)
        through_requests._send(method, path, body=body, params=params)
    ours, theirs = keycloak.admin_calls()
    assert ours.line == theirs.line
    assert ours.line.startswith(f"{method} /admin/realms{path.split('?')[0]}")
    # each gateway has its own token (t1, t2); everything else is the same, in order
    assert [(n, v) for n, v in ours.headers if n != "Authorization"] == \
        [(n, v) for n, v in theirs.headers if n != "Authorization"]
    assert [n for n, _ in ours.headers] == [n for n, _ in theirs.headers]
    tokens = {dict(ours.headers)["Authorization"], dict(theirs.headers)["Authorization"]}
    assert tokens == {"Bearer t1", "Bearer t2"}
    assert dict(ours.headers)["X-Request-Id"] == "req-1"
    assert ours.body == theirs.body


def test_the_answer_is_read_as_requests_read_it(keycloak: ScriptedKeycloak) -> None:
    keycloak.script["GET /admin/realms/r/users/1"] = [_json(200, {"id": "1", "n": "ï"})]
    keycloak.script["POST /admin/realms/r/users"] = [
        (201, {"Location": f"{keycloak.url}/admin/realms/r/users/u-9"}, b"")]
    keycloak.script["GET /admin/realms/r/users/2"] = [_json(404, {"error": "User not found"})]
    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    assert gateway.get("/r/users/1") == {"id": "1", "n": "ï"}
    assert gateway.post("/r/users", {"username": "a"}) == "u-9"
    assert gateway.put("/r/users/1", {"enabled": True}) is None  # 204, no body
    with pytest.raises(transport.NotFound) as caught:
        gateway.get("/r/users/2")
    assert caught.value.detail == "User not found"
    assert gateway.calls.failures == {("GET /{realm}/users/{id}", "not_found"): 1}


# -- retries, the token, cookies, redirects ------------------------------------------------------

def test_a_get_is_retried_after_a_503_and_a_post_is_not(keycloak: ScriptedKeycloak) -> None:
    keycloak.script["GET /admin/realms/r/users/1"] = [(503, {}, b"starting"),
                                                      _json(200, {"id": "1"})]
    keycloak.script["POST /admin/realms/r/users"] = [(503, {}, b"starting"),
                                                     (201, {"Location": "/x/u-1"}, b"")]
    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    assert gateway.get("/r/users/1") == {"id": "1"}
    with pytest.raises(Unavailable):
        gateway.post("/r/users", {"username": "a"})
    assert [s.line.split()[0] for s in keycloak.admin_calls()] == ["GET", "GET", "POST"]
    assert gateway.calls.failures == {("POST /{realm}/users", "unavailable"): 1}


def test_a_401_is_answered_by_a_refresh_and_one_more_try(keycloak: ScriptedKeycloak) -> None:
    keycloak.script["POST /admin/realms/r/users"] = [
        _json(401, {"error": "HTTP 401 Unauthorized"}), (201, {"Location": "/x/u-1"}, b"")]
    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    assert gateway.post("/r/users", {"username": "alice"}) == "u-1"
    first, again = keycloak.admin_calls()
    assert dict(first.headers)["Authorization"] == "Bearer t1"
    assert dict(again.headers)["Authorization"] == "Bearer t2"
    assert first.body == again.body == b'{"username": "alice"}'
    assert gateway.calls.failures == {}


def test_a_cookie_set_on_a_direct_call_goes_back_on_the_next(keycloak: ScriptedKeycloak) -> None:
    keycloak.script["GET /admin/realms/r/users/1"] = [
        _json(200, {"id": "1"}, **{"Set-Cookie": "ROUTE=node-2; Path=/"}),
        _json(200, {"id": "1"})]
    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    assert _sent_directly(gateway)
    gateway.get("/r/users/1")
    gateway.get("/r/users/1")
    first, second = keycloak.admin_calls()
    assert "Cookie" not in dict(first.headers)
    assert dict(second.headers)["Cookie"] == "ROUTE=node-2"
    assert not _sent_directly(gateway)  # requests sends the jar from now on


def test_a_redirected_read_is_followed_and_a_redirected_post_is_an_error(
        keycloak: ScriptedKeycloak) -> None:
    moved = f"{keycloak.url}/admin/realms/r/users/2"
    keycloak.script["GET /admin/realms/r/users/1"] = [(302, {"Location": moved}, b"")]
    keycloak.script["GET /admin/realms/r/users/2"] = [_json(200, {"id": "2"})]
    keycloak.script["POST /admin/realms/r/users"] = [(307, {"Location": moved}, b"")]
    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    assert gateway.get("/r/users/1") == {"id": "2"}
    with pytest.raises(GatewayError, match=r"redirect to .*/users/2") as caught:
        gateway.post("/r/users", {"username": "a"})
    assert caught.value.status == 307
    assert [s.line.split()[:2] for s in keycloak.admin_calls()] == [
        ["GET", "/admin/realms/r/users/1"],  # directly
        ["GET", "/admin/realms/r/users/1"], ["GET", "/admin/realms/r/users/2"],  # requests
        ["POST", "/admin/realms/r/users"]]  # once
    assert gateway.calls.failures == {("POST /{realm}/users", "rejected"): 1}


def test_a_dropped_connection_is_retried_for_a_read_and_never_for_a_post(
        keycloak: ScriptedKeycloak) -> None:
    dropped: Answer = (0, {}, b"")
    keycloak.script["GET /admin/realms/r/users/1"] = [dropped]
    keycloak.script["POST /admin/realms/r/users"] = [dropped]
    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    with pytest.raises(Unavailable, match="unreachable"):
        gateway.get("/r/users/1")
    with pytest.raises(Unavailable, match="unreachable"):
        gateway.post("/r/users", {"username": "a"})
    assert [s.line.split()[0] for s in keycloak.admin_calls()] == ["GET"] * 3 + ["POST"]
    assert gateway.calls.failures == {("GET /{realm}/users/{id}", "unreachable"): 1,
                                      ("POST /{realm}/users", "unreachable"): 1}


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keycloak.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert, private = folder / "cert.pem", folder / "key.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return cert, private


def test_tls_is_verified_against_the_configured_ca_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with scripted_keycloak(tls) as keycloak:
        keycloak.script["GET /admin/realms/r/users/1"] = [_json(200, {"id": "1"})]
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        trusted = AdminGateway.with_password(keycloak.url, "admin", "pw")
        assert _sent_directly(trusted)
        assert trusted.get("/r/users/1") == {"id": "1"}
        assert trusted._admin._pool.scheme == "https"
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        # the login itself is refused without the bundle: the certificate is not trusted
        with pytest.raises(Unavailable, match="unreachable"):
            AdminGateway.with_password(keycloak.url, "admin", "pw").get("/r/users/1")
        # a session that trusted it once, asked to trust the system store instead
        trusted._admin._settings["verify"] = True
        trusted._admin._pool.close()
        with pytest.raises(Unavailable, match="unreachable"):
            trusted.get("/r/users/1")
        assert [s.line.split()[0] for s in keycloak.admin_calls()] == ["GET"]


# -- when requests sends ----------------------------------------------------------------------

def test_a_wrapped_session_send_sees_every_call(keycloak: ScriptedKeycloak,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    heard: list[str] = []
    send: Callable[..., requests.Response] = requests.Session.send

    def traced(session: requests.Session, request: requests.PreparedRequest,
               **kwargs: Any) -> requests.Response:
        heard.append(f"{request.method} {request.url}")
        return send(session, request, **kwargs)

    gateway = AdminGateway.with_password(keycloak.url, "admin", "pw")
    assert _sent_directly(gateway)  # logged in, and sending directly
    monkeypatch.setattr(requests.Session, "send", traced)  # as a tracer instruments it
    assert not _sent_directly(gateway)
    gateway.get("/r/users", username="a")
    assert heard == [f"GET {keycloak.url}/admin/realms/r/users?username=a"]
    monkeypatch.undo()
    assert _sent_directly(gateway)


def test_a_proxied_keycloak_is_called_through_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.test:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    connection = transport.KeycloakOpenIDConnection(  # not logged in: nothing is sent
        server_url="http://kc.test", username="admin", password="pw", realm_name="master",
        user_realm_name="master", client_id="admin-cli", verify=True)
    transport._settle_environment(connection)
    transport._retry_idempotent_only(connection)
    session = transport._AdminSession(connection)
    assert session._direct_pool() is None
    assert session._settings["proxies"]["http"] == "http://proxy.test:3128"
