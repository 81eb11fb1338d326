"""SCIM vs raw Keycloak, measured in one run on the same Keycloak (issue 3 ratios).

    python bench/scim_ratios.py [--users 100000] [--creates 300] [--lookups 300]
                                [--rounds 3] [--concurrency 1,4] [--profile] [--quick]

1. **Create throughput**: ``--creates`` users POSTed to ``/scim/v2/Users`` of the real
   app (``bridge.app.create_app``: static-token authentication, the Keycloak backend)
   against the same number created with python-keycloak's ``KeycloakAdmin.create_user``,
   whose representations are what the bridge stores for the same SCIM users (built
   beforehand with the bridge's own mapping). The app is served over HTTP by werkzeug's
   threaded server in a child process on 127.0.0.1 (HTTP/1.1 keep-alive, no access log),
   so the bench's client never shares a GIL with it; ``--transport test-client`` drives it
   in-process through Flask's test client instead (labelled so). SCIM and raw alternate
   in ``--rounds`` rounds (order swapped every round) at each ``--concurrency``; the
   ratio is median SCIM throughput / median raw throughput (target >= 0.9).
2. **userName eq latency**: ``--users`` users seeded with partialImport (batches of
   ``--batch``), then ``--lookups`` ``GET /scim/v2/Users?filter=userName eq "..."``
   interleaved with as many ``GET /admin/realms/{r}/users?username=...&exact=true``
   (requests, admin bearer token); each side looks up its own random users so neither
   warms Keycloak's cache for the other. Medians, p95 and median SCIM / median raw
   (target <= 1.2), also at a tenth of the size on the way up.

Keycloak: ``KEYCLOAK_URL`` + ``KEYCLOAK_ADMIN_USERNAME``/``KEYCLOAK_ADMIN_PASSWORD`` if
set (loopback only), else a LocalKeycloak of its own on free loopback ports with its state
in a temporary directory (heap ``JAVA_OPTS_KC_HEAP``, default ``-Xms1g -Xmx3g``), stopped
at the end. Its realms are deleted at the end. Every loop is bounded in count, and the
whole run by ``--max-minutes``. ``--profile`` adds a cProfile of in-process SCIM creates.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import ipaddress
import json
import logging
import os
import pstats
import random
import secrets
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import requests
from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from scim2_models import Context
from scim_calls import setup_realm  # this folder: run as bench/scim_ratios.py

from bridge.app import create_app
from bridge.config import Settings
from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway
from bridge.local.keycloak import LocalKeycloak, free_port
from bridge.provisioning.access import AccessAttributes
from bridge.provisioning.access_schema import AccessUser
from bridge.provisioning.mapping import (
    CORE,
    CREATED,
    EMAILS,
    EXTERNAL_ID,
    LAST_MODIFIED,
    USER_NAME,
    UserMapping,
    now_iso,
)
from scim.resources import ENTERPRISE_SCHEMA, USER_SCHEMA

SCIM_JSON = "application/scim+json"
SERVE_FLAG = "--serve-bridge"  # internal: the child process serving the bridge


class OutOfTime(RuntimeError):
    """The run went past --max-minutes."""


@dataclass(frozen=True)
class Target:
    url: str
    username: str
    password: str


class Clock:
    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60

    def check(self, what: str) -> None:
        if time.monotonic() > self.deadline:
            raise OutOfTime(f"--max-minutes reached during {what}")


def say(message: str) -> None:
    print(message, flush=True)


# -- Keycloak --------------------------------------------------------------------------------


def _loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def keycloak_target() -> Iterator[Target]:
    url = os.environ.get("KEYCLOAK_URL")
    if url:
        if not _loopback(url):
            raise SystemExit(f"KEYCLOAK_URL {url} is not a loopback address; refusing")
        username = os.environ.get("KEYCLOAK_ADMIN_USERNAME") or os.environ.get(
            "KC_BOOTSTRAP_ADMIN_USERNAME", "admin")
        password = os.environ.get("KEYCLOAK_ADMIN_PASSWORD") or os.environ.get(
            "KC_BOOTSTRAP_ADMIN_PASSWORD")
        if not password:
            raise SystemExit("KEYCLOAK_URL is set: set KEYCLOAK_ADMIN_PASSWORD too")
        say(f"Keycloak: {url} (from KEYCLOAK_URL)")
        yield Target(url.rstrip("/"), username, password)
        return
    os.environ.setdefault("JAVA_OPTS_KC_HEAP", "-Xms1g -Xmx3g")
    with tempfile.TemporaryDirectory(prefix="bench-ratios-kc-") as state:
        http_port = free_port()
        management_port = free_port()
        while management_port == http_port:
            management_port = free_port()
        local = LocalKeycloak(Path(state), http_port=http_port,
                              management_port=management_port)
        password = secrets.token_urlsafe(18)
        began = time.perf_counter()
        local.start("admin", password, log=say)
        say(f"Keycloak: own instance on {local.url}, ready in "
            f"{time.perf_counter() - began:.1f}s (heap {os.environ['JAVA_OPTS_KC_HEAP']})")
        try:
            yield Target(local.url, "admin", password)
        finally:
            local.stop()
            say("Keycloak: own instance stopped")


class AdminToken:
    """A master-realm admin access token for raw requests, renewed outside timed spans."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.session = requests.Session()
        self._token = ""
        self._renew_at = 0.0

    def fresh(self) -> str:
        if time.monotonic() >= self._renew_at:
            response = self.session.post(
                f"{self.target.url}/realms/master/protocol/openid-connect/token",
                data={"grant_type": "password", "client_id": "admin-cli",
                      "username": self.target.username, "password": self.target.password},
                timeout=30)
            response.raise_for_status()
            body = response.json()
            self._token = body["access_token"]
            self._renew_at = time.monotonic() + max(5, int(body["expires_in"]) - 20)
        return self._token


# -- the bridge under test -------------------------------------------------------------------


def _bridge_app(target: Target, realm: str, token_sha256: str) -> Any:
    """The real app factory; the gateway is the admin's session (injected, as tests do),
    authentication is the real static-token path."""
    settings = Settings(keycloak_url=target.url, realm=realm, client_id="bridge",
                        client_secret="unused: the gateway is injected",
                        scim_static_tokens=f"bench={token_sha256}")
    gateway = AdminGateway.with_password(target.url, target.username, target.password)
    return create_app(settings, gateway=gateway)


def serve_bridge() -> int:
    """Child process: serve the app on 127.0.0.1 until stdin closes (the parent exits)."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Handler(WSGIRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a production server would
        disable_nagle_algorithm = True  # headers and body are separate writes

        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    target = Target(os.environ["BENCH_KC_URL"], os.environ["BENCH_KC_USERNAME"],
                    os.environ["BENCH_KC_PASSWORD"])
    app = _bridge_app(target, os.environ["BENCH_REALM"], os.environ["BENCH_TOKEN_SHA256"])
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Handler)

    def watch_parent() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    threading.Timer(float(os.environ.get("BENCH_MAX_SECONDS", "7200")), os._exit, (3,)).start()
    print(f"READY {server.server_port}", flush=True)
    server.serve_forever()
    return 0


class Scim:
    """A SCIM client of the bridge (one per thread)."""

    def __init__(self, base: str | None, token: str, app: Any = None) -> None:
        self.base = base
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON,
                        "Accept": SCIM_JSON}
        self.session = requests.Session() if base else None
        self.client = app.test_client() if app is not None else None

    def call(self, method: str, path: str, body: Any = None,
             params: dict[str, str] | None = None) -> tuple[int, Any]:
        data = json.dumps(body) if body is not None else None
        if self.session is not None:
            response = self.session.request(method, f"{self.base}{path}", data=data,
                                            params=params, headers=self.headers, timeout=60)
            return response.status_code, response.json() if response.content else None
        assert self.client is not None
        answer = self.client.open(f"/scim/v2{path}", method=method, data=data,
                                  query_string=params, headers=self.headers)
        return answer.status_code, answer.get_json()

    def create(self, payload: dict[str, Any]) -> None:
        status, body = self.call("POST", "/Users", payload)
        if status != 201:
            raise RuntimeError(f"SCIM create {payload['userName']}: {status} {body}")

    def find(self, user_name: str) -> dict[str, Any]:
        status, body = self.call("GET", "/Users",
                                 params={"filter": f'userName eq "{user_name}"'})
        if status != 200:
            raise RuntimeError(f"SCIM userName eq {user_name}: {status} {body}")
        return body


def served_app() -> Any:
    """The app gunicorn serves (``scim_ratios:served_app()``), configured by the parent."""
    logging.basicConfig(level=logging.WARNING)
    target = Target(os.environ["BENCH_KC_URL"], os.environ["BENCH_KC_USERNAME"],
                    os.environ["BENCH_KC_PASSWORD"])
    return _bridge_app(target, os.environ["BENCH_REALM"], os.environ["BENCH_TOKEN_SHA256"])


def _wait_listening(port: int, child: subprocess.Popen[str], wait: float = 60) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the bridge server exited with code {child.returncode}")
        with contextlib.suppress(requests.RequestException):
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        time.sleep(0.2)
    raise RuntimeError(f"the bridge server did not listen on port {port} within {wait:.0f}s")


@contextlib.contextmanager
def bridge(target: Target, realm: str, transport: str, max_seconds: float,
           workers: int = 1, threads: int = 8) -> Iterator[Callable[[], Scim]]:
    """Serve the bridge on ``realm``; yields a factory of SCIM clients."""
    token = secrets.token_urlsafe(24)
    digest = hashlib.sha256(token.encode()).hexdigest()
    if transport == "test-client":
        app = _bridge_app(target, realm, digest)
        yield lambda: Scim(None, token, app)
        return
    env = {**os.environ, "BENCH_KC_URL": target.url, "BENCH_KC_USERNAME": target.username,
           "BENCH_KC_PASSWORD": target.password, "BENCH_REALM": realm,
           "BENCH_TOKEN_SHA256": digest, "BENCH_MAX_SECONDS": str(int(max_seconds) + 60)}
    here = Path(__file__).resolve()
    if transport == "gunicorn":
        port = free_port()
        command = [sys.executable, "-m", "gunicorn", "--chdir", str(here.parent),
                   "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
                   "--worker-class", "gthread", "--threads", str(threads),
                   "--log-level", "warning", f"{here.stem}:served_app()"]
    else:
        command = [sys.executable, str(here), SERVE_FLAG]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=env, text=True, start_new_session=True)
    try:
        assert child.stdout is not None
        if transport == "gunicorn":
            _wait_listening(port, child)
        else:
            ready, _, _ = select.select([child.stdout], [], [], 60)
            line = child.stdout.readline() if ready else ""
            if not line.startswith("READY "):
                raise RuntimeError(f"the bridge server did not start (said {line!r})")
            port = int(line.split()[1])
        yield lambda: Scim(f"http://127.0.0.1:{port}/scim/v2", token)
    finally:
        assert child.stdin is not None
        child.stdin.close()  # the werkzeug child exits when its stdin closes
        if transport == "gunicorn":
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGTERM)  # gunicorn and its worker
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)


# -- 1. create throughput ------------------------------------------------------------------


def scim_payload(user_name: str, n: int) -> dict[str, Any]:
    """A typical HR/IdP create (Entra/Okta shape): core, name, e-mail, enterprise."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "userName": user_name,
        "externalId": f"ext-{user_name}",
        "name": {"givenName": "Bench", "familyName": f"User{n}"},
        "displayName": f"Bench User{n}",
        "emails": [{"value": f"{user_name}@example.com", "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE_SCHEMA: {"employeeNumber": str(100000 + n), "department": "Bench"},
    }


def stored_rep(mapping: UserMapping, payload: dict[str, Any]) -> dict[str, Any]:
    """What the bridge POSTs to Keycloak for ``payload`` (backend.create's representation)."""
    resource = AccessUser.model_validate(payload, scim_ctx=Context.RESOURCE_CREATION_REQUEST)
    rep = mapping.to_keycloak(resource)
    rep["attributes"][CREATED] = list(rep["attributes"][LAST_MODIFIED])
    return rep


def raw_admin(target: Target, realm: str) -> KeycloakAdmin:
    connection = KeycloakOpenIDConnection(
        server_url=target.url, username=target.username, password=target.password,
        realm_name=realm, user_realm_name="master", client_id="admin-cli", timeout=60)
    return KeycloakAdmin(connection=connection)


def timed_parallel(work: Sequence[Callable[[], None]], items: Sequence[Any],
                   act: Callable[[Any, Any], None]) -> float:
    """Wall seconds for len(work) workers to process ``items`` (dealt round-robin)."""
    workers = len(work)
    if workers == 1:
        began = time.perf_counter()
        for item in items:
            act(work[0], item)
        return time.perf_counter() - began
    failures: list[BaseException] = []
    start = threading.Barrier(workers + 1)

    def run(worker: Any, mine: Sequence[Any]) -> None:
        start.wait()
        try:
            for item in mine:
                act(worker, item)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(work[k], items[k::workers]))
               for k in range(workers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join(600)
    elapsed = time.perf_counter() - began
    if any(thread.is_alive() for thread in threads):
        raise OutOfTime("a create worker ran for more than 600s")
    if failures:
        raise failures[0]
    return elapsed


def bench_creates(args: argparse.Namespace, target: Target, clock: Clock,
                  make_scim: Callable[[], Scim], realm: str) -> list[tuple[int, float]]:
    mapping = UserMapping(AccessAttributes())
    ratios = []
    say(f"\n== 1. create throughput: {args.creates} users per side per round, "
        f"{args.rounds} rounds, SCIM over {args.transport_label} ==")
    # Warm up both paths (Keycloak JIT, connections, tokens, imports); not timed.
    warm_scim, warm_raw = make_scim(), raw_admin(target, realm)
    began = time.perf_counter()
    for i in range(args.warmup_creates):
        clock.check("warm-up")
        warm_scim.create(scim_payload(f"warm-scim-{i:04d}", i))
        warm_raw.create_user(stored_rep(mapping, scim_payload(f"warm-raw-{i:04d}", i)))
    say(f"  warm-up: {args.warmup_creates} creates per side, untimed "
        f"({time.perf_counter() - began:.1f}s)")
    floor = hop_floor(warm_scim)
    for workers in args.concurrency:
        scim_clients = [make_scim() for _ in range(workers)]
        admins = [raw_admin(target, realm) for _ in range(workers)]
        for admin in admins:
            admin.connection.get_token()  # log in before the clock starts
        rates: dict[str, list[float]] = {"scim": [], "raw": []}
        for rnd in range(args.rounds):
            clock.check("creates")
            order = ("scim", "raw") if rnd % 2 == 0 else ("raw", "scim")
            line = []
            for side in order:
                payloads = [scim_payload(f"{side}-c{workers}-r{rnd}-{i:05d}", i)
                            for i in range(args.creates)]
                if side == "scim":
                    seconds = timed_parallel(scim_clients, payloads,
                                             lambda client, p: client.create(p))
                else:
                    reps = [stored_rep(mapping, p) for p in payloads]  # built untimed
                    seconds = timed_parallel(admins, reps,
                                             lambda admin, rep: admin.create_user(rep))
                rates[side].append(args.creates / seconds)
                line.append(f"{side} {args.creates / seconds:6.1f}/s ({seconds:5.1f}s)")
            say(f"  {workers} client(s) round {rnd + 1}: " + ", ".join(line)
                + f"  ratio {rates['scim'][-1] / rates['raw'][-1]:.3f}")
        scim_median = statistics.median(rates["scim"])
        raw_median = statistics.median(rates["raw"])
        ratio = scim_median / raw_median
        ratios.append((workers, ratio))
        say(f"  {workers} client(s): SCIM median {scim_median:.1f} users/s "
            f"({1000 * workers / scim_median:.1f} ms/create), raw median {raw_median:.1f} "
            f"users/s ({1000 * workers / raw_median:.1f} ms/create) -> ratio "
            f"{ratio:.3f} (target >= 0.9) {'OK' if ratio >= 0.9 else 'BELOW TARGET'}")
        if floor is not None and workers == 1:
            # A bridge that spent no time at all would still pay the hop once per create.
            raw_ms = 1000 / raw_median
            say(f"  ceiling with zero bridge time (raw {raw_ms:.2f} ms + hop floor "
                f"{floor:.2f} ms per create): {raw_ms / (raw_ms + floor):.3f}")
    return ratios


# -- 2. userName eq latency ------------------------------------------------------------------


def seed_rep(i: int) -> dict[str, Any]:
    """A user as the bridge would have stored it (its attribute names and shapes)."""
    name = f"user{i:07d}"
    stamp = now_iso()
    return {
        "username": name, "enabled": True, "firstName": "Seed", "lastName": f"User{i}",
        "email": f"{name}@example.com",
        "attributes": {
            USER_NAME: [name], EXTERNAL_ID: [f"ext-{name}"], EMAILS: [f"{name}@example.com"],
            CORE: ["000:" + json.dumps({"name": {"familyName": f"User{i}", "givenName": "Seed"}},
                                       sort_keys=True, separators=(",", ":"))],
            CREATED: [stamp], LAST_MODIFIED: [stamp],
        },
    }


def seed(gw: AdminGateway, realm: str, start: int, stop: int, batch: int,
         clock: Clock) -> None:
    began = time.perf_counter()
    last = began
    for first in range(start, stop, batch):
        clock.check("seeding")
        users = [seed_rep(i) for i in range(first, min(first + batch, stop))]
        answer = kc_realm.partial_import(gw, realm, {"ifResourceExists": "SKIP",
                                                     "users": users})
        if answer and answer.get("added", len(users)) != len(users):
            raise RuntimeError(f"partialImport added {answer.get('added')} of {len(users)}")
        done = min(first + batch, stop)
        now = time.perf_counter()
        if now - last >= 15 or done == stop:
            rate = (done - start) / (now - began)
            say(f"  seeded {done:>7} users ({rate:5.0f} users/s, {now - began:5.1f}s)")
            last = now


def hop_floor(scim: Scim, samples: int = 200) -> float | None:
    """Median ms of ``GET /healthz`` through the served bridge: one HTTP hop with no SCIM
    and no Keycloak work, the least any request through the bridge costs over a direct
    Keycloak call. None in-process (no hop)."""
    if scim.session is None or scim.base is None:
        return None
    healthz = scim.base.removesuffix("/scim/v2") + "/healthz"
    times = []
    for _ in range(samples):
        began = time.perf_counter()
        scim.session.get(healthz, timeout=10).raise_for_status()
        times.append(time.perf_counter() - began)
    median = 1000 * statistics.median(times)
    say(f"  HTTP hop floor: GET /healthz (no SCIM, no Keycloak) median {median:.2f} ms, "
        f"p95 {1000 * percentile(times, 0.95):.2f} ms")
    return median


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def bench_lookups(args: argparse.Namespace, target: Target, clock: Clock,
                  scim: Scim, realm: str, size: int, rng: random.Random) -> float:
    token = AdminToken(target)
    raw = requests.Session()
    url = f"{target.url}/admin/realms/{realm}/users"
    warmup = min(args.warmup, max(0, size - 2 * args.lookups) // 2)
    names = [f"user{i:07d}" for i in rng.sample(range(size), 2 * args.lookups + 2 * warmup)]
    scim_names = names[:args.lookups]
    raw_names = names[args.lookups:2 * args.lookups]
    warm = names[2 * args.lookups:]

    def scim_once(name: str) -> float:
        began = time.perf_counter()
        body = scim.find(name)
        elapsed = time.perf_counter() - began
        found = body.get("Resources") or []
        if body.get("totalResults") != 1 or found[0].get("userName") != name:
            raise RuntimeError(f"SCIM userName eq {name}: {body}")
        return elapsed

    def raw_once(name: str) -> float:
        headers = {"Authorization": f"Bearer {token.fresh()}"}  # renewed outside the span
        began = time.perf_counter()
        response = raw.get(url, params={"username": name, "exact": "true"}, headers=headers,
                           timeout=60)
        elapsed = time.perf_counter() - began
        response.raise_for_status()
        found = response.json()
        if len(found) != 1 or found[0]["username"] != name:
            raise RuntimeError(f"raw username={name}: {found}")
        return elapsed

    for k, name in enumerate(warm):
        (scim_once if k % 2 == 0 else raw_once)(name)
    times: dict[str, list[float]] = {"scim": [], "raw": []}
    for i in range(args.lookups):
        clock.check("lookups")
        if i % 2 == 0:
            times["scim"].append(scim_once(scim_names[i]))
            times["raw"].append(raw_once(raw_names[i]))
        else:
            times["raw"].append(raw_once(raw_names[i]))
            times["scim"].append(scim_once(scim_names[i]))
    stats = {side: (statistics.median(v) * 1000, percentile(v, 0.95) * 1000,
                    statistics.fmean(v) * 1000) for side, v in times.items()}
    ratio = stats["scim"][0] / stats["raw"][0]
    say(f"  {size:>7} users, {args.lookups} lookups each: "
        f"SCIM median {stats['scim'][0]:.2f} ms p95 {stats['scim'][1]:.2f} ms "
        f"(mean {stats['scim'][2]:.2f}) | raw median {stats['raw'][0]:.2f} ms "
        f"p95 {stats['raw'][1]:.2f} ms (mean {stats['raw'][2]:.2f}) -> ratio of medians "
        f"{ratio:.3f} (p95 {stats['scim'][1] / stats['raw'][1]:.3f}) (target <= 1.2) "
        f"{'OK' if ratio <= 1.2 else 'ABOVE TARGET'}")
    floor = hop_floor(scim)
    if floor is not None:
        say(f"  floor with zero bridge time (raw median {stats['raw'][0]:.2f} ms + hop floor "
            f"{floor:.2f} ms): {(stats['raw'][0] + floor) / stats['raw'][0]:.3f}")
    return ratio


# -- profile ---------------------------------------------------------------------------------


@contextlib.contextmanager
def phase_timers(targets: Sequence[tuple[str, Any, str]]) -> Iterator[dict[str, float]]:
    """Wall seconds spent in each ``(label, owner, attribute)`` function while inside."""
    spent = {label: 0.0 for label, _, _ in targets}
    originals = []
    for label, owner, name in targets:
        raw = vars(owner)[name]
        func = raw.__func__ if isinstance(raw, staticmethod) else raw

        def timed(*args: Any, _func: Any = func, _label: str = label, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return _func(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - began

        setattr(owner, name, staticmethod(timed) if isinstance(raw, staticmethod) else timed)
        originals.append((owner, name, raw))
    try:
        yield spent
    finally:
        for owner, name, raw in reversed(originals):
            setattr(owner, name, raw)


def profile_creates(args: argparse.Namespace, target: Target, realm: str) -> None:
    """Where an in-process SCIM create's time goes: phase timers, then cProfile."""
    from scim import quirks
    from scim.handlers import ScimHandlers

    token = secrets.token_urlsafe(24)
    app = _bridge_app(target, realm, hashlib.sha256(token.encode()).hexdigest())
    scim = Scim(None, token, app)
    for i in range(args.warmup):
        scim.create(scim_payload(f"prof-warm-{i:04d}", i))
    count = args.creates
    say(f"\n== profile: {count} in-process SCIM creates (Flask test client) ==")
    phases = [
        ("Keycloak POST /users (AdminGateway._send, round trip)", AdminGateway, "_send"),
        ("  of which requests' proxy lookup in the environment", requests.Session,
         "merge_environment_settings"),
        ("request: quirks.normalize_resource", quirks, "normalize_resource"),
        ("request: pydantic validation (ScimHandlers._validate)", ScimHandlers, "_validate"),
        ("backend: UserMapping.to_keycloak (model_dump + attributes)", UserMapping,
         "to_keycloak"),
        ("backend: UserMapping.from_keycloak (dict -> model, ETag)", UserMapping,
         "from_keycloak"),
        ("response: ScimHandlers._resource_response (dump)", ScimHandlers,
         "_resource_response"),
    ]
    payloads = [scim_payload(f"prof-t-{i:05d}", i) for i in range(count)]
    with phase_timers(phases) as spent:
        began = time.perf_counter()
        for payload in payloads:
            scim.create(payload)
        wall = time.perf_counter() - began
    accounted = sum(v for label, v in spent.items() if not label.startswith("  "))
    say(f"  phase timers (no profiler), ms per create; total {1000 * wall / count:.2f}:")
    for label, seconds in spent.items():
        say(f"    {1000 * seconds / count:7.2f}  {label}")
    say(f"    {1000 * (wall - accounted) / count:7.2f}  the rest (Flask and werkzeug test "
        "client, auth, JSON, backend glue)")
    say(f"  bridge-side (total - Keycloak round trip): "
        f"{1000 * (wall - spent[phases[0][0]]) / count:.2f} ms per create")

    payloads = [scim_payload(f"prof-p-{i:05d}", i) for i in range(count)]
    profiler = cProfile.Profile()
    profiler.enable()
    for payload in payloads:
        scim.create(payload)
    profiler.disable()
    entries = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    rows = []
    for (path, line, name), (_cc, calls, tottime, cumtime, _callers) in entries.items():
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}({name})" if line else name
        rows.append((cumtime, tottime, calls, where))
    say("  cProfile, top own time (cumulative ms, own ms, calls; per create, "
        "profiler overhead included):")
    for cumtime, tottime, calls, where in sorted(rows, key=lambda r: r[1],
                                                 reverse=True)[:args.profile_top]:
        say(f"    {1000 * cumtime / count:8.2f} {1000 * tottime / count:8.2f} "
            f"{calls / count:7.1f}  {where}")


# -- main ------------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000,
                        help="users seeded for the userName eq lookups (default 100000)")
    parser.add_argument("--creates", type=int, default=300,
                        help="users created per side and round (default 300)")
    parser.add_argument("--lookups", type=int, default=300,
                        help="userName eq lookups per side and size (default 300)")
    parser.add_argument("--rounds", type=int, default=3, help="create rounds (default 3)")
    parser.add_argument("--concurrency", default="1,4",
                        help="concurrent clients for the creates, comma-separated (1,4)")
    parser.add_argument("--batch", type=int, default=1000, help="partialImport batch (1000)")
    parser.add_argument("--warmup", type=int, default=20,
                        help="untimed lookups per side (20)")
    parser.add_argument("--warmup-creates", type=int, default=300,
                        help="untimed creates per side before the rounds (300)")
    parser.add_argument("--transport", choices=("gunicorn", "werkzeug", "test-client"),
                        default="gunicorn",
                        help="gunicorn (gthread, 1 worker) or werkzeug's threaded server in a "
                             "child process on 127.0.0.1, or the in-process Flask test "
                             "client (no HTTP); default gunicorn, as the Dockerfile serves it")
    parser.add_argument("--bridge-workers", type=int, default=1,
                        help="gunicorn worker processes serving the bridge (default 1)")
    parser.add_argument("--bridge-threads", type=int, default=8,
                        help="gthread threads per gunicorn worker (default 8)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile --creates in-process SCIM creates")
    parser.add_argument("--profile-top", type=int, default=25, help=argparse.SUPPRESS)
    parser.add_argument("--skip-creates", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--skip-lookups", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true",
                        help="fast check: 10000 users, 100 creates and lookups")
    parser.add_argument("--max-minutes", type=float, default=90,
                        help="stop (and clean up) after this long (default 90)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the lookups")
    args = parser.parse_args(argv)
    if args.quick:
        args.users, args.creates, args.lookups = 10_000, 100, 100
        args.warmup_creates = min(args.warmup_creates, 100)
    args.concurrency = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    for name in ("users", "creates", "lookups", "rounds", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.users < 2 * args.lookups:
        parser.error("--users must be at least twice --lookups")
    if not args.concurrency or min(args.concurrency) < 1 or max(args.concurrency) > 16:
        parser.error("--concurrency takes numbers from 1 to 16")
    args.batch = min(args.batch, 5000)
    args.transport_label = {
        "gunicorn": f"HTTP (gunicorn gthread, {args.bridge_workers} worker(s) x "
                    f"{args.bridge_threads} threads, child process, 127.0.0.1)",
        "werkzeug": "HTTP (werkzeug threaded server, child process, 127.0.0.1)",
        "test-client": "the in-process Flask test client (no HTTP)"}[args.transport]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    clock = Clock(args.max_minutes)
    began = time.perf_counter()
    say(f"scim_ratios: users={args.users} creates={args.creates} lookups={args.lookups} "
        f"rounds={args.rounds} concurrency={args.concurrency} transport={args.transport} "
        f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f})")
    create_ratios: list[tuple[int, float]] = []
    lookup_ratios: list[tuple[int, float]] = []
    with keycloak_target() as target:
        admin = AdminGateway.with_password(target.url, target.username, target.password,
                                           timeout=900)
        tag = uuid.uuid4().hex[:8]
        realms: list[str] = []
        try:
            if not args.skip_creates:
                realm = f"bench-ratios-create-{tag}"
                setup_realm(admin, realm)
                realms.append(realm)
                with bridge(target, realm, args.transport, args.max_minutes * 60,
                            args.bridge_workers, args.bridge_threads) as make:
                    create_ratios = bench_creates(args, target, clock, make, realm)
                if args.profile:
                    profile_creates(args, target, realm)
            if not args.skip_lookups:
                realm = f"bench-ratios-lookup-{tag}"
                setup_realm(admin, realm)
                realms.append(realm)
                sizes = sorted({max(2 * args.lookups, args.users // 10), args.users})
                say(f"\n== 2. userName eq latency at {', '.join(map(str, sizes))} users, "
                    f"SCIM over {args.transport_label} ==")
                rng = random.Random(args.seed)
                seeded = 0
                with bridge(target, realm, args.transport, args.max_minutes * 60,
                            args.bridge_workers, args.bridge_threads) as make:
                    scim = make()
                    for size in sizes:
                        say(f"  seeding {seeded} -> {size} users with partialImport "
                            f"(batches of {args.batch})")
                        seed(admin, realm, seeded, size, args.batch, clock)
                        seeded = size
                        lookup_ratios.append(
                            (size, bench_lookups(args, target, clock, scim, realm, size, rng)))
        finally:
            for realm in realms:
                started = time.perf_counter()
                try:
                    kc_realm.delete(admin, realm)
                    say(f"deleted realm {realm} in {time.perf_counter() - started:.1f}s")
                except Exception as exc:
                    say(f"could not delete realm {realm}: {exc}")
    say("\n== summary (one run, same Keycloak) ==")
    for workers, ratio in create_ratios:
        say(f"  create throughput SCIM/raw, {workers} client(s): {ratio:.3f} "
            f"(target >= 0.9) {'OK' if ratio >= 0.9 else 'BELOW TARGET'}")
    for size, ratio in lookup_ratios:
        say(f"  userName eq latency SCIM/raw at {size} users (medians): {ratio:.3f} "
            f"(target <= 1.2) {'OK' if ratio <= 1.2 else 'ABOVE TARGET'}")
    say(f"  total run time {time.perf_counter() - began:.0f}s, load average now "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min)")
    missed = [r for _, r in create_ratios if r < 0.9] + [r for _, r in lookup_ratios
                                                        if r > 1.2]
    return 1 if missed else 0


if __name__ == "__main__":
    if sys.argv[1:] == [SERVE_FLAG]:
        sys.exit(serve_bridge())
    try:
        sys.exit(main())
    except OutOfTime as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        sys.exit(3)
