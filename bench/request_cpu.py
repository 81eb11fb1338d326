"""The bridge worker's CPU per request outside the SCIM handler: ``GET /healthz`` (the
request pipeline alone: gunicorn, Flask, the request id, the request line, the metrics) and
SCIM ``POST /Users`` (the same plus the handler and its one admin call).

    KEYCLOAK_URL=http://127.0.0.1:8080 KEYCLOAK_ADMIN_USERNAME=admin \\
    KEYCLOAK_ADMIN_PASSWORD=... python bench/request_cpu.py [--healthz 2000] [--creates 1000]
        [--rounds 3] [--py-spy DIR]

``bridge serve`` (gunicorn, production defaults: :data:`bridge.server.DEFAULTS`) on
127.0.0.1, against a throw-away realm set up as ``bench/peer.py`` sets it up (realm-config
and the accounting-portal catalog, a static SCIM token). One client on one keep-alive
connection; after a warm-up, each round reads the worker's user+system CPU from ``/proc``
around ``--healthz`` probes, then around ``--creates`` creates, and prints the CPU per
request (the median round is the figure; wall time is printed too, but the machine is
shared: CPU is what this measures). ``--py-spy DIR`` records the worker (``py-spy record
--gil``, raw stacks) over one extra round of each, into ``DIR/healthz.raw`` and
``DIR/create.raw``. The realm is deleted and the server stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests
from peer import bridge_server, prepare_realm, realm_env  # this folder: bench/request_cpu.py
from scim_profile import cpu_seconds, worker_pid
from scim_ratios import keycloak_target, scim_payload

from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway


def measure(worker: int, count: int, act: Callable[[int], None]) -> tuple[float, float]:
    """(CPU ms, wall ms) per call of ``act`` over ``count`` calls."""
    before, began = cpu_seconds(worker), time.perf_counter()
    for i in range(count):
        act(i)
    wall = time.perf_counter() - began
    return 1000 * (cpu_seconds(worker) - before) / count, 1000 * wall / count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--healthz", type=int, default=2000, help="probes a round (2000)")
    parser.add_argument("--creates", type=int, default=1000, help="creates a round (1000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed of each (100)")
    parser.add_argument("--py-spy", dest="py_spy", default=None,
                        help="directory for py-spy --gil raw profiles of one extra round")
    args = parser.parse_args(argv)
    for name in ("healthz", "creates", "warmup"):
        if not 0 < getattr(args, name) <= 20_000:
            parser.error(f"--{name} takes 1 to 20000")
    if not 1 <= args.rounds <= 9:
        parser.error("--rounds takes 1 to 9")
    state = Path(tempfile.mkdtemp(prefix="bench-request-cpu-"))
    try:
        with keycloak_target() as target:
            realm = f"bench-cpu-{uuid.uuid4().hex[:8]}"
            env = realm_env(realm)
            admin = AdminGateway.with_password(target.url, target.username, target.password,
                                               timeout=300)
            try:
                prepare_realm(target, realm, env)
                token = secrets.token_urlsafe(32)
                with bridge_server(target, realm, env, token, state) as (url, pid):
                    run_rounds(args, url, worker_pid(pid), token)
            finally:
                kc_realm.delete(admin, realm)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return 0


def run_rounds(args: argparse.Namespace, url: str, worker: int, token: str) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    tag = uuid.uuid4().hex[:6]
    made = iter(range(10**9))

    def healthz(_i: int) -> None:
        answer = session.get(f"{url}/healthz", timeout=30)
        if answer.status_code != 200:
            raise SystemExit(f"/healthz: {answer.status_code} {answer.text}")

    def create(_i: int) -> None:
        n = next(made)
        answer = session.post(f"{url}/scim/v2/Users", headers=headers, timeout=60,
                              data=json.dumps(scim_payload(f"cpu-{tag}-{n:06d}", n)))
        if answer.status_code != 201:
            raise SystemExit(f"create: {answer.status_code} {answer.text}")

    for i in range(args.warmup):
        healthz(i)
        create(i)
    figures: dict[str, list[tuple[float, float]]] = {"healthz": [], "create": []}
    for rnd in range(args.rounds):
        for name, count, act in (("healthz", args.healthz, healthz),
                                 ("create", args.creates, create)):
            cpu, wall = measure(worker, count, act)
            figures[name].append((cpu, wall))
            print(f"round {rnd + 1} {name}: {count} requests, {cpu:.3f} ms worker CPU "
                  f"each ({wall:.2f} ms wall)", flush=True)
    for name, rounds in figures.items():
        cpus = sorted(cpu for cpu, _wall in rounds)
        print(f"{name}: median {statistics.median(cpus):.3f} ms worker CPU per request "
              f"(rounds: {', '.join(f'{c:.3f}' for c in cpus)})", flush=True)
    if args.py_spy:
        out = Path(args.py_spy)
        out.mkdir(parents=True, exist_ok=True)
        for name, count, act in (("healthz", args.healthz, healthz),
                                 ("create", args.creates, create)):
            spy = subprocess.Popen(["py-spy", "record", "-p", str(worker), "--gil", "-r",
                                    "400", "-f", "raw", "-o", str(out / f"{name}.raw")],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            measure(worker, count, act)
            spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
            spy.wait(60)
            print(f"py-spy {name}: {out / f'{name}.raw'}", flush=True)


if __name__ == "__main__":
    if not shutil.which("py-spy") and "--py-spy" in sys.argv:
        raise SystemExit("--py-spy needs py-spy (pip install py-spy)")
    sys.exit(main())
