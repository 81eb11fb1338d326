"""Where the bridge's own time goes on one SCIM create and one ``userName eq`` lookup,
its CPU per operation and its RSS over repeated creates.

    KEYCLOAK_URL=http://127.0.0.1:8080 KEYCLOAK_ADMIN_USERNAME=admin \\
    KEYCLOAK_ADMIN_PASSWORD=... python bench/scim_profile.py [--requests 200] [--out DIR]
        [--keycloak-pid PID] [--leak-rounds 2 --leak-creates 2000]

The real app (``bridge.app.create_app``, static-token authentication, the Keycloak
backend) served by the production server's own gunicorn configuration
(:func:`bridge.server.configuration`: gthread, JSON logging, multi-process metrics) in a
child process on 127.0.0.1. After an untimed warm-up, ``--requests`` creates and as many
lookups (at ``--users`` users, seeded with partialImport) are each profiled inside the
worker with pyinstrument (one session per request, combined per operation); the text of
each profile is printed and written to ``--out`` (``create.txt``, ``lookup.txt``; every
frame in ``create-all.txt``, ``lookup-all.txt``).
Unprofiled, the worker's CPU per create and per lookup is read from ``/proc`` (and
Keycloak's, with ``--keycloak-pid``, its java process), then (before any profiled request,
whose samples the worker keeps) ``--leak-rounds`` rounds of ``--leak-creates`` creates print
the worker's RSS after each round.
Needs pyinstrument (``pip install pyinstrument``). The realm is deleted at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import requests
from scim_calls import setup_realm  # this folder: run as bench/scim_profile.py
from scim_ratios import Clock, keycloak_target, scim_payload, seed

from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway
from bridge.local.keycloak import free_port

SERVE_FLAG = "--serve-profiled"
PROFILE_HEADER = "X-Bench-Profile"  # create | lookup: the request is profiled under that name


class ProfiledApp:
    """WSGI middleware: requests carrying :data:`PROFILE_HEADER` run under pyinstrument;
    ``POST /_bench/dump`` writes each name's combined profile to the output directory."""

    def __init__(self, app: Any, out: Path, interval: float) -> None:
        self.app, self.out, self.interval = app, out, interval
        self.sessions: dict[str, Any] = {}
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from pyinstrument import Profiler
        from pyinstrument.session import Session

        if environ.get("PATH_INFO") == "/_bench/dump":
            with self.lock:
                for name, session in self.sessions.items():
                    profiler = Profiler(interval=self.interval)
                    profiler._last_session = session
                    for suffix, show_all in (("", False), ("-all", True)):
                        text = profiler.output_text(unicode=True, show_all=show_all)
                        (self.out / f"{name}{suffix}.txt").write_text(text)
            start_response("204 No Content", [])
            return [b""]
        name = environ.get("HTTP_" + PROFILE_HEADER.upper().replace("-", "_"))
        if not name:
            return self.app(environ, start_response)
        profiler = Profiler(interval=self.interval, async_mode="disabled")
        profiler.start()
        try:
            body = b"".join(self.app(environ, start_response))
        finally:
            session = profiler.stop()
            with self.lock:
                previous = self.sessions.get(name)
                self.sessions[name] = (session if previous is None
                                       else Session.combine(previous, session))
        return [body]


def serve_profiled() -> int:
    """Child: the production server's gunicorn, serving the profiled app."""
    from bridge import server
    from bridge.app import create_app
    from bridge.config import Settings

    url = os.environ["BENCH_KC_URL"]
    settings = Settings(keycloak_url=url, realm=os.environ["BENCH_REALM"], client_id="bridge",
                        client_secret="unused: the gateway is injected",
                        scim_static_tokens=f"bench={os.environ['BENCH_TOKEN_SHA256']}")
    gateway = AdminGateway.with_password(url, os.environ["BENCH_KC_USERNAME"],
                                         os.environ["BENCH_KC_PASSWORD"])
    app = create_app(settings, gateway=gateway)
    app.wsgi_app = ProfiledApp(app.wsgi_app, Path(os.environ["BENCH_OUT"]),
                               float(os.environ["BENCH_INTERVAL"]))
    gunicorn = server._Gunicorn({"bind": f"127.0.0.1:{os.environ['BENCH_PORT']}",
                                 "loglevel": "warning"})
    server._metrics_directory()
    gunicorn.app = app
    try:
        gunicorn.run()
    finally:
        server._server_exited(None)
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (its threads included), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def worker_pid(master: int, wait: float = 30) -> int:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.2)
    raise SystemExit("gunicorn started no worker")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200,
                        help="profiled creates, and as many lookups (default 200)")
    parser.add_argument("--measured", type=int, default=500,
                        help="unprofiled creates, and as many lookups, whose CPU is read (500)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed creates (200)")
    parser.add_argument("--users", type=int, default=10_000,
                        help="users seeded before the lookups (default 10000)")
    parser.add_argument("--leak-rounds", type=int, default=0,
                        help="rounds of --leak-creates creates, RSS after each (default 0)")
    parser.add_argument("--leak-creates", type=int, default=2000)
    parser.add_argument("--keycloak-pid", type=int, default=None,
                        help="Keycloak's java process, to read its CPU over the same spans")
    parser.add_argument("--interval", type=float, default=0.0001,
                        help="pyinstrument sampling interval, seconds (0.0001)")
    parser.add_argument("--out", default="bench-profile", help="output directory")
    args = parser.parse_args(argv)
    for name in ("requests", "measured", "warmup", "users", "leak_creates"):
        if not 0 < getattr(args, name) <= 100_000:
            parser.error(f"--{name.replace('_', '-')} takes 1 to 100000")
    if not 0 <= args.leak_rounds <= 5:
        parser.error("--leak-rounds takes 0 to 5")
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with keycloak_target() as target:
        admin = AdminGateway.with_password(target.url, target.username, target.password,
                                           timeout=900)
        realm = f"bench-profile-{uuid.uuid4().hex[:8]}"
        setup_realm(admin, realm)
        token = secrets.token_urlsafe(24)
        port = free_port()
        env = {**os.environ, "BENCH_KC_URL": target.url, "BENCH_KC_USERNAME": target.username,
               "BENCH_KC_PASSWORD": target.password, "BENCH_REALM": realm,
               "BENCH_TOKEN_SHA256": hashlib.sha256(token.encode()).hexdigest(),
               "BENCH_OUT": str(out), "BENCH_INTERVAL": str(args.interval),
               "BENCH_PORT": str(port)}
        child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), SERVE_FLAG],
                                 env=env, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    requests.get(f"{base}/healthz", timeout=2)
                    break
                except requests.RequestException:
                    if time.monotonic() > deadline or child.poll() is not None:
                        raise SystemExit("the profiled bridge did not start") from None
                    time.sleep(0.2)
            worker = worker_pid(child.pid)
            session = requests.Session()
            headers = {"Authorization": f"Bearer {token}",
                       "Content-Type": "application/scim+json"}

            def create(name: str, n: int, profile: str | None = None) -> None:
                extra = {PROFILE_HEADER: profile} if profile else {}
                answer = session.post(f"{base}/scim/v2/Users", data=json.dumps(
                    scim_payload(name, n)), headers={**headers, **extra}, timeout=60)
                if answer.status_code != 201:
                    raise SystemExit(f"create {name}: {answer.status_code} {answer.text}")

            def lookup(name: str, profile: str | None = None) -> None:
                extra = {PROFILE_HEADER: profile} if profile else {}
                answer = session.get(f"{base}/scim/v2/Users", params={
                    "filter": f'userName eq "{name}"'}, headers={**headers, **extra},
                    timeout=60)
                if answer.status_code != 200 or answer.json()["totalResults"] != 1:
                    raise SystemExit(f"lookup {name}: {answer.status_code} {answer.text}")

            def measured(what: str, count: int, act: Any) -> None:
                kc_before = cpu_seconds(args.keycloak_pid) if args.keycloak_pid else None
                before, began = cpu_seconds(worker), time.perf_counter()
                for i in range(count):
                    act(i)
                wall, spent = time.perf_counter() - began, cpu_seconds(worker) - before
                line = (f"{what}: {count} unprofiled, {1000 * wall / count:.2f} ms wall and "
                        f"{1000 * spent / count:.3f} ms bridge worker CPU each")
                if kc_before is not None:
                    kc = cpu_seconds(args.keycloak_pid) - kc_before
                    line += (f"; Keycloak CPU {1000 * kc / count:.3f} ms each, bridge/Keycloak "
                             f"CPU {100 * spent / kc if kc else float('nan'):.1f}%")
                print(line, flush=True)

            print(f"worker {worker}: RSS {rss_mb(worker):.1f} MB at start", flush=True)
            for i in range(args.warmup):
                create(f"warm-{i:05d}", i)
            measured("create", args.measured, lambda i: create(f"cpu-{i:05d}", i))
            if args.leak_rounds:  # before any profiled request: its samples stay in memory
                start_rss = rss_mb(worker)
                print(f"worker RSS before the leak rounds: {start_rss:.1f} MB", flush=True)
                for rnd in range(args.leak_rounds):
                    measured(f"leak round {rnd + 1}", args.leak_creates,
                             lambda i, r=rnd: create(f"leak{r}-{i:06d}", i))
                    print(f"  worker RSS after round {rnd + 1}: {rss_mb(worker):.1f} MB "
                          f"({rss_mb(worker) - start_rss:+.1f} MB)", flush=True)
            for i in range(args.requests):
                create(f"prof-{i:05d}", i, "create")
            seed(admin, realm, 0, args.users, 1000, Clock(30))
            for i in range(args.warmup // 2):
                lookup(f"user{i:07d}")
            measured("lookup", args.measured,
                     lambda i: lookup(f"user{(i * 7919 + 11) % args.users:07d}"))
            for i in range(args.requests):
                lookup(f"user{(i * 37 + 5000) % args.users:07d}", "lookup")
            session.post(f"{base}/_bench/dump", timeout=60)
            for name in ("create", "lookup"):
                print(f"== {name}: {args.requests} profiled requests combined ==")
                print((out / f"{name}.txt").read_text())
        finally:
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(30)
            kc_realm.delete(admin, realm)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == [SERVE_FLAG]:
        sys.exit(serve_profiled())
    sys.exit(main())
