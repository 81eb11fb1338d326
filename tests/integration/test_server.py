"""``bridge serve`` is the production server (gunicorn), as the image, ``./dev up`` and the
cluster's replicas run it: no development server, requests in flight complete on SIGTERM,
settings and the realm are checked before it serves, and ``/metrics`` counts every worker.

Keycloak is a stub on loopback here (tests/support/keycloak_stub.py): what is under test is
the bridge's process. The same server on the real Keycloak: tests/integration/test_metrics.py.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bridge.local.keycloak import free_port
from bridge.local.postgres import LocalPostgres
from tests.support.keycloak_stub import USER_ID, KeycloakStub
from tests.support.metrics import samples
from tests.support.serve import serving

STATIC_TOKEN = "stub-static-token"
DIGEST = hashlib.sha256(STATIC_TOKEN.encode()).hexdigest()
FIGURES: dict[str, str] = {}


def _env(stub: KeycloakStub, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRIDGE_", "KEYCLOAK_", "GUNICORN_", "PROMETHEUS_"))}
    return {**env, "KEYCLOAK_URL": stub.url, "BRIDGE_REALM": stub.realm,
            "BRIDGE_CLIENT_SECRET": stub.client_secret,
            "BRIDGE_SCIM_STATIC_TOKENS": f"hr={DIGEST}", **extra}


def _exit_of(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``bridge serve`` expected to stop before serving (bounded: 30 s)."""
    return subprocess.run([sys.executable, "-m", "bridge", "serve", "--port",
                           str(free_port()), *args], env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def test_serve_runs_gunicorn_not_the_development_server(tmp_path: Path) -> None:
    with KeycloakStub().running() as stub, serving(_env(stub), tmp_path / "log") as (url, _):
        assert requests.get(f"{url}/healthz", timeout=5).json() == {"status": "ok"}
    text = (tmp_path / "log").read_text()
    assert "development server" not in text
    assert "gunicorn" in text.lower() and "gthread" in text, text


def test_sigterm_lets_the_request_in_flight_complete(tmp_path: Path) -> None:
    delay = 3.0
    with KeycloakStub(user_delay=delay).running() as stub, \
            serving(_env(stub), tmp_path / "log") as (url, process):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            started = time.monotonic()
            slow = pool.submit(requests.get, f"{url}/scim/v2/Users/{USER_ID}", timeout=30,
                               headers={"Authorization": f"Bearer {STATIC_TOKEN}"})
            # The request is at the (slow) Keycloak when the signal comes.
            deadline = time.monotonic() + 10
            while f"GET /admin/realms/{stub.realm}/users/{USER_ID}" not in stub.requests:
                assert time.monotonic() < deadline, stub.requests
                time.sleep(0.05)
            signalled = time.monotonic() - started
            os.kill(process.pid, signal.SIGTERM)
            response = slow.result(timeout=30)
            answered = time.monotonic() - started
        code = process.wait(timeout=30)
        exited = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["id"] == USER_ID
    assert response.json()["userName"] == "slow.user"
    assert answered >= signalled  # it was in flight when SIGTERM arrived
    assert code == 0, (tmp_path / "log").read_text()
    FIGURES["graceful"] = (f"SIGTERM at {signalled:.2f} s, response complete at "
                           f"{answered:.2f} s, exit at {exited:.2f} s")
    print(FIGURES["graceful"])


def _lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_the_production_server_writes_no_access_line_unless_asked(tmp_path: Path) -> None:
    """gunicorn takes any ``logconfig_dict`` (the server's JSON logging) as a request for
    its access log: by default one line per request, and a balancer's probes at INFO. The
    server writes access lines only when an access log is asked for (``--access-logfile``,
    as the cluster harness does), and then as JSON lines."""
    with KeycloakStub().running() as stub:
        for name, args in (("default", ""), ("asked", "--access-logfile -")):
            log = tmp_path / f"{name}.log"
            with serving(_env(stub, GUNICORN_CMD_ARGS=args), log) as (url, process):
                for _ in range(3):
                    assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
                assert requests.get(f"{url}/scim/v2/Users/{USER_ID}", timeout=5, headers={
                    "Authorization": f"Bearer {STATIC_TOKEN}"}).status_code == 200
                os.kill(process.pid, signal.SIGTERM)
                assert process.wait(timeout=30) == 0
            access = [line for line in _lines(log) if line["logger"] == "gunicorn.access"]
            requested = [line for line in _lines(log) if line["logger"] == "bridge.request"]
            # The request line is there either way: INFO for the SCIM read, the probes at
            # DEBUG (below the default level).
            assert [(r["method"], r["route"], r["status"]) for r in requested] == [
                ("GET", "/scim/v2/Users/<resource_id>", 200)], requested
            if name == "default":
                assert access == [], access
            else:
                assert len(access) >= 4, access
                assert any(f"GET /scim/v2/Users/{USER_ID} HTTP/1.1\" 200" in str(a["message"])
                           for a in access), access


def test_a_new_connection_after_sigterm_is_not_served(tmp_path: Path) -> None:
    with KeycloakStub().running() as stub, \
            serving(_env(stub), tmp_path / "log") as (url, process):
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/healthz", timeout=2)


@pytest.mark.parametrize(("name", "value", "said"), [
    ("BRIDGE_SCIM_STATIC_TOKENS", "hr=not-a-digest",
     "BRIDGE_SCIM_STATIC_TOKENS entry 'hr' is not name=<sha256 hex>[@tenant]"),
    ("BRIDGE_LOCK_TIMEOUT", "soon", "BRIDGE_LOCK_TIMEOUT must be a positive number"),
    ("BRIDGE_LOCK_URL", "mysql://db/locks", "BRIDGE_LOCK_URL must be a postgresql:// URL"),
])
def test_a_malformed_setting_stops_start_in_one_line(tmp_path: Path, name: str, value: str,
                                                    said: str) -> None:
    with KeycloakStub().running() as stub:
        result = _exit_of(_env(stub, **{name: value}))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {said}"), lines


def test_a_wrong_realm_stops_start_in_one_line(tmp_path: Path) -> None:
    with KeycloakStub().running() as stub:
        result = _exit_of(_env(stub, BRIDGE_REALM="acess"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: realm 'acess' not found at {stub.url} (BRIDGE_REALM)"], lines


def test_a_refused_service_account_stops_start_in_one_line(tmp_path: Path) -> None:
    with KeycloakStub().running() as stub:
        result = _exit_of(_env(stub, BRIDGE_CLIENT_SECRET="wrong-secret"))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "wrong-secret" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: Keycloak refused the service-account login of "
                               "client 'bridge' in realm 'access'"), lines


def test_several_workers_need_the_shared_lock_backend(tmp_path: Path) -> None:
    with KeycloakStub().running() as stub:
        result = _exit_of(_env(stub), "--workers", "2")
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        "error: 2 workers are 2 processes: set BRIDGE_LOCK_URL (the lock backend they "
        "share), or serve with one worker"], result.stderr


def _workers(log: Path) -> set[int]:
    """The pids of the workers gunicorn said it booted (its lines are JSON, or text)."""
    return {int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log.read_text())}


def _sample_files(pid: int) -> set[Path]:
    """The metric sample files a worker has mapped (prometheus_client mmaps them)."""
    return {Path(line.split()[-1]) for line in Path(f"/proc/{pid}/maps").read_text()
            .splitlines() if line.endswith(".db")}


def test_metrics_count_every_worker_and_only_this_replica(
        tmp_path: Path, lock_server: LocalPostgres) -> None:
    """Two workers answer: /metrics (served by either) counts the requests of both; a second
    replica on the same machine counts only its own; each server's directory of samples is
    its own and is removed when it stops."""
    healthz = ("bridge_http_requests_total",
               (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    with KeycloakStub().running() as stub:
        env = _env(stub, BRIDGE_LOCK_URL=lock_server.dsn)
        with serving(env, tmp_path / "a.log", "--workers", "2") as (a, server_a), \
                serving(env, tmp_path / "b.log") as (b, server_b):
            before_a = samples(requests.get(f"{a}/metrics", timeout=5).text).get(healthz, 0)
            before_b = samples(requests.get(f"{b}/metrics", timeout=5).text).get(healthz, 0)
            sent = 60
            for _ in range(sent):
                # A new connection each time: the kernel spreads them over both workers.
                assert requests.get(f"{a}/healthz", timeout=5,
                                    headers={"Connection": "close"}).status_code == 200
            for _ in range(4):  # whichever worker serves the scrape sees the same counts
                scraped = samples(requests.get(f"{a}/metrics", timeout=5,
                                               headers={"Connection": "close"}).text)
                assert scraped[healthz] - before_a == sent
            assert samples(requests.get(f"{b}/metrics", timeout=5).text).get(
                healthz, 0) == before_b
            workers = _workers(tmp_path / "a.log")
            assert len(workers) == 2, workers
            # Both workers counted requests, each in its own file, in one directory per server.
            files = {pid: _sample_files(pid) for pid in workers}
            assert all(f"counter_{pid}.db" in {f.name for f in files[pid]} for pid in workers)
            (dir_a,) = {f.parent for pid in workers for f in files[pid]}
            (dir_b,) = {f.parent for pid in _workers(tmp_path / "b.log")
                        for f in _sample_files(pid)}
            assert dir_a != dir_b
            for server in (server_a, server_b):
                os.kill(server.pid, signal.SIGTERM)
                assert server.wait(timeout=30) == 0
    assert not dir_a.exists() and not dir_b.exists()


def test_a_worker_that_exits_leaves_its_counts_and_drops_its_live_gauges(
        tmp_path: Path) -> None:
    """gunicorn replaces a worker after --max-requests: the requests it counted stay in the
    totals, its in-flight gauge file is removed (prometheus_client's mark_process_dead)."""
    healthz = ("bridge_http_requests_total",
               (("method", "GET"), ("route", "/healthz"), ("status", "200")))
    with KeycloakStub().running() as stub, serving(
            _env(stub, GUNICORN_CMD_ARGS="--max-requests 10"), tmp_path / "log") as (url, _):
        first = _workers(tmp_path / "log")
        (directory,) = {f.parent for pid in first for f in _sample_files(pid)} or {None}
        before = samples(requests.get(f"{url}/metrics", timeout=5).text).get(healthz, 0)
        sent = 25
        for _ in range(sent):
            assert requests.get(f"{url}/healthz", timeout=5,
                                headers={"Connection": "close"}).status_code == 200
        deadline = time.monotonic() + 10
        while len(_workers(tmp_path / "log")) < 3:  # two replaced, a third one serving
            assert time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.1)
        assert samples(requests.get(f"{url}/metrics", timeout=5).text)[healthz] - before \
            == sent
        live = {f.name for f in directory.glob("gauge_livesum_*.db")}
        gone = _workers(tmp_path / "log") - {int(f.split("_")[-1][:-3]) for f in live}
        assert len(gone) >= 2, live
        assert {f.name for f in directory.glob("counter_*.db")} >= {
            f"counter_{pid}.db" for pid in gone}
