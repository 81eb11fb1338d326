"""The bridge against the real peer: raw Keycloak, the bridge, Keycloak's own SCIM (issue 15).

    python bench/peer.py [--users 100000] [--group-members 10000] [--sync-users 10000]
                         [--sync-groups 20] [--max-minutes 25] [--out bench/out]

One process, one run, one Keycloak: a build of the pinned distribution of its own with the
``scim-api`` preview feature (``kc.sh build --features=organization,scim-api``, cached next
to the product's builds but never used by the product), its state in a temporary
directory, on free loopback ports, heap ``--heap``, stopped and removed at the end (its
realm goes with it). On it, one realm: realm-config applied with the accounting-portal
catalog (what ``./dev up`` builds), ``scimApiEnabled`` on, and a confidential client whose
service account may ``manage-users`` and whose tokens carry the SCIM base URL as audience
(what Keycloak's SCIM endpoint demands).

Three sides, measured interleaved (the order rotates every item, page or chunk) on the same
data:

- **raw**: python-keycloak's ``KeycloakAdmin`` calling the admin API directly (the
  representations the bridge stores for the same SCIM users);
- **bridge**: ``bridge serve`` (gunicorn, the production server, 1 worker x 8 threads) on
  127.0.0.1, SCIM with a static bearer token (Entra's "Secret Token");
- **keycloak-scim**: ``/realms/{realm}/scim/v2``, in-process in Keycloak (no hop), bearer
  token of the client-credentials grant (renewed outside timed spans).

Rows: create; ``userName eq`` at ``--users`` users; add one member to a
``--group-members``-member group; an Entra-style initial sync of ``--sync-users`` users into
``--sync-groups`` groups (per user ``GET filter=userName eq`` then ``POST``; then per group
``GET filter=displayName eq ... excludedAttributes=members``, ``POST``, and member ``PATCH``es
of ``--patch-members``); an Okta-style import walk of every user in ``count=100`` pages and
in the largest page each side allows (the bridge's ``filter.maxResults``; the raw side uses
the same page; Keycloak's SCIM caps at 100, so its row is its count=100 walk).

Beside each row, the **bound** a bridge taking no time would reach: raw plus the hop floor
(median ``GET /healthz`` through the same gunicorn, measured before the row) once per SCIM
request the row made. Over the bridge's sync: the CPU seconds of every gunicorn process
against Keycloak's (``/proc/<pid>/stat`` of each process group, read around each chunk the
bridge side ran), the bridge's RSS before and after, and after a second sync; beside the
share, the share a bridge would have if each SCIM request of its sync cost the server what a
``GET /healthz`` costs it (1,000 probes read the same way just before the sync); admin calls
per operation from the bridge's ``/metrics`` (``bridge_keycloak_admin_calls_total``), as
``bench/scim_calls.py`` counts them: the mean over the row, which includes what the bridge
read meanwhile in the background (the protected set, ~50 calls every ~24 s), and the
median of ``BRACKETED`` further bridge operations each read alone ("each"), which the budget
is compared with.

Output: the table on stdout, and ``peer.json``, ``peer.md`` and ``peer.png`` (matplotlib:
``pip install '.[bench]'``) in a new folder under ``--out``. Every loop is bounded; the run
by ``--max-minutes``: seeding stops after ``--seed-minutes`` (the rows then say how many
users they ran at), the sync shrinks to what the time left allows (estimated from this
run's create and lookup medians, leaving the walks a fifth of the time left), a walk whose
first pages say it would not finish in time is stopped there, and a row that would start too
late is reported as not run. Seeding (partialImport) runs with the realm's event stores
off; the rows run with realm-config's (admin events with representations on).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:  # run as bench/peer.py, or imported by the tests
    sys.path.insert(0, str(HERE))

from scim_calls import BUDGETS  # noqa: E402 (this folder, put on the path above)

SIDES = ("raw", "bridge", "keycloak-scim")
BRACKETED = 20
"""Bridge operations per row whose admin calls are read one by one (``Row.calls_each``)."""
T = TypeVar("T")
SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
REALM_CONFIG = ROOT / "realm-config"
CATALOG = ROOT / "realm-config" / "examples" / "004-accounting-portal"
DEFAULT_OUT = HERE / "out"


class OutOfTime(RuntimeError):
    """The run went past --max-minutes."""


def say(message: str) -> None:
    print(message, flush=True)


# -- the table: rows, bounds, ratios ---------------------------------------------------------


@dataclass
class Row:
    """One row of the table. ``values`` per side are in ``unit``: ms per operation (the
    median) for ``per_op`` rows, seconds of the whole run for the others. ``requests`` is
    how many SCIM requests the bridge side made for the row (1 per operation, per_op)."""

    name: str
    unit: str
    values: dict[str, float | None]
    hop_ms: float | None = None
    requests: int = 1
    per_op: bool = True
    note: str = ""
    admin_calls: float | None = None
    calls_budget: int | None = None  # bench/scim_calls.py's budget for the operation
    # The median of the calls each of the row's last BRACKETED bridge operations made, read
    # from /metrics just before and after it: the operation's own calls, where the mean
    # (admin_calls) also holds what ran meanwhile in the background (the protected set is
    # read again every ~24 s, ~50 calls).
    calls_each: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bound(self) -> float | None:
        """What a bridge that took no time at all would reach: raw plus one hop per SCIM
        request (in the row's unit)."""
        return bound(self.values.get("raw"), self.hop_ms, self.requests, self.per_op)

    @property
    def bridge_own(self) -> float | None:
        """The bridge's own time beyond the bound (SCIM - raw - hop floor), in the unit."""
        bridge, limit = self.values.get("bridge"), self.bound
        return None if bridge is None or limit is None else bridge - limit

    def ratio(self, side: str, to: str = "raw") -> float | None:
        return ratio(self.values.get(side), self.values.get(to))


def bound(raw: float | None, hop_ms: float | None, requests_made: int, per_op: bool
          ) -> float | None:
    if raw is None or hop_ms is None:
        return None
    if per_op:
        return raw + hop_ms
    return raw + requests_made * hop_ms / 1000


def ratio(value: float | None, to: float | None) -> float | None:
    if value is None or to is None or to <= 0:
        return None
    return value / to


def verdict(row: Row) -> str:
    """The issue's target: the bridge at or below Keycloak's SCIM; where the row is bound
    by the hop floor (the bound is above the peer), the bridge's own time <= 0.5 ms/op."""
    bridge, peer = row.values.get("bridge"), row.values.get("keycloak-scim")
    if bridge is None:
        return "not run"
    if peer is not None and bridge <= peer:
        return "OK (<= keycloak-scim)"
    limit, own = row.bound, row.bridge_own
    if limit is not None and own is not None and peer is not None and limit >= peer:
        if row.per_op:
            return "OK (own <= 0.5 ms)" if own <= 0.5 else f"above (own {own:.2f} ms > 0.5)"
        # A whole run bound by the floor: the bridge's own time per SCIM request it sent.
        return f"hop-bound (own {1000 * own / max(1, row.requests):.2f} ms/request)"
    return "above keycloak-scim"


def calls_cell(row: Row) -> str:
    """The mean calls per operation, and (when measured) the median an operation made by
    itself, which is what the budget is about."""
    cell = _fmt(row.admin_calls)
    own = row.calls_each if row.calls_each is not None else row.admin_calls
    parts = [f"each {_fmt(row.calls_each, 0)}"] if row.calls_each is not None else []
    if own is not None and row.calls_budget is not None:
        parts.append(f"budget {row.calls_budget}{', over' if own > row.calls_budget else ''}")
    return cell + (f" ({'; '.join(parts)})" if parts else "")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(rows: Sequence[Row]) -> str:
    """The table as markdown (what is printed and saved)."""
    head = ("| row | unit | raw | bound (raw + hop) | bridge | keycloak-scim | bridge/raw | "
            "bridge/kc-scim | bridge own | hop ms | admin calls/op | target |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        v = row.values
        lines.append(
            f"| {row.name}{' (' + row.note + ')' if row.note else ''} | {row.unit} | "
            f"{_fmt(v.get('raw'))} | {_fmt(row.bound)} | {_fmt(v.get('bridge'))} | "
            f"{_fmt(v.get('keycloak-scim'))} | {_fmt(row.ratio('bridge'))} | "
            f"{_fmt(row.ratio('bridge', 'keycloak-scim'))} | {_fmt(row.bridge_own)} | "
            f"{_fmt(row.hop_ms)} | {calls_cell(row)} | {verdict(row)} |")
    return "\n".join(lines)


@dataclass
class Resources:
    """CPU seconds over the bridge's sync, and the bridge's RSS (bytes) along the syncs."""

    bridge_cpu: float | None = None
    keycloak_cpu: float | None = None
    keycloak_cpu_by_side: dict[str, float] = field(default_factory=dict)
    rss_before: int | None = None
    rss_after_sync: int | None = None
    rss_after_second_sync: int | None = None
    sync_requests: int | None = None  # SCIM requests the bridge was sent over its sync
    served_cpu_ms: float | None = None  # the server's CPU per GET /healthz, same run

    @property
    def cpu_share(self) -> float | None:
        return ratio(self.bridge_cpu, self.keycloak_cpu)

    @property
    def served_share(self) -> float | None:
        """The share of a bridge whose every SCIM request of the sync cost what a
        ``/healthz`` costs the same server: being served, and nothing else."""
        if self.served_cpu_ms is None or self.sync_requests is None:
            return None
        return ratio(self.served_cpu_ms * self.sync_requests / 1000, self.keycloak_cpu)

    def lines(self) -> list[str]:
        mb = 1024 * 1024
        out = []
        if self.bridge_cpu is not None and self.keycloak_cpu is not None:
            share = self.cpu_share
            out.append(f"- bridge CPU over its sync: {self.bridge_cpu:.1f} s; Keycloak CPU "
                       f"over the same spans: {self.keycloak_cpu:.1f} s; share "
                       f"{_fmt(None if share is None else 100 * share, 1)} % "
                       f"(target <= 25 %)")
        if self.sync_requests and self.bridge_cpu is not None:
            per_request = 1000 * self.bridge_cpu / self.sync_requests
            line = (f"- bridge CPU per SCIM request of the sync: {per_request:.2f} ms over "
                    f"{self.sync_requests:,} requests")
            served = self.served_share
            if self.served_cpu_ms is not None and served is not None:
                line += (f"; the server's own CPU per request (GET /healthz, this run): "
                         f"{self.served_cpu_ms:.2f} ms, a share of {100 * served:.1f} % "
                         "for a bridge that did nothing else")
            out.append(line)
        if self.keycloak_cpu_by_side:
            out.append("- Keycloak CPU during each side's sync: " + ", ".join(
                f"{side} {sec:.1f} s" for side, sec in self.keycloak_cpu_by_side.items()))
        if self.rss_before is not None:
            parts = [f"before {self.rss_before / mb:.1f} MB"]
            if self.rss_after_sync is not None:
                parts.append(f"after the sync {self.rss_after_sync / mb:.1f} MB "
                             f"({(self.rss_after_sync - self.rss_before) / mb:+.1f}, "
                             "target <= +10)")
            if self.rss_after_second_sync is not None and self.rss_after_sync is not None:
                parts.append(f"after a second sync {self.rss_after_second_sync / mb:.1f} MB "
                             f"({(self.rss_after_second_sync - self.rss_after_sync) / mb:+.1f}"
                             ", target <= 0)")
            out.append("- bridge RSS (every gunicorn process): " + "; ".join(parts))
        return out


# -- /proc: CPU and memory of a process group -------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def parse_stat(text: str) -> tuple[int, float]:
    """``(process group, CPU seconds user + system)`` from a ``/proc/<pid>/stat`` line.
    The command name (field 2) is in parentheses and may hold spaces or ``)``."""
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
    return int(rest[2]), (int(rest[11]) + int(rest[12])) / CLOCK_TICKS


def parse_rss(status_text: str) -> int:
    """``VmRSS`` in bytes from ``/proc/<pid>/status`` (0 when absent: a zombie)."""
    for line in status_text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def group_pids(pgid: int, proc: Path = Path("/proc")) -> list[int]:
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            group, _ = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        if group == pgid:
            pids.append(int(entry.name))
    return pids


def group_cpu_seconds(pgid: int, proc: Path = Path("/proc")) -> float:
    """CPU seconds (user + system) of every live process of group ``pgid`` (gunicorn's
    master and workers; kc.sh and its java)."""
    total = 0.0
    for pid in group_pids(pgid, proc):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += parse_stat((proc / str(pid) / "stat").read_text())[1]
    return total


def group_rss(pgid: int, proc: Path = Path("/proc")) -> int:
    total = 0
    for pid in group_pids(pgid, proc):
        with contextlib.suppress(OSError, ValueError):
            total += parse_rss((proc / str(pid) / "status").read_text())
    return total


def admin_calls_total(metrics_text: str) -> float:
    """The sum of ``bridge_keycloak_admin_calls_total`` over its labels (Prometheus text)."""
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("bridge_keycloak_admin_calls_total"):
            total += float(line.rsplit(None, 1)[1])
    return total


# -- the chart ---------------------------------------------------------------------------------

COLOURS = {"raw": "#7f7f7f", "bound": "#c7c7c7", "bridge": "#1f77b4",
           "keycloak-scim": "#d62728"}


def write_chart(rows: Sequence[Row], resources: Resources, path: Path, title: str) -> Path:
    """One panel per row (raw, bound, bridge, Keycloak's SCIM), and one of CPU seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = [row for row in rows if any(v is not None for v in row.values.values())]
    panels = len(shown) + (1 if resources.bridge_cpu is not None else 0)
    columns = 3
    lines_of = max(1, math.ceil(panels / columns))
    figure, axes = plt.subplots(lines_of, columns, figsize=(5 * columns, 3.6 * lines_of),
                                squeeze=False)
    flat = [ax for line in axes for ax in line]
    for ax, row in zip(flat, shown, strict=False):
        labels = ["raw", "bound", "bridge", "keycloak-scim"]
        values = [row.values.get("raw"), row.bound, row.values.get("bridge"),
                  row.values.get("keycloak-scim")]
        heights = [0.0 if v is None else v for v in values]
        bars = ax.bar(labels, heights, color=[COLOURS[k] for k in labels])
        bars[1].set_hatch("//")
        for bar, value in zip(bars, values, strict=True):
            ax.annotate("n/a" if value is None else f"{value:.3g}",
                        (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                        ha="center", va="bottom", fontsize=8)
        note = "\n".join(textwrap.wrap(f"({row.note})", 60)) if row.note else ""
        ax.set_title(row.name + (f"\n{note}" if note else ""), fontsize=9)
        ax.set_ylabel(row.unit, fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    used = len(shown)
    if resources.bridge_cpu is not None and resources.keycloak_cpu is not None:
        ax = flat[used]
        labels, heights = ["bridge", "keycloak"], [resources.bridge_cpu, resources.keycloak_cpu]
        colours = [COLOURS["bridge"], COLOURS["raw"]]
        if resources.served_cpu_ms is not None and resources.sync_requests:
            # what the same requests would have cost a bridge that was only served
            labels.insert(1, "only served")
            heights.insert(1, resources.served_cpu_ms * resources.sync_requests / 1000)
            colours.insert(1, COLOURS["bound"])
        ax.bar(labels, heights, color=colours)
        share = resources.cpu_share
        ax.set_title(f"CPU over the bridge's sync (share "
                     f"{_fmt(None if share is None else 100 * share, 1)} %)", fontsize=9)
        ax.set_ylabel("CPU seconds", fontsize=8)
        used += 1
    for ax in flat[used:]:
        ax.axis("off")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def save(rows: Sequence[Row], resources: Resources, meta: dict[str, Any], folder: Path
         ) -> dict[str, Path]:
    """``peer.json``, ``peer.md`` and ``peer.png`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    body = {"meta": meta, "rows": [{**asdict(row), "bound": row.bound,
                                    "bridge_own": row.bridge_own, "target": verdict(row)}
                                   for row in rows],
            "resources": {**asdict(resources), "cpu_share": resources.cpu_share,
                          "served_share": resources.served_share}}
    written = {"json": folder / "peer.json", "md": folder / "peer.md"}
    written["json"].write_text(json.dumps(body, indent=2) + "\n")
    sizes = ", ".join(f"{k}={v}" for k, v in meta.get("sizes", {}).items())
    written["md"].write_text(f"# bench/peer.py\n\n{sizes}\n\n{table(rows)}\n\n"
                             + "\n".join(resources.lines()) + "\n")
    try:
        written["png"] = write_chart(rows, resources, folder / "peer.png",
                                     f"bench/peer.py: {sizes}")
    except ImportError:
        say("no chart: matplotlib is not installed (pip install '.[bench]')")
    return written


# -- the run: Keycloak with scim-api, the realm, the three sides --------------------------------


class Clock:
    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + minutes * 60

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise OutOfTime(f"--max-minutes reached during {what}")


def median_ms(times: Sequence[float]) -> float | None:
    return 1000 * statistics.median(times) if times else None


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def scim_api_build_options() -> tuple[str, ...]:
    from bridge.local.keycloak import BUILD_OPTIONS

    features = [o for o in BUILD_OPTIONS if o.startswith("--features=")]
    wanted = sorted({*(features[0].split("=", 1)[1].split(",") if features else []),
                     "scim-api"})
    return (*(o for o in BUILD_OPTIONS if not o.startswith("--features=")),
            "--features=" + ",".join(wanted))


def peer_keycloak_class() -> type:
    from bridge.local.keycloak import LocalKeycloak, ensure_distribution

    class PeerKeycloak(LocalKeycloak):
        """A LocalKeycloak on the bench's own scim-api build (never the product's)."""

        def _distribution(self, log: Callable[[str], None]) -> Path:
            return ensure_distribution(log, build_options=scim_api_build_options(),
                                       flavour="scim-api")

    return PeerKeycloak


@dataclass(frozen=True)
class Target:
    url: str
    username: str
    password: str
    pgid: int | None


@contextlib.contextmanager
def keycloak(heap: str, state: Path) -> Iterator[Target]:
    from bridge.local.keycloak import free_port

    os.environ["JAVA_OPTS_KC_HEAP"] = heap
    http_port = free_port()
    management_port = free_port()
    while management_port == http_port:
        management_port = free_port()
    local = peer_keycloak_class()(state / "keycloak", http_port=http_port,
                                  management_port=management_port)
    password = secrets.token_urlsafe(18)
    began = time.perf_counter()
    try:
        local.start("admin", password, log=say)
        say(f"Keycloak (scim-api build): {local.url}, ready in "
            f"{time.perf_counter() - began:.0f}s (heap {heap})")
        yield Target(local.url, "admin", password, local.pid())
    finally:
        local.stop()
        say("Keycloak stopped")


def realm_env(realm: str) -> dict[str, str]:
    from bridge.local.keycloak import free_port

    return {"BRIDGE_REALM": realm, "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(24),
            "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(24), "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(free_port()), "SMTP_FROM": "no-reply@bench.test",
            "PORTAL_URL": "http://127.0.0.1:3000"}


def raw_admin(target: Target, realm: str) -> Any:
    """python-keycloak's admin client on ``realm``: the raw side (Keycloak without the
    bridge), and what sets up Keycloak's own SCIM, which the gateway has no call for."""
    from keycloak import KeycloakAdmin, KeycloakOpenIDConnection

    connection = KeycloakOpenIDConnection(
        server_url=target.url, username=target.username, password=target.password,
        realm_name=realm, user_realm_name="master", client_id="admin-cli", timeout=120)
    return KeycloakAdmin(connection=connection)


def prepare_realm(target: Target, realm: str, env: dict[str, str]) -> dict[str, str]:
    """realm-config + the catalog (as ``./dev up``), scimApiEnabled, the SCIM client.
    Returns what the sides need: the managed root's id, the SCIM client's credentials."""
    from bridge.keycloak.client import AdminGateway
    from bridge.local.devstack import apply_dev_realm
    from bridge.realm import desired

    gw = AdminGateway.with_password(target.url, target.username, target.password,
                                    timeout=300)
    config, catalog = desired.load_with_catalog([REALM_CONFIG, CATALOG], env)
    began = time.perf_counter()
    apply_dev_realm(gw, config, catalog, lambda _line: None, realm)
    say(f"realm {realm}: realm-config and the accounting-portal catalog applied in "
        f"{time.perf_counter() - began:.0f}s")
    admin = raw_admin(target, realm)
    admin.update_realm(realm, {"scimApiEnabled": True})
    secret = secrets.token_urlsafe(24)
    client_id = "bench-keycloak-scim"
    audience = f"{target.url}/realms/{realm}/scim/v2"
    kc_id = admin.create_client({
        "clientId": client_id, "publicClient": False, "secret": secret,
        "serviceAccountsEnabled": True, "standardFlowEnabled": False,
        "directAccessGrantsEnabled": False,
        "protocolMappers": [{
            "name": "scim audience", "protocol": "openid-connect",
            "protocolMapper": "oidc-audience-mapper",
            "config": {"included.custom.audience": audience, "access.token.claim": "true",
                       "id.token.claim": "false"}}]})
    account = admin.get_client_service_account_user(kc_id)
    management = admin.get_client_id("realm-management")
    roles = [admin.get_client_role(management, name)
             for name in ("manage-users", "view-users", "query-groups", "view-realm")]
    admin.assign_client_role(account["id"], management, roles)
    root = admin.get_group_by_path("/bridge/scim")
    return {"client_id": client_id, "secret": secret, "root": root["id"]}


class PeerToken:
    """Client-credentials tokens of the SCIM client, renewed outside timed spans."""

    def __init__(self, url: str, realm: str, client_id: str, secret: str) -> None:
        self.endpoint = f"{url}/realms/{realm}/protocol/openid-connect/token"
        self.form = {"grant_type": "client_credentials", "client_id": client_id,
                     "client_secret": secret}
        self.session = requests.Session()
        self._token, self._renew_at = "", 0.0

    def __call__(self) -> str:
        if time.monotonic() >= self._renew_at:
            answer = self.session.post(self.endpoint, data=self.form, timeout=60)
            answer.raise_for_status()
            body = answer.json()
            self._token = body["access_token"]
            self._renew_at = time.monotonic() + max(5, int(body["expires_in"]) - 30)
        return self._token


class ScimSide:
    """A SCIM client (the bridge's or Keycloak's endpoint); each call returns its body and
    its wall seconds (the token is got before the clock starts)."""

    def __init__(self, name: str, base: str, token: Callable[[], str]) -> None:
        self.name, self.base, self.token = name, base.rstrip("/"), token
        self.session = requests.Session()
        self.requests = 0

    def call(self, method: str, path: str, body: Any = None,
             params: dict[str, str] | None = None, expect: int = 200) -> tuple[Any, float]:
        headers = {"Authorization": f"Bearer {self.token()}", "Content-Type": SCIM_JSON,
                   "Accept": SCIM_JSON}
        data = json.dumps(body) if body is not None else None
        began = time.perf_counter()
        answer = self.session.request(method, self.base + path, data=data, params=params,
                                      headers=headers, timeout=300)
        elapsed = time.perf_counter() - began
        self.requests += 1
        if answer.status_code != expect:
            raise RuntimeError(f"{self.name} {method} {path} {params or ''}: "
                               f"{answer.status_code} {answer.text[:300]}")
        return (answer.json() if answer.content else None), elapsed

    def create(self, payload: dict[str, Any]) -> tuple[str, float]:
        body, took = self.call("POST", "/Users", payload, expect=201)
        return body["id"], took

    def find(self, user_name: str) -> tuple[list[dict[str, Any]], float]:
        body, took = self.call("GET", "/Users",
                               params={"filter": f'userName eq "{user_name}"'})
        return body.get("Resources") or [], took

    def find_group(self, name: str) -> tuple[list[dict[str, Any]], float]:
        body, took = self.call("GET", "/Groups", params={
            "filter": f'displayName eq "{name}"', "excludedAttributes": "members"})
        return body.get("Resources") or [], took

    def create_group(self, name: str) -> tuple[str, float]:
        body, took = self.call("POST", "/Groups", {"schemas": [GROUP_SCHEMA],
                                                   "displayName": name}, expect=201)
        return body["id"], took

    def add_members(self, group_id: str, user_ids: Sequence[str]) -> float:
        return self.session_patch(group_id, user_ids)[1]

    def session_patch(self, group_id: str, user_ids: Sequence[str]) -> tuple[Any, float]:
        headers = {"Authorization": f"Bearer {self.token()}", "Content-Type": SCIM_JSON}
        body = json.dumps({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "add", "path": "members",
             "value": [{"value": uid} for uid in user_ids]}]})
        began = time.perf_counter()
        answer = self.session.patch(f"{self.base}/Groups/{group_id}", data=body,
                                    headers=headers, timeout=300)
        took = time.perf_counter() - began
        self.requests += 1
        if answer.status_code not in (200, 204):
            raise RuntimeError(f"{self.name} PATCH /Groups/{group_id}: "
                               f"{answer.status_code} {answer.text[:300]}")
        return answer, took

    def page(self, start_index: int, count: int) -> tuple[int, int, float]:
        """``(items on the page, totalResults, seconds)``."""
        body, took = self.call("GET", "/Users", params={"startIndex": str(start_index),
                                                        "count": str(count)})
        return len(body.get("Resources") or []), int(body.get("totalResults", 0)), took

    def max_page(self) -> int:
        body, _ = self.call("GET", "/ServiceProviderConfig")
        return int((body.get("filter") or {}).get("maxResults") or 100)


class RawSide:
    """python-keycloak calling the admin API: Keycloak without any SCIM layer."""

    name = "raw"

    def __init__(self, admin: Any, root_id: str) -> None:
        self.admin, self.root_id = admin, root_id
        self.requests = 0

    def _timed(self, call: Callable[[], Any]) -> tuple[Any, float]:
        self.admin.connection._refresh_if_required()  # a fresh token, got untimed
        began = time.perf_counter()
        result = call()
        self.requests += 1
        return result, time.perf_counter() - began

    def create(self, rep: dict[str, Any]) -> tuple[str, float]:
        return self._timed(lambda: self.admin.create_user(rep))

    def find(self, user_name: str) -> tuple[list[dict[str, Any]], float]:
        return self._timed(lambda: self.admin.get_users({"username": user_name,
                                                         "exact": True}))

    def find_group(self, name: str) -> tuple[list[dict[str, Any]], float]:
        from keycloak.exceptions import KeycloakError

        def lookup() -> list[dict[str, Any]]:
            try:
                return [self.admin.get_group_by_path(f"/bridge/scim/{name}")]
            except KeycloakError:
                return []
        return self._timed(lookup)

    def create_group(self, name: str) -> tuple[str, float]:
        return self._timed(lambda: self.admin.create_group({"name": name},
                                                           parent=self.root_id))

    def add_members(self, group_id: str, user_ids: Sequence[str]) -> float:
        total = 0.0
        for uid in user_ids:  # the admin API adds one member per call
            total += self._timed(lambda u=uid: self.admin.group_user_add(u, group_id))[1]
        return total

    def page(self, start_index: int, count: int) -> tuple[int, int, float]:
        found, took = self._timed(lambda: self.admin.get_users(
            {"first": start_index - 1, "max": count}))
        return len(found), -1, took


def scim_user(user_name: str, n: int) -> dict[str, Any]:
    from scim_ratios import scim_payload

    return scim_payload(user_name, n)


def raw_rep(mapping: Any, user_name: str, n: int) -> dict[str, Any]:
    from scim_ratios import stored_rep

    return stored_rep(mapping, scim_user(user_name, n))


def rotations(i: int) -> tuple[str, ...]:
    """The order of the sides for item ``i``: each side goes first, second and last in turn."""
    k = i % len(SIDES)
    return SIDES[k:] + SIDES[:k]


@dataclass
class Bench:
    args: argparse.Namespace
    clock: Clock
    target: Target
    realm: str
    sides: dict[str, Any]
    bridge_url: str
    bridge_pgid: int
    mapping: Any
    rows: list[Row] = field(default_factory=list)
    resources: Resources = field(default_factory=Resources)

    # -- helpers
    def hop(self, samples: int = 150) -> float:
        session = requests.Session()
        times = []
        for _ in range(samples):
            began = time.perf_counter()
            session.get(f"{self.bridge_url}/healthz", timeout=10).raise_for_status()
            times.append(time.perf_counter() - began)
        return 1000 * statistics.median(times)

    def served_cpu_ms(self, probes: int = 1000) -> float:
        """The bridge server's CPU (every process of its group) per ``GET /healthz``, on
        one keep-alive connection: what being served costs a request before any SCIM."""
        session = requests.Session()
        session.get(f"{self.bridge_url}/healthz", timeout=10).raise_for_status()
        before = group_cpu_seconds(self.bridge_pgid)
        for _ in range(probes):
            session.get(f"{self.bridge_url}/healthz", timeout=10).raise_for_status()
        return 1000 * (group_cpu_seconds(self.bridge_pgid) - before) / probes

    def admin_calls(self) -> float:
        text = requests.get(f"{self.bridge_url}/metrics", timeout=30).text
        return admin_calls_total(text)

    def bracketed(self, op: Callable[[], T], deltas: list[float]) -> T:
        """``op`` with the admin calls it made appended to ``deltas`` (/metrics read just
        before and after it; the reads are outside the op's own timing)."""
        before = self.admin_calls()
        done = op()
        deltas.append(self.admin_calls() - before)
        return done

    def not_run(self, name: str, unit: str, why: str, per_op: bool = True) -> None:
        say(f"  {name}: not run ({why})")
        self.rows.append(Row(name, unit, dict.fromkeys(SIDES), note=f"not run: {why}",
                             per_op=per_op))

    def row(self, name: str, unit: str, run: Callable[[], Row], minutes_needed: float,
            per_op: bool = True) -> None:
        if self.clock.left() < minutes_needed * 60:
            self.not_run(name, unit, f"{self.clock.left() / 60:.1f} min left of "
                         f"--max-minutes, ~{minutes_needed:.1f} needed", per_op)
            return
        began = time.perf_counter()
        say(f"\n== {name} ==")
        try:
            made = run()
        except OutOfTime as exc:
            self.not_run(name, unit, str(exc), per_op)
            return
        self.rows.append(made)
        say(f"  {name}: raw {_fmt(made.values['raw'])} / bound {_fmt(made.bound)} / bridge "
            f"{_fmt(made.values['bridge'])} / keycloak-scim "
            f"{_fmt(made.values['keycloak-scim'])} {unit} (hop {_fmt(made.hop_ms)} ms, "
            f"{time.perf_counter() - began:.0f}s)")

    # -- rows
    def creates(self) -> Row:
        n, warm = self.args.creates, self.args.warmup
        times: dict[str, list[float]] = {s: [] for s in SIDES}
        tag = uuid.uuid4().hex[:6]
        calls_before = 0.0
        each: list[float] = []
        for i in range(warm + n + BRACKETED):
            self.clock.check("creates")
            if i == warm:
                calls_before = self.admin_calls()
            if i == warm + n:  # the mean is taken; then a few bridge creates, bracketed
                calls = (self.admin_calls() - calls_before) / n
            for side in rotations(i) if i < warm + n else ("bridge",):
                name = f"c{tag}-{side[:2]}-{i:05d}"
                item = (raw_rep(self.mapping, name, i) if side == "raw"
                        else scim_user(name, i))
                if i >= warm + n:
                    self.bracketed(lambda item=item: self.sides["bridge"].create(item), each)
                    continue
                _, took = self.sides[side].create(item)
                if i >= warm:
                    times[side].append(took)
        return Row("create", "ms/op", {s: median_ms(t) for s, t in times.items()},
                   self.hop(), note=f"{n} per side", admin_calls=calls,
                   calls_budget=BUDGETS["create user"], calls_each=median_or_none(each))

    def lookups(self, size: int) -> Row:
        n = self.args.lookups
        rng = random.Random(self.args.seed)
        names = [f"user{i:07d}" for i in rng.sample(range(size), min(size, 3 * (n + 10)))]
        per_side = {side: names[k::3] for k, side in enumerate(SIDES)}
        times: dict[str, list[float]] = {s: [] for s in SIDES}
        calls_before = 0.0
        for i in range(min(len(v) for v in per_side.values())):
            self.clock.check("lookups")
            if i == 10:
                calls_before = self.admin_calls()
            for side in rotations(i):
                name = per_side[side][i]
                found, took = self.sides[side].find(name)
                user_name = found[0].get("userName") or found[0].get("username") if found else None
                if len(found) != 1 or user_name != name:
                    raise RuntimeError(f"{side} userName eq {name}: {found}")
                if i >= 10:  # the first ten are a warm-up
                    times[side].append(took)
        measured = len(times["bridge"])
        calls = (self.admin_calls() - calls_before) / measured if measured else None
        each: list[float] = []
        for name in per_side["bridge"][-BRACKETED:]:  # looked up again, bracketed
            self.bracketed(lambda name=name: self.sides["bridge"].find(name), each)
        return Row(f"userName eq at {size:,} users", "ms/op",
                   {s: median_ms(t) for s, t in times.items()}, self.hop(),
                   note=f"{measured} per side", admin_calls=calls,
                   calls_budget=BUDGETS["userName eq filter"], calls_each=median_or_none(each))

    def member_adds(self, group_id: str, first_free: int) -> Row:
        n = self.args.member_adds
        raw = self.sides["raw"]
        ids: dict[str, list[str]] = {}
        for k, side in enumerate(SIDES):  # users not yet in the group, distinct per side
            names = [f"user{first_free + k * n + j:07d}" for j in range(n)]
            ids[side] = [raw.find(name)[0][0]["id"] for name in names]
        bracketed = [raw.find(f"user{first_free + 3 * n + j:07d}")[0][0]["id"]
                     for j in range(BRACKETED)]
        times: dict[str, list[float]] = {s: [] for s in SIDES}
        calls_before = self.admin_calls()
        for i in range(n):
            self.clock.check("member adds")
            for side in rotations(i):
                times[side].append(self.sides[side].add_members(group_id, [ids[side][i]]))
        calls = (self.admin_calls() - calls_before) / n
        each: list[float] = []
        for user_id in bracketed:
            self.bracketed(lambda user_id=user_id: self.sides["bridge"].add_members(
                group_id, [user_id]), each)
        return Row(f"add 1 member to a {self.args.group_members:,}-member group", "ms/op",
                   {s: median_ms(t) for s, t in times.items()}, self.hop(),
                   note=f"{n} per side", admin_calls=calls,
                   calls_budget=BUDGETS["add one member to the big group"],
                   calls_each=median_or_none(each))

    def sync(self, sides: Sequence[str], label: str) -> dict[str, Any]:
        """Entra's initial cycle on each of ``sides`` (its own users and groups), chunks
        interleaved; CPU deltas of the bridge and Keycloak around each chunk."""
        users, groups = self.args.sync_users, self.args.sync_groups
        chunk = max(1, self.args.sync_chunk)
        tag = uuid.uuid4().hex[:6]
        wall = dict.fromkeys(sides, 0.0)
        kc_cpu = dict.fromkeys(sides, 0.0)
        bridge_cpu = 0.0
        made: dict[str, list[str]] = {s: [] for s in sides}
        requests_before = {s: self.sides[s].requests for s in sides}
        calls_before = self.admin_calls() if "bridge" in sides else 0.0
        kc_pgid = self.target.pgid

        def measured(side: str, work: Callable[[], float]) -> None:
            nonlocal bridge_cpu
            kc0 = group_cpu_seconds(kc_pgid) if kc_pgid else 0.0
            br0 = group_cpu_seconds(self.bridge_pgid) if side == "bridge" else 0.0
            wall[side] += work()
            kc_cpu[side] += (group_cpu_seconds(kc_pgid) if kc_pgid else 0.0) - kc0
            if side == "bridge":
                bridge_cpu += group_cpu_seconds(self.bridge_pgid) - br0

        def user_chunk(side: str, start: int) -> Callable[[], float]:
            def work() -> float:
                spent = 0.0
                client = self.sides[side]
                for i in range(start, min(start + chunk, users)):
                    name = f"{label}{tag}-{side[:2]}-{i:06d}"
                    found, took = client.find(name)
                    spent += took
                    if found:
                        raise RuntimeError(f"{side}: {name} exists before its create")
                    item = raw_rep(self.mapping, name, i) if side == "raw" else scim_user(name, i)
                    uid, took = client.create(item)
                    spent += took
                    made[side].append(uid)
                return spent
            return work

        def group_work(side: str, g: int) -> Callable[[], float]:
            def work() -> float:
                client = self.sides[side]
                name = f"{label} {tag} {side} {g:02d}"
                found, spent = client.find_group(name)
                if found:
                    raise RuntimeError(f"{side}: group {name} exists before its create")
                gid, took = client.create_group(name)
                spent += took
                members = made[side][g::groups]
                for k in range(0, len(members), self.args.patch_members):
                    spent += client.add_members(gid, members[k:k + self.args.patch_members])
                return spent
            return work

        for n, start in enumerate(range(0, users, chunk)):
            self.clock.check(f"{label} sync (users)")
            for side in [s for s in rotations(n) if s in sides]:
                measured(side, user_chunk(side, start))
        for g in range(groups):
            self.clock.check(f"{label} sync (groups)")
            for side in [s for s in rotations(g) if s in sides]:
                measured(side, group_work(side, g))
        sent = {s: self.sides[s].requests - requests_before[s] for s in sides}
        calls = ((self.admin_calls() - calls_before) / sent["bridge"]
                 if "bridge" in sides and sent["bridge"] else None)
        return {"wall": wall, "kc_cpu": kc_cpu, "bridge_cpu": bridge_cpu, "sent": sent,
                "calls": calls}

    def entra(self) -> Row:
        rss = lambda: group_rss(self.bridge_pgid)  # noqa: E731
        self.resources.rss_before = rss()
        hop = self.hop()
        self.resources.served_cpu_ms = self.served_cpu_ms()
        first = self.sync(SIDES, "entra")
        self.resources.rss_after_sync = rss()
        self.resources.sync_requests = first["sent"]["bridge"]
        self.resources.bridge_cpu = first["bridge_cpu"]
        self.resources.keycloak_cpu = first["kc_cpu"]["bridge"]
        self.resources.keycloak_cpu_by_side = {s: round(v, 2)
                                               for s, v in first["kc_cpu"].items()}
        say(f"  CPU over the bridge's chunks: bridge {first['bridge_cpu']:.1f} s, Keycloak "
            f"{first['kc_cpu']['bridge']:.1f} s; RSS {self.resources.rss_before / 2**20:.1f}"
            f" -> {self.resources.rss_after_sync / 2**20:.1f} MB")
        if self.args.second_sync:
            if self.clock.left() > first["wall"]["bridge"] * 1.5 + 60:
                say("  second sync (bridge only, new users and groups), for RSS")
                self.sync(("bridge",), "entrb")
                self.resources.rss_after_second_sync = rss()
                after = self.resources.rss_after_second_sync
                say(f"  RSS after a second sync {after / 2**20:.1f} MB")
            else:
                say("  second sync skipped: not enough of --max-minutes left")
        return Row(f"Entra initial sync: {self.args.sync_users:,} users into "
                   f"{self.args.sync_groups} groups", "s", dict(first["wall"]), hop,
                   requests=first["sent"]["bridge"], per_op=False,
                   note=f"bridge sent {first['sent']['bridge']:,} SCIM requests",
                   admin_calls=first["calls"],
                   extra={"requests": first["sent"], "patch_members": self.args.patch_members})

    def walk(self, page_sizes: dict[str, int], title: str) -> Row:
        hop = self.hop()
        wall = dict.fromkeys(SIDES, 0.0)
        seen = dict.fromkeys(SIDES, 0)
        pages = dict.fromkeys(SIDES, 0)
        done = dict.fromkeys(SIDES, False)
        totals: dict[str, int] = {}
        calls_before = self.admin_calls()
        limit = self.args.max_pages
        k = 0
        while not all(done.values()) and k < limit:
            self.clock.check(title)
            if k == WALK_SAMPLE_PAGES:  # does the rest fit in the time left?
                needed = walk_seconds_left(wall, seen, pages, done, totals, page_sizes)
                if needed is not None and needed > self.clock.left():
                    raise OutOfTime(f"{title} would need ~{needed / 60:.1f} more min at this "
                                    f"run's page times, {self.clock.left() / 60:.1f} left")
            for side in rotations(k):
                if done[side]:
                    continue
                size = page_sizes[side]
                got, total, took = self.sides[side].page(1 + seen[side], size)
                wall[side] += took
                seen[side] += got
                pages[side] += 1
                if total >= 0:
                    totals[side] = total
                if got < size:
                    done[side] = True
            k += 1
        calls = (self.admin_calls() - calls_before) / pages["bridge"]
        each: list[float] = []
        for j in range(min(pages["bridge"], BRACKETED // 4)):  # a few pages again, each alone
            self.bracketed(lambda j=j: self.sides["bridge"].page(
                1 + j * page_sizes["bridge"], page_sizes["bridge"]), each)
        note = f"{max(seen.values()):,} users; pages " + ", ".join(
            f"{s} {pages[s]} x {page_sizes[s]}" for s in SIDES)
        return Row(title, "s", wall, hop, requests=pages["bridge"], per_op=False,
                   note=note, admin_calls=calls, calls_each=median_or_none(each),
                   extra={"totals": totals, "seen": seen})


WALK_SAMPLE_PAGES = 3
"""Pages each side walks before the rest of the walk is estimated (see
:func:`walk_seconds_left`)."""

WALK_MARGIN = 1.5
"""Later pages of an offset walk cost more than the first ones (Keycloak skips the rows
before the page): the estimate from the first pages is scaled by this much."""


def walk_seconds_left(wall: dict[str, float], seen: dict[str, int], pages: dict[str, int],
                      done: dict[str, bool], totals: dict[str, int],
                      page_sizes: dict[str, int]) -> float | None:
    """Seconds the rest of a walk should take: for each side not done, its mean page time
    so far times the pages it has left (of the largest total any side reported), times
    :data:`WALK_MARGIN`. None when no side has reported a total yet."""
    if not totals:
        return None
    total = max(totals.values())
    needed = 0.0
    for side, walked in pages.items():
        if done[side] or not walked:
            continue
        left = math.ceil(max(0, total - seen[side]) / page_sizes[side])
        needed += wall[side] / walked * left
    return WALK_MARGIN * needed


SEED_QUIET = ("eventsEnabled", "adminEventsEnabled", "adminEventsDetailsEnabled")


def seed_users(target: Target, realm: str, size: int, group_members: int, batch: int,
               clock: Clock, minutes: float, least: int) -> int:
    """``size`` users (the bridge's stored shape), the first ``group_members`` of them in
    ``/bridge/scim/Big``, with partialImport in batches; past ``minutes``, no new batch
    starts once ``least`` users are in. Returns how many users were seeded."""
    from scim_ratios import seed_rep

    from bridge.keycloak import realm as kc_realm
    from bridge.keycloak.client import AdminGateway

    gw = AdminGateway.with_password(target.url, target.username, target.password,
                                    timeout=600)
    # Seeding is not measured: the realm's event stores (admin events with their
    # representations) are off meanwhile, and back as realm-config has them for the rows.
    admin = raw_admin(target, realm)
    shown = admin.get_realm(realm)
    events = {k: shown.get(k, False) for k in SEED_QUIET}
    admin.update_realm(realm, dict.fromkeys(SEED_QUIET, False))
    began = last = time.perf_counter()
    done = 0
    try:
        for first in range(0, size, batch):
            clock.check("seeding")
            if first >= least and time.perf_counter() - began > minutes * 60:
                say(f"  seeding stopped at {first:,} users (--seed-minutes {minutes:.1f})")
                break
            users = []
            for i in range(first, min(first + batch, size)):
                rep = seed_rep(i)
                if i < group_members:
                    rep["groups"] = ["/bridge/scim/Big"]
                users.append(rep)
            answer = kc_realm.partial_import(gw, realm, {"ifResourceExists": "FAIL",
                                                         "users": users})
            if answer and answer.get("added", len(users)) != len(users):
                raise RuntimeError(f"partialImport added {answer.get('added')} of "
                                   f"{len(users)}")
            now = time.perf_counter()
            done = min(first + batch, size)
            if now - last >= 15 or done == size:
                say(f"  seeded {done:>7,} users ({done / (now - began):5.0f} users/s)")
                last = now
    finally:
        admin.update_realm(realm, events)
    return done


@contextlib.contextmanager
def bridge_server(target: Target, realm: str, env: dict[str, str], token: str,
                  state: Path) -> Iterator[tuple[str, int]]:
    """``bridge serve`` (gunicorn, production defaults) on a free loopback port."""
    from bridge.config import static_token_entry
    from bridge.local.keycloak import free_port
    from bridge.local.processes import stop_group

    port = free_port()
    child_env = {
        "PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
        "LC_ALL": "C.UTF-8", "KEYCLOAK_URL": target.url, "BRIDGE_REALM": realm,
        "BRIDGE_CLIENT_ID": "bridge", "BRIDGE_CLIENT_SECRET": env["BRIDGE_CLIENT_SECRET"],
        "BRIDGE_CATALOG": str(CATALOG),
        "BRIDGE_SCIM_STATIC_TOKENS": static_token_entry("bench", token),
        "GUNICORN_CMD_ARGS": "--graceful-timeout 5",
    }
    log = state / "bridge.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--host", "127.0.0.1", "--port",
             str(port)], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=child_env, cwd=str(ROOT), start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"bridge serve exited with {process.returncode}: "
                                   f"{log.read_text(errors='replace')[-600:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("bridge serve did not answer /healthz within 90s")
            time.sleep(0.2)
        say(f"bridge: gunicorn on {url} (pid {process.pid})")
        yield url, process.pid
    finally:
        stop_group(process, signal.SIGTERM, wait=15)  # type: ignore[arg-type]
        say("bridge stopped")


def sync_minutes(users: int, rows: Sequence[Row]) -> float | None:
    """Minutes an initial sync of ``users`` per side should take, from this run's create
    and lookup medians (each user is a lookup and a create on each side; groups and member
    PATCHes add about a quarter)."""
    medians = {row.name.split(" ")[0]: row.values for row in rows
               if row.per_op and row.values.get("bridge") is not None}
    create, lookup = medians.get("create"), medians.get("userName")
    if not create or not lookup:
        return None
    per_user_ms = sum((create[s] or 0) + (lookup[s] or 0) for s in SIDES)
    return 1.25 * users * per_user_ms / 1000 / 60


def fitted_sync_users(args: argparse.Namespace, rows: Sequence[Row], seconds_left: float
                      ) -> int:
    """``--sync-users``, or fewer when that many would not finish in the time left (with
    the bridge's second sync, if asked for, and a minute to spare); never under 5 a group."""
    wanted = args.sync_users
    estimate = sync_minutes(wanted, rows)
    if estimate is None:
        return wanted
    share = 4 / 3 if args.second_sync else 1.0  # the second sync is the bridge side only
    available = max(0.0, seconds_left / 60 - 1.0)
    if estimate * share <= available:
        return wanted
    fitted = max(5 * args.sync_groups, int(wanted * available / (estimate * share)))
    say(f"\n--sync-users {wanted:,} would take ~{estimate * share:.0f} min of the "
        f"{available:.0f} left: syncing {fitted:,} users instead")
    return min(wanted, fitted)


def run(args: argparse.Namespace) -> int:
    from bridge.provisioning.access import AccessAttributes
    from bridge.provisioning.mapping import UserMapping

    clock = Clock(args.max_minutes)
    began = time.perf_counter()
    sizes = {"users": args.users, "group_members": args.group_members,
             "sync_users": args.sync_users, "sync_groups": args.sync_groups,
             "creates": args.creates, "lookups": args.lookups,
             "member_adds": args.member_adds}
    say("peer: " + ", ".join(f"{k}={v}" for k, v in sizes.items())
        + f" (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.2f})")
    state = Path(tempfile.mkdtemp(prefix="bench-peer-"))
    say(f"state directory {state} (removed at the end)")
    rows: list[Row] = []
    resources = Resources()
    meta: dict[str, Any] = {"sizes": sizes, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                     time.gmtime())}
    status = 0
    try:
        with keycloak(args.heap, state) as target:
            realm = f"bench-peer-{uuid.uuid4().hex[:8]}"
            env = realm_env(realm)
            setup = prepare_realm(target, realm, env)
            admin = raw_admin(target, realm)
            big = admin.create_group({"name": "Big"}, parent=setup["root"])
            token = secrets.token_urlsafe(32)
            with bridge_server(target, realm, env, token, state) as (url, pgid):
                peer_token = PeerToken(target.url, realm, setup["client_id"], setup["secret"])
                sides = {"raw": RawSide(admin, setup["root"]),
                         "bridge": ScimSide("bridge", f"{url}/scim/v2", lambda: token),
                         "keycloak-scim": ScimSide(
                             "keycloak-scim", f"{target.url}/realms/{realm}/scim/v2",
                             peer_token)}
                bench = Bench(args, clock, target, realm, sides, url, pgid,
                              UserMapping(AccessAttributes()), rows, resources)
                biggest = {"bridge": sides["bridge"].max_page(),
                           "keycloak-scim": sides["keycloak-scim"].max_page()}
                biggest["raw"] = biggest["bridge"]
                meta["max_page"] = biggest
                say(f"largest pages: {biggest}")
                bench.row("create", "ms/op", bench.creates, 0.5)
                least = max(args.group_members + 3 * args.member_adds + BRACKETED,
                            3 * (args.lookups + 10))
                say(f"\nseeding {args.users:,} users (the first {args.group_members:,} in "
                    f"group Big) with partialImport, batches of {args.batch}, for at most "
                    f"{args.seed_minutes:.1f} min (at least {least:,} users)")
                users = seed_users(target, realm, args.users, args.group_members, args.batch,
                                   clock, args.seed_minutes, least)
                members = min(args.group_members, users)
                sizes.update(users=users, group_members=members)
                bench.row(f"userName eq at {users:,} users", "ms/op",
                          lambda: bench.lookups(users), 0.5)
                bench.row(f"add 1 member to a {members:,}-member group", "ms/op",
                          lambda: bench.member_adds(big, members), 0.5)
                # The sync before the walks: its CPU share is a target, and the walks are the
                # longest rows (Keycloak's SCIM pages slow down as offsets grow). The sync
                # leaves them a fifth of the time left; a walk whose first pages say it would
                # not finish in the time left is reported as not run.
                args.sync_users = fitted_sync_users(args, rows, clock.left() * 4 / 5)
                sizes["sync_users"] = args.sync_users
                bench.row(f"Entra initial sync: {args.sync_users:,} users into "
                          f"{args.sync_groups} groups", "s", bench.entra, 0.3, per_op=False)
                bench.row("Okta import walk, count=100", "s",
                          lambda: bench.walk(dict.fromkeys(SIDES, 100),
                                             "Okta import walk, count=100"),
                          0.3, per_op=False)
                largest = "Okta import walk, largest page"
                bench.row(largest, "s", lambda: bench.walk(biggest, largest), 0.3,
                          per_op=False)
    except OutOfTime as exc:
        say(f"stopped: {exc}")
        status = 3
    finally:
        shutil.rmtree(state, ignore_errors=True)
    meta["minutes"] = round((time.perf_counter() - began) / 60, 1)
    meta["load_average"] = os.getloadavg()
    say("\n== bench/peer.py (one run, one Keycloak, interleaved) ==")
    say(", ".join(f"{k}={v}" for k, v in sizes.items()) + f"; {meta['minutes']} min")
    say(table(rows))
    for line in resources.lines():
        say(line)
    folder = Path(args.out) / time.strftime("peer-%Y%m%dT%H%M%SZ", time.gmtime())
    written = save(rows, resources, meta, folder)
    for kind, path in written.items():
        say(f"{kind}: {path}")
    return status


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000,
                        help="users in the realm for userName eq and the walks (100000)")
    parser.add_argument("--group-members", type=int, default=10_000,
                        help="members of the group one member is added to (10000)")
    parser.add_argument("--sync-users", type=int, default=10_000,
                        help="users of the Entra-style initial sync, per side (10000)")
    parser.add_argument("--sync-groups", type=int, default=20,
                        help="groups of the sync (20)")
    parser.add_argument("--patch-members", type=int, default=100,
                        help="members per group PATCH in the sync (100)")
    parser.add_argument("--sync-chunk", type=int, default=250,
                        help="users a side syncs before the next side's turn (250)")
    parser.add_argument("--creates", type=int, default=200, help="creates per side (200)")
    parser.add_argument("--warmup", type=int, default=30,
                        help="untimed creates per side first (30)")
    parser.add_argument("--lookups", type=int, default=200, help="lookups per side (200)")
    parser.add_argument("--member-adds", type=int, default=50,
                        help="single-member adds per side (50)")
    parser.add_argument("--no-second-sync", dest="second_sync", action="store_false",
                        help="skip the bridge's second sync (RSS after it)")
    parser.add_argument("--batch", type=int, default=1000, help="partialImport batch (1000)")
    parser.add_argument("--seed-minutes", type=float, default=None,
                        help="seed for at most this long, then go on with the users seeded "
                             "(default: a third of --max-minutes)")
    parser.add_argument("--max-pages", type=int, default=5000,
                        help="pages per side and walk at most (5000)")
    parser.add_argument("--heap", default="-Xms512m -Xmx2g", help="Keycloak's heap")
    parser.add_argument("--max-minutes", type=float, default=30,
                        help="stop (and clean up) after this long (30)")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="folder of the results (bench/out, git-ignored)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the lookups")
    args = parser.parse_args(argv)
    for name in ("users", "sync_users", "sync_groups", "patch_members", "creates",
                 "lookups", "member_adds", "batch"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    args.batch = min(args.batch, 5000)
    if args.seed_minutes is None:
        args.seed_minutes = args.max_minutes / 3
    args.patch_members = min(args.patch_members, 100)  # Keycloak's SCIM: 100 per PATCH
    args.group_members = max(0, min(args.group_members, args.users))
    if args.users < args.group_members + 3 * args.member_adds + BRACKETED:
        parser.error(f"--users must exceed --group-members by 3 x --member-adds + {BRACKETED}")
    if args.users < 3 * (args.lookups + 10):
        parser.error("--users must be at least 3 x (--lookups + 10)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    return run(parse(argv))


if __name__ == "__main__":
    sys.exit(main())
