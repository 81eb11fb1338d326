"""The Keycloak gateway's transport: the only code that speaks Keycloak's admin REST API.

python-keycloak's ``KeycloakOpenIDConnection`` logs in and keeps the admin token (its
refresh grant, a fresh login when Keycloak ended the session); :class:`_AdminSession` sends
the calls on the connection pool of its requests session. This module adds what the rest of
the bridge relies on: JSON in and out, typed errors instead of status codes, and a count of
admin calls and of their failures by kind (benchmarks and tests read it to hold the bridge to
its per-operation budgets; the server's ``/metrics`` listens to it, see :class:`CallListener`).
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlencode, urljoin

import requests
import urllib3
from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakConnectionError, KeycloakError
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar, merge_cookies
from requests.sessions import merge_hooks
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri, select_proxy
from urllib3.util.retry import Retry

from bridge.keycloak.errors import (
    Conflict,
    GatewayError,
    NotFound,
    Rejected,
    TooLarge,
    Unavailable,
)
from bridge.observability.context import REQUEST_ID_HEADER, current_request_id

# Literal segments of Keycloak admin routes; any other segment is an id or a name.
_ROUTE_WORDS = frozenset("""
    users groups children members count profile clients client-scopes roles roles-by-id
    role-mappings realm composite composites protocol-mappers models add-models
    authentication flows executions execution config required-actions components
    identity-provider instances mappers organizations invite-user invite-existing-user invitations
    partialImport partial-export logout sessions credentials reset-password
    execute-actions-email send-verify-email service-account-user client-secret
    default-client-scopes optional-client-scopes default-default-client-scopes
    default-optional-client-scopes attack-detection brute-force events admin-events keys
    localization impersonation federated-identity consents offline-sessions available
    effective scope-mappings management permissions lower-priority raise-priority
    attributes domains metadata group-by-path default-groups
    unregistered-required-actions register-required-action
    authz resource-server permission policy scope client resources scopes associatedPolicies
""".split())

ADMIN_RETRY = Retry(
    total=3, connect=2, read=2, status=2, other=0,
    allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}),
    status_forcelist=(502, 503, 504), backoff_factor=0.2, backoff_max=2.0,
    backoff_jitter=0.2, respect_retry_after_header=False, raise_on_status=False)
"""Automatic retries of admin calls: idempotent methods only, bounded (at most 3 more
attempts, ~2 s of backoff with jitter so replicas do not retry in step).

python-keycloak 7.1.1 retries once *including POST*: a create whose response was lost then
meets the user its first attempt made, and answers 409 for a create that succeeded. POST is
left out here (urllib3 still retries a POST whose connection was never established: nothing
was sent); a caller whose POST may have reached Keycloak resolves it by a lookup (see
``KeycloakScimBackend.create``). A ``Retry-After`` from a proxy is not honoured, so no call
blocks longer than the backoff bound; the bridge's own clients get the 503."""

MAX_KINDS = 256
"""Distinct keys a :class:`CallCounter` keeps; further shapes are counted as ``(other)``."""


def route_template(path: str) -> str:
    """The admin route a concrete path belongs to: ``/r/users/1f3…/groups`` →
    ``/{realm}/users/{id}/groups``. Ids and names never appear, so the set of
    templates is bounded by the routes the gateway uses, not by the data."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if not parts:
        return "/"
    out = ["{realm}"]
    for part in parts[1:]:
        if out[-1] == "group-by-path":
            out.append("{path}")  # the rest of the path is one group path
            break
        out.append(part if part in _ROUTE_WORDS else "{id}")
    return "/" + "/".join(out)


FAILURES = ("unreachable", "login", "session", "denied", "not_found", "conflict",
            "rejected", "unavailable", "server_error")
"""Why an admin call failed, as :meth:`CallCounter.failed` records it: Keycloak could not be
reached, refused the service account's login or its session, answered 401/403, 404, 409,
another 4xx (or a redirect it does not follow), 502-504, or another 5xx. A fixed set: a
label's values are bounded."""


class CallListener(Protocol):
    """Told of every admin call (its kind, as :class:`CallCounter` keys it) and failure."""

    def admin_call(self, method: str, route: str) -> None: ...

    def admin_failure(self, method: str, route: str, reason: str) -> None: ...


@dataclass
class CallCounter:
    """Admin calls made through one gateway, by ``METHOD route-template``, and their
    failures by kind and reason (one of :data:`FAILURES`).

    Keyed by templates (see :func:`route_template`) and capped at :data:`MAX_KINDS`
    keys, so a long-lived replica's counter stays the same size whatever it serves.
    Thread-safe: one gateway serves every request thread of a replica. ``listeners`` hear
    each call under the same (capped) kind: one count, more than one reader."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    listeners: list[CallListener] = field(default_factory=list, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, method: str, path: str) -> str:
        """Count one call; returns its kind (``METHOD route-template``)."""
        key = f"{method} {route_template(path)}"
        with self._lock:
            self.total += 1
            if key not in self.by_kind and len(self.by_kind) >= MAX_KINDS:
                key = f"{method} (other)"
            self.by_kind[key] = self.by_kind.get(key, 0) + 1
        for listener in self.listeners:
            listener.admin_call(*key.split(" ", 1))
        return key

    def failed(self, kind: str, reason: str) -> None:
        """Count a failure of a call of ``kind`` (as :meth:`add` returned it)."""
        with self._lock:
            self.failures[kind, reason] = self.failures.get((kind, reason), 0) + 1
        for listener in self.listeners:
            method, route = kind.split(" ", 1)
            listener.admin_failure(method, route, reason)

    def reset(self) -> None:
        with self._lock:
            self.total = 0
            self.by_kind.clear()
            self.failures.clear()


def failure_reason(status: int) -> str:
    """The :data:`FAILURES` entry of an HTTP error status."""
    if status in (401, 403):
        return "denied"
    if status == 404:
        return "not_found"
    if status == 409:
        return "conflict"
    if status in (502, 503, 504):
        return "unavailable"
    return "server_error" if status >= 500 else "rejected"


class AdminGateway:
    """Admin REST calls on one Keycloak, relative to ``/admin/realms``."""

    def __init__(self, connect: Callable[[], KeycloakOpenIDConnection]) -> None:
        # Connecting (logging in) is deferred to the first call, so a server can start while
        # Keycloak is down and answer 503 until it is back.
        self._connect = connect
        self._session: _AdminSession | None = None
        self._lock = threading.Lock()
        self.calls = CallCounter()

    @property
    def _admin(self) -> _AdminSession:
        if self._session is None:
            with self._lock:
                if self._session is None:
                    self._session = _AdminSession(self._connect())
        return self._session

    @property
    def _conn(self) -> KeycloakOpenIDConnection:
        """python-keycloak's connection: the admin token and its requests session."""
        return self._admin.connection

    @classmethod
    def with_password(cls, server_url: str, username: str, password: str,
                      realm: str = "master", timeout: int = 30) -> AdminGateway:
        """An admin session with a user's password (``admin-cli``), e.g. the bootstrap admin."""
        return cls(functools.partial(
            _connect, server_url=server_url, username=username, password=password,
            realm_name=realm, user_realm_name=realm, client_id="admin-cli", timeout=timeout))

    @classmethod
    def with_client_credentials(cls, server_url: str, realm: str, client_id: str,
                                client_secret: str, timeout: int = 30) -> AdminGateway:
        """An admin session as a confidential client's service account."""
        return cls(functools.partial(
            _connect, server_url=server_url, realm_name=realm, user_realm_name=realm,
            client_id=client_id, client_secret_key=client_secret,
            grant_type="client_credentials", timeout=timeout))

    # -- verbs -------------------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        return self._send("GET", path, params=params)

    def post(self, path: str, body: Any = None, **params: Any) -> str | None:
        """POST; returns the id at the end of the ``Location`` header when Keycloak gives one."""
        response = self._send("POST", path, body=body, params=params, raw=True)
        location = response.headers.get("Location")
        return location.rstrip("/").rsplit("/", 1)[-1] if location else None

    def post_json(self, path: str, body: Any = None, **params: Any) -> Any:
        return self._send("POST", path, body=body, params=params)

    def put(self, path: str, body: Any = None, **params: Any) -> None:
        self._send("PUT", path, body=body, params=params)

    def delete(self, path: str, body: Any = None) -> None:
        self._send("DELETE", path, body=body)

    def check_login(self, timeout: float = 5) -> None:
        """Log in afresh with this gateway's credentials (the session in use is left as it
        is): returns when Keycloak accepts them; :class:`Unavailable` when it cannot be
        reached, :class:`GatewayError` (``status``, ``detail`` = Keycloak's error code)
        when it refuses them. What readiness and the start-up checks ask."""
        if isinstance(self._connect, functools.partial):
            self._connect(timeout=timeout)  # the gateway's own login, with a short timeout
        else:
            self._connect()

    # -- plumbing ----------------------------------------------------------------------------

    def _send(self, method: str, path: str, *, body: Any = None,
              params: Mapping[str, Any] | None = None, raw: bool = False) -> Any:
        kind = self.calls.add(method, path)
        data = json.dumps(body) if body is not None else None
        try:
            admin = self._admin
        except GatewayError as exc:  # the login (deferred to the first call) failed
            self.calls.failed(kind, "unreachable" if isinstance(exc, Unavailable) else "login")
            raise
        try:
            response = admin.send(method, path, params, data)
        except KeycloakConnectionError as exc:
            self.calls.failed(kind, "unreachable")
            raise Unavailable(f"Keycloak unreachable for {method} {path}") from exc
        except KeycloakError as exc:  # token refresh failed
            self.calls.failed(kind, "session")
            raise Unavailable(f"Keycloak refused the admin session: {exc.response_code}") from exc
        if response.status_code >= 300:
            self.calls.failed(kind, failure_reason(response.status_code))
        _raise_for_status(method, path, response)
        if raw:
            return response
        if not response.content:
            return None
        return response.json()


class AdminReply(NamedTuple):
    """Keycloak's answer to one admin call, read whole: what the gateway looks at."""

    status_code: int
    headers: Mapping[str, str]  # case-insensitive, as both transports give them
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class _Credentials(NamedTuple):
    """One admin token as the calls use it: read as one value, replaced whole."""

    token: dict[str, Any] | None
    headers: CaseInsensitiveDict[str]  # every header of a call but its length and request id
    wire: dict[str, str]  # the same headers, in the same order, for urllib3
    refresh_at: float  # time.monotonic(): refresh from here on...
    expires_at: float  # ...and wait for the refresh from here on


_REQUESTS_SEND = (requests.Session.send, HTTPAdapter.send)
"""requests' own sending functions, as this module found them. When either has been
replaced since (OpenTelemetry's requests instrumentation wraps ``Session.send`` to trace
each call; a test's ``responses`` patches ``HTTPAdapter.send`` to answer it), the calls go
through requests, so that whatever wrapped it sees every one of them."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _AdminSession:
    """The logged-in admin session the gateway's calls go out on.

    python-keycloak's connection logs in and keeps the token; the calls are sent here
    rather than through its ``raw_get``/``raw_post``..., which went through requests'
    ``Session.request``. What does not change between calls is made once (the base URL,
    the send settings, the headers, remade only when the token changes).

    Each call goes straight to the urllib3 connection pool that requests' adapter keeps
    for Keycloak's origin, with the adapter's retry policy (:data:`ADMIN_RETRY`), its
    timeouts and TLS settings, the same headers in the same order, and the id of the
    request being served. requests' ``Session.send`` (its hooks, cookie jar and redirect
    machinery around the same urllib3 call) and reading the body through its
    ``Response`` were about half of the bridge's CPU per admin call; an admin call needs
    none of it. requests still sends a call whose context needs it: through a proxy, with
    a cookie to send back (one Keycloak or a balancer in front of it set, a sticky session),
    with session hooks, when requests' sending has been wrapped (see
    :data:`_REQUESTS_SEND`), or to follow a redirect (an idempotent call answered 3xx is sent
    again through requests, which follows it; a POST is not sent twice, and its 3xx is an
    error). Nothing but the token and such cookies is kept between calls.

    The token is renewed as python-keycloak renewed it: from 90% of its lifetime on
    (``token_lifetime_fraction``, a margin for clock skew), with its refresh grant or a new
    login; and a call answered 401 (the session ended early: an admin logged it out, a
    restarted Keycloak) is sent once more after a refresh. Unlike python-keycloak, one
    thread refreshes at a time, and while it does, the others go on with the token in hand
    until that token's real expiry: a replica's request threads do not all log in at once,
    and only the one that refreshes waits for it. Each replica (each worker) keeps its own
    session and token; nothing is shared between them, so N replicas are N admin sessions,
    each renewed only while it is used.
    """

    def __init__(self, connection: KeycloakOpenIDConnection) -> None:
        self.connection = connection
        self.http: requests.Session = connection._s
        prepared = requests.PreparedRequest()
        prepared.prepare_url(urljoin(connection.base_url, "admin/realms"), None)
        self._base = prepared.url or ""
        self._probe = prepared  # what the adapter looks the origin's pool up by
        # What Session.request worked out on every call; constant once the environment is
        # settled (see _settle_environment): the session's proxies, stream, verify, cert.
        self._settings: dict[str, Any] = {
            "timeout": connection.timeout, "allow_redirects": True,
            **self.http.merge_environment_settings(
                self._base, {}, None, connection.verify, connection.cert)}
        adapter = self.http.get_adapter(self._base)
        self._adapter = adapter if isinstance(adapter, _AdminAdapter) else None
        self._direct = self._adapter is not None and not select_proxy(
            self._base, self._settings["proxies"])
        scheme, _, origin = self._base.split("/", 3)[:3]
        self._origin_length = len(scheme) + 2 + len(origin)  # "scheme:" "//" "host[:port]"
        timeout = connection.timeout
        self._timeout = urllib3.Timeout(connect=timeout, read=timeout)  # as requests sets it
        self._pool: Any = None
        self._lock = threading.Lock()
        self._credentials = self._adopt()

    def url(self, path: str, query: Mapping[str, Any] | None) -> str:
        """The URL requests made of ``urljoin(server_url, "admin/realms" + path)`` and
        ``params=query`` (the paths' segments are quoted by their callers, see
        :mod:`bridge.keycloak.paths`; requoting leaves them as they are)."""
        url = self._base + requote_uri(path) if path else self._base
        encoded = _query_string(query) if query else ""
        if encoded:
            url += ("&" if "?" in path else "?") + encoded
        return url

    def send(self, method: str, path: str, query: Mapping[str, Any] | None,
             data: str | None) -> AdminReply:
        """One admin call (``data``: its JSON body); raises python-keycloak's errors as its
        ``raw_*`` methods did: ``KeycloakConnectionError`` when Keycloak cannot be reached,
        another ``KeycloakError`` when the token could not be renewed."""
        url = self.url(path, query)
        credentials = self._current()
        response = self._send_once(method, url, data, credentials)
        if response.status_code == 401:
            self._refresh(credentials)
            response = self._send_once(method, url, data, self._credentials)
        return response

    def _send_once(self, method: str, url: str, data: str | None,
                   credentials: _Credentials) -> AdminReply:
        try:
            pool = self._direct_pool()
        except Exception as exc:  # a CA bundle or client certificate that is not there
            raise KeycloakConnectionError("Can't connect to server") from exc
        if pool is None:
            return self._send_through_requests(method, url, data, credentials)
        headers = credentials.wire.copy()
        if data:  # json.dumps' text is ASCII: its length is its length in bytes
            headers["Content-Length"] = str(len(data))
        elif method not in ("GET", "HEAD"):
            headers["Content-Length"] = "0"
        request_id = current_request_id()
        if request_id is not None:
            headers[REQUEST_ID_HEADER] = request_id
        try:
            response = pool.urlopen(
                method, url[self._origin_length:] or "/", body=data, headers=headers,
                retries=self._adapter.max_retries, redirect=False, assert_same_host=False,
                timeout=self._timeout, preload_content=True, decode_content=True,
                chunked=False)
        except Exception as exc:  # as python-keycloak: whatever the send raised
            raise KeycloakConnectionError("Can't connect to server") from exc
        if "Set-Cookie" in response.headers:  # kept, and sent back by requests from now on
            extract_cookies_to_jar(self.http.cookies, self._cookie_request(method, url),
                                   response)
        if response.status in _REDIRECTS and method in ADMIN_RETRY.allowed_methods:
            return self._send_through_requests(method, url, data, credentials)
        return AdminReply(response.status, response.headers, response.data)

    def _direct_pool(self) -> Any:
        """The origin's urllib3 pool when a call may go to it directly, else None."""
        if (not self._direct or self.http.cookies or self.http.hooks["response"]
                or requests.Session.send is not _REQUESTS_SEND[0]
                or HTTPAdapter.send is not _REQUESTS_SEND[1]):
            return None
        pool = self._pool
        if pool is None or pool.pool is None:  # not yet, or closed since
            assert self._adapter is not None
            settings = self._settings
            pool = self._adapter.get_connection_with_tls_context(
                self._probe, settings["verify"], settings["proxies"], settings["cert"])
            self._adapter.cert_verify(pool, self._base, settings["verify"], settings["cert"])
            self._pool = pool
        return pool

    @staticmethod
    def _cookie_request(method: str, url: str) -> requests.PreparedRequest:
        request = requests.PreparedRequest()
        request.method = method
        request.url = url
        request.headers = CaseInsensitiveDict()
        return request

    def _send_through_requests(self, method: str, url: str, data: str | None,
                               credentials: _Credentials) -> AdminReply:
        request = requests.PreparedRequest()
        request.method = method
        request.url = url
        request.headers = credentials.headers.copy()
        if data:  # json.dumps' text is ASCII: its length is its length in bytes
            request.body = data
            request.headers["Content-Length"] = str(len(data))
        elif method not in ("GET", "HEAD"):
            request.headers["Content-Length"] = "0"
        jar = self.http.cookies
        if jar:  # a cookie set by Keycloak or a proxy in front of it (a sticky session)
            request.prepare_cookies(merge_cookies(RequestsCookieJar(), jar))
        else:
            request._cookies = RequestsCookieJar()  # where a redirect would keep its cookies
        request.hooks = merge_hooks(request.hooks, self.http.hooks)
        try:
            response = self.http.send(request, **self._settings)
            return AdminReply(response.status_code, response.headers, response.content)
        except Exception as exc:  # as python-keycloak: whatever the send raised
            raise KeycloakConnectionError("Can't connect to server") from exc

    def _current(self) -> _Credentials:
        credentials = self._credentials
        now = time.monotonic()
        if now >= credentials.refresh_at:
            self._refresh(credentials, wait=now >= credentials.expires_at)
            credentials = self._credentials
        return credentials

    def _refresh(self, stale: _Credentials, *, wait: bool = True) -> None:
        """Renew the token ``stale`` holds unless another thread has; without ``wait``,
        return at once while another thread is renewing it."""
        if not self._lock.acquire(blocking=wait):
            return
        try:
            if self._credentials is stale:
                self.connection.refresh_token()  # the refresh grant, else a new login
                self._credentials = self._adopt()
        finally:
            self._lock.release()

    def _adopt(self) -> _Credentials:
        """The connection's current token, as the calls use it."""
        connection = self.connection
        token = connection.token
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(self.http.headers)
        # python-keycloak's headers: Content-Type, and the Authorization its token setter
        # wrote.
        headers.update(connection.headers or {})
        for name in [name for name, value in headers.items() if value is None]:
            del headers[name]
        wire = dict(headers.items())  # the names as last set, in requests' order
        now = time.monotonic()
        if token is None:
            return _Credentials(None, headers, wire, float("inf"), float("inf"))
        lifetime = float(token.get("expires_in") or 0)
        return _Credentials(token, headers, wire,
                            now + int(connection.token_lifetime_fraction * lifetime),
                            now + lifetime)


def _query_string(query: Mapping[str, Any]) -> str:
    """``query`` as requests encodes ``params``: a list or tuple value repeats its key, a
    None (top level or in a list) is left out, anything else is ``str()``-ed."""
    pairs: list[tuple[str, Any]] = []
    for key, values in query.items():
        if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
            values = (values,)
        pairs.extend((key, value) for value in values if value is not None)
    return urlencode(pairs, doseq=True)


def _connect(**kwargs: Any) -> KeycloakOpenIDConnection:
    try:
        connection = KeycloakOpenIDConnection(verify=True, **kwargs)
        # Log in now: fail fast on bad credentials, and spare the first call a 401 round trip.
        connection.get_token()
        # After the login, so that the token client (its own session, which keeps reading
        # the environment) was built with verify=True as before.
        _settle_environment(connection)
        _retry_idempotent_only(connection)
        return connection
    except KeycloakConnectionError as exc:
        raise Unavailable(f"Keycloak unreachable at {kwargs.get('server_url')}") from exc
    except KeycloakError as exc:
        who = kwargs.get("username") or kwargs.get("client_id")
        raise GatewayError(
            f"Keycloak refused the admin login of {who} ({exc.response_code})",
            status=exc.response_code, detail=_login_error(exc),
        ) from exc


def _login_error(exc: KeycloakError) -> str:
    """Keycloak's OAuth error code (``unauthorized_client``, ``invalid_grant``...) or its
    message, from a refused login; never the request (which holds the secret)."""
    message = exc.error_message
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    try:
        body = json.loads(text)
    except ValueError:
        return text[:120]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("errorMessage") or "")[:120]
    return ""


def _settle_environment(connection: KeycloakOpenIDConnection) -> None:
    """Resolve the proxy and CA-bundle environment once for the admin session.

    With ``trust_env`` on, requests re-reads the whole environment on every call
    (``HTTP(S)_PROXY``, ``NO_PROXY``, ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``): about
    0.3 ms of each admin call. Every call of this session goes to one Keycloak (one scheme
    and host), so requests' own answer for ``server_url``, taken now, is the answer it
    would give on every call; the session then stops asking. python-keycloak exposes no
    public handle on its session: if that ever changes shape, nothing is changed and
    requests keeps reading the environment per call.
    """
    session = getattr(connection, "_s", None)
    if not isinstance(session, requests.Session) or not session.trust_env:
        return
    settled = session.merge_environment_settings(
        connection.base_url, {}, None, connection.verify, connection.cert)
    session.proxies = settled["proxies"]
    connection.verify = settled["verify"]  # the CA bundle from the environment, if any
    session.trust_env = False


class _AdminAdapter(HTTPAdapter):
    """The admin session's transport: :data:`ADMIN_RETRY`, and the id of the request being
    served (``X-Request-Id``) on each call, so that a Keycloak access log or a proxy
    between them can be matched with the bridge's own lines.

    Without a proxy, the connection pool of an origin (and TLS settings) is looked up once
    and kept, rather than worked out again from the URL on every call (urllib3's pool
    manager would hand back the same pool); a pool closed since is looked up again, and
    closing the adapter forgets them. Through a proxy, requests decides per call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pools: dict[tuple[str, Any, Any], Any] = {}
        super().__init__(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any,
             **kwargs: Any) -> requests.Response:
        request_id = current_request_id()
        if request_id is not None:
            request.headers[REQUEST_ID_HEADER] = request_id
        return super().send(request, *args, **kwargs)

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: Mapping[str, str] | None = None,
                                        cert: Any = None) -> Any:
        parts = (request.url or "").split("/", 3)  # scheme:, "", host[:port], path
        if proxies or len(parts) < 3:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        key = (f"{parts[0].lower()}//{parts[2]}", verify, cert)
        pool = self._pools.get(key)
        if pool is None or pool.pool is None:  # not yet, or closed since
            pool = super().get_connection_with_tls_context(request, verify, proxies, cert)
            self._pools[key] = pool
        return pool

    def request_url(self, request: requests.PreparedRequest,
                    proxies: Mapping[str, str] | None) -> str:
        if proxies:
            return super().request_url(request, proxies)
        return request.path_url  # what requests sends without a proxy

    def close(self) -> None:
        self._pools.clear()
        super().close()


def _retry_idempotent_only(connection: KeycloakOpenIDConnection) -> None:
    """Replace python-keycloak's retry policy (which includes POST) by :data:`ADMIN_RETRY`
    on the admin session's adapters (keeping their pool sizes); see :class:`_AdminAdapter`."""
    session = getattr(connection, "_s", None)
    if not isinstance(session, requests.Session):
        raise RuntimeError("python-keycloak's admin session changed shape; refusing to run "
                           "with its POST-retrying default")
    for prefix, adapter in list(session.adapters.items()):
        if isinstance(adapter, HTTPAdapter):
            session.mount(prefix, _AdminAdapter(
                pool_connections=getattr(adapter, "_pool_connections", DEFAULT_POOLSIZE),
                pool_maxsize=getattr(adapter, "_pool_maxsize", DEFAULT_POOLSIZE),
                max_retries=ADMIN_RETRY))


def _raise_for_status(method: str, path: str, response: AdminReply) -> None:
    status = response.status_code
    if status < 300:
        return
    where = f"{method} {path}"
    if status < 400:  # a POST answered by a redirect: sending it elsewhere is not ours to do
        raise GatewayError(
            f"{where}: Keycloak answered {status}, a redirect to "
            f"{response.headers.get('Location', '(no Location)')}: set the bridge's "
            "Keycloak URL to the address Keycloak answers on", status=status)
    detail = _error_detail(response)
    if status == 404:
        raise NotFound(f"{where}: not found", detail=detail)
    if status == 409:
        raise Conflict(f"{where}: conflict: {detail}", detail=detail)
    if status in (502, 503, 504):
        raise Unavailable(f"{where}: Keycloak unavailable ({status})")
    if status == 400:
        raise Rejected(f"{where}: Keycloak refused a value: {detail}", status=status,
                       detail=detail)
    if status == 413:
        raise TooLarge(f"{where}: Keycloak refused the body's size", status=status,
                       detail=detail)
    raise GatewayError(f"{where}: Keycloak answered {status}: {detail}", status=status,
                       detail=detail)


def _error_detail(response: AdminReply) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("errorMessage") or body.get("error_description")
                   or body.get("error") or body)[:300]
    return str(body)[:300]
