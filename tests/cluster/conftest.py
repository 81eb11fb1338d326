"""The production shape, on loopback: PostgreSQL, two clustered Keycloak nodes in production
mode, the realm applied with ``bridge realm apply``, two bridge replicas under gunicorn
(replica ``a`` on node 1, ``b`` on node 2) and nginx sharing requests between them.

The suite always starts its own cluster (never the shared ``KEYCLOAK_URL``): what is under
test is the cluster itself. Everything is stopped at the end of the session, and each step
is bounded in time.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.keycloak.client import AdminGateway
from bridge.local.balancer import UPSTREAM_HEADER, RoundRobinBalancer
from bridge.local.keycloak import (
    ClusterNode,
    DatabaseLogin,
    MissingPiece,
    ensure_production_distribution,
    free_jgroups_port,
    free_port,
)
from bridge.local.postgres import LocalPostgres
from bridge.local.replica import BridgeReplica
from tests.support.progress import terminal_progress

ROOT = Path(__file__).resolve().parents[2]
REALM_CONFIG = ROOT / "realm-config"
REALM = "access"
SCIM_CONTENT = "application/scim+json"

# Figures reported at the end of the session (requests sent, outcomes...).
FIGURES: dict[str, Any] = {}


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("cluster figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")


class TokenSource:
    """Client-credentials tokens of the realm's HR system client, from one node."""

    def __init__(self, node_url: str, secret: str) -> None:
        self.url = f"{node_url}/realms/{REALM}/protocol/openid-connect/token"
        self.secret = secret
        self._token: str | None = None
        self._at = 0.0
        self._lock = threading.Lock()

    def fresh(self) -> str:
        response = requests.post(self.url, data={
            "grant_type": "client_credentials", "client_id": "hr-system",
            "client_secret": self.secret}, timeout=30)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def forget(self) -> None:
        """Drop the cached token (its signing key was removed from the realm)."""
        with self._lock:
            self._token = None

    def token(self) -> str:
        # Tokens live 300 s (realm-config); take a new one well before.
        with self._lock:
            if self._token is None or time.monotonic() - self._at > 120:
                self._token = self.fresh()
                self._at = time.monotonic()
            return self._token


class StaticToken(TokenSource):
    """A static SCIM bearer token (``BRIDGE_SCIM_STATIC_TOKENS`` holds its digest)."""

    def __init__(self, token: str) -> None:
        self.value = token

    def token(self) -> str:
        return self.value

    def fresh(self) -> str:
        return self.value

    def forget(self) -> None:
        pass


class ScimHttp:
    """A SCIM client over HTTP to a replica or the balancer; counts what it sends."""

    sent: Counter[str] = Counter()
    _count_lock = threading.Lock()

    def __init__(self, base_url: str, tokens: TokenSource, name: str) -> None:
        self.base = f"{base_url}/scim/v2"
        self.tokens = tokens
        self.name = name
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             timeout: float = 60, **headers: str) -> requests.Response:
        with ScimHttp._count_lock:
            ScimHttp.sent[self.name] += 1
        all_headers = {"Authorization": f"Bearer {token or self.tokens.token()}",
                       "Accept": SCIM_CONTENT, **headers}
        if body is not None:
            all_headers["Content-Type"] = SCIM_CONTENT
        # A session per thread is not needed: requests' Session is used read-only here,
        # and urllib3's pool is thread-safe.
        return self.session.request(method, self.base + path, json=body,
                                    headers=all_headers, timeout=timeout)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any, **kw: Any) -> requests.Response:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, operations: list[dict[str, Any]], **kw: Any
              ) -> requests.Response:
        return self.call("PATCH", path, {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations}, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.call("DELETE", path, **kw)


@dataclass
class Cluster:
    postgres: LocalPostgres
    nodes: list[ClusterNode]
    replicas: list[BridgeReplica]
    balancer: RoundRobinBalancer
    admin_username: str
    admin_password: str
    secrets: dict[str, str]
    work_dir: Path
    started_in: float = 0.0
    tokens: list[TokenSource] = field(default_factory=list)

    def admin(self, node: int = 0) -> AdminGateway:
        return AdminGateway.with_password(self.nodes[node].url, self.admin_username,
                                          self.admin_password)

    def scim(self, replica: int, tokens_of_node: int | None = None) -> ScimHttp:
        """A client of replica ``replica`` (0 = a, 1 = b), tokens from its own node."""
        node = replica if tokens_of_node is None else tokens_of_node
        return ScimHttp(self.replicas[replica].url, self.tokens[node],
                        self.replicas[replica].name)

    def through_balancer(self, *, static: bool = False) -> ScimHttp:
        tokens = StaticToken(self.secrets[STATIC_TOKEN]) if static else self.tokens[0]
        return ScimHttp(self.balancer.url, tokens, "balancer")

    def cli_env(self) -> dict[str, str]:
        realm_secrets = {k: v for k, v in self.secrets.items() if k != STATIC_TOKEN}
        return {**os.environ, **realm_secrets, "KEYCLOAK_URL": self.nodes[0].url,
                "KEYCLOAK_ADMIN_USERNAME": self.admin_username,
                "KEYCLOAK_ADMIN_PASSWORD": self.admin_password, "BRIDGE_REALM": REALM}

    def realm_apply(self) -> subprocess.CompletedProcess[str]:
        """``bridge realm apply realm-config``, as an operator runs it."""
        return subprocess.run(
            [sys.executable, "-m", "bridge", "realm", "apply", str(REALM_CONFIG)],
            env=self.cli_env(), capture_output=True, text=True, timeout=300, check=False)

    def upstream_of(self, response: requests.Response) -> str:
        return response.headers.get(UPSTREAM_HEADER, "")


STATIC_TOKEN = "static SCIM token"


def realm_secrets() -> dict[str, str]:
    return {
        STATIC_TOKEN: secrets.token_urlsafe(32),
        "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(24),
        "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(24),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(free_port()),  # nothing listens: this suite sends no mail
        "SMTP_FROM": "no-reply@bridge.test",
        "PORTAL_URL": "http://127.0.0.1:3000",
    }


def replica_env(cluster_secrets: dict[str, str], node: ClusterNode, nodes: list[ClusterNode],
                postgres: LocalPostgres) -> dict[str, str]:
    """What one replica is given: its own node, and what every replica shares."""
    issuers = ",".join(f"{n.url}/realms/{REALM}" for n in nodes)
    return {
        "KEYCLOAK_URL": node.url,
        "BRIDGE_REALM": REALM,
        "BRIDGE_CLIENT_ID": "bridge",
        "BRIDGE_CLIENT_SECRET": cluster_secrets["BRIDGE_CLIENT_SECRET"],
        "BRIDGE_SCIM_STATIC_TOKENS": "balancer-client=" + hashlib.sha256(
            cluster_secrets[STATIC_TOKEN].encode()).hexdigest(),
        # Every node signs with the realm's keys but writes the URL it was reached at
        # into ``iss`` (no --hostname): each replica accepts both.
        "BRIDGE_TOKEN_ISSUERS": issuers,
        # The lock backend every replica shares: the PostgreSQL production Keycloak needs.
        "BRIDGE_LOCK_URL": postgres.dsn,
    }


def _start_nodes(nodes: list[ClusterNode], username: str, password: str,
                 say: Callable[[str], None]) -> None:
    """Start the nodes side by side; a node that lost the race of creating the empty
    database's first content (seen once: exit 1) is started again once the others are up."""
    with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
        futures = {node: pool.submit(node.start, username, password, wait=420,
                                     log=lambda m, n=node: say(f"{n.url}: {m}"))
                   for node in nodes}
        failed = []
        for node, future in futures.items():
            try:
                future.result()
            except MissingPiece as exc:
                say(f"first start of {node.url} failed, starting it again: {exc}")
                failed.append(node)
    for node in failed:
        node.start(username, password, wait=420, log=say)


# Package scope: the cluster is stopped once its tests are done, not kept running through
# the rest of the session.
@pytest.fixture(scope="package")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    began = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="bridge-cluster-"))
    # The build, PostgreSQL and two nodes take minutes: progress on the terminal meanwhile.
    say = terminal_progress(request.config, prefix="[cluster] ")
    ensure_production_distribution(say)
    postgres = LocalPostgres(free_port())
    nodes: list[ClusterNode] = []
    replicas: list[BridgeReplica] = []
    balancer: RoundRobinBalancer | None = None
    username, password = "admin", secrets.token_urlsafe(18)
    try:
        postgres.start(log=say)
        database = DatabaseLogin(postgres.jdbc_url, postgres.username, postgres.password)
        first = free_jgroups_port()
        second = free_jgroups_port(first + 1)
        for index, jgroups in enumerate((first, second), start=1):
            nodes.append(ClusterNode(state_dir=work / f"node{index}", http_port=free_port(),
                                     management_port=free_port(), database=database,
                                     jgroups_port=jgroups))
        _start_nodes(nodes, username, password, say)
        for node in nodes:
            node.wait_cluster_size(2, wait=120)
        cluster_secrets = realm_secrets()
        cluster = Cluster(postgres, nodes, replicas, None,  # type: ignore[arg-type]
                          username, password, cluster_secrets, work)
        applied = cluster.realm_apply()
        assert applied.returncode == 0, applied.stdout + applied.stderr
        for name, node in zip(("a", "b"), nodes, strict=True):
            replicas.append(BridgeReplica(
                name, free_port(), replica_env(cluster_secrets, node, nodes, postgres),
                work / f"replica-{name}.log").start())
        balancer = RoundRobinBalancer(free_port(), [r.port for r in replicas]).start()
        cluster.balancer = balancer
        cluster.tokens = [TokenSource(n.url, cluster_secrets["HR_SCIM_CLIENT_SECRET"])
                          for n in nodes]
        cluster.started_in = time.monotonic() - began
        FIGURES["cluster start (s)"] = round(cluster.started_in, 1)
        yield cluster
    finally:
        if balancer is not None:
            balancer.stop()
        for replica in replicas:
            replica.stop()
        for node in nodes:
            node.stop()
        postgres.stop()
        FIGURES["requests sent"] = dict(ScimHttp.sent) | {"total": sum(ScimHttp.sent.values())}
        FIGURES["suite wall time (s)"] = round(time.monotonic() - began, 1)
        # The logs of the nodes and replicas say why a replay failed: kept then.
        if request.session.testsfailed or os.environ.get("BRIDGE_CLUSTER_KEEP_LOGS"):
            FIGURES["logs kept in"] = str(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
