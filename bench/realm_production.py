"""The production example (realm-config/examples/production) on a real Keycloak: the time
of a first apply, of a no-change apply (and its admin writes, which must be 0) and of a
plan, each the median of a few runs, each run in a throwaway realm.

What is timed is the engine as ``bridge realm plan|apply`` runs it: load and validate the
configuration, plan (reads), apply (writes); not the Python start-up of the CLI, nor the
catalog's user reconcile that ``apply`` runs afterwards (the realm has no users here).

Run: python bench/realm_production.py [--runs 3]   (KEYCLOAK_URL + KEYCLOAK_ADMIN_* to use
a running server, else a local one is started and stopped)
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.keycloak import realm as kc_realm  # noqa: E402
from bridge.keycloak.client import AdminGateway  # noqa: E402
from bridge.local.keycloak import LocalKeycloak, free_port  # noqa: E402
from bridge.realm import desired, engine  # noqa: E402

PRODUCTION = ROOT / "realm-config" / "examples" / "production"


def production_env(url: str, realm: str) -> dict[str, str]:
    """The variables the example asks for; the upstream IdP need not exist to apply."""
    issuer = f"{url}/realms/{realm}-company"
    return {"BRIDGE_REALM": realm, "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(24),
            "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(24), "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": "2525", "SMTP_FROM": "no-reply@access.example",
            "PORTAL_URL": "https://portal.example", "STAFF_IDP_ISSUER": issuer,
            "STAFF_IDP_AUTHORIZATION_URL": f"{issuer}/protocol/openid-connect/auth",
            "STAFF_IDP_TOKEN_URL": f"{issuer}/protocol/openid-connect/token",
            "STAFF_IDP_JWKS_URL": f"{issuer}/protocol/openid-connect/certs",
            "STAFF_IDP_CLIENT_ID": "access-broker",
            "STAFF_IDP_CLIENT_SECRET": secrets.token_urlsafe(24)}


def writes(gateway: AdminGateway) -> int:
    return sum(n for kind, n in gateway.calls.by_kind.items() if not kind.startswith("GET "))


def timed(gateway: AdminGateway, step: Callable[[], Any]) -> tuple[float, int, int]:
    """Seconds, admin calls and admin writes of one step."""
    gateway.calls.reset()
    started = time.perf_counter()
    step()
    return time.perf_counter() - started, gateway.calls.total, writes(gateway)


def one_run(url: str, gateway: AdminGateway) -> dict[str, tuple[float, int, int]]:
    realm = f"bench-prod-{uuid.uuid4().hex[:8]}"
    env = production_env(url, realm)

    def apply() -> engine.Plan:
        plan = engine.plan(gateway, desired.load(PRODUCTION, env), realm)
        if not plan.empty:
            engine.apply(gateway, plan)
        return plan

    try:
        first = timed(gateway, apply)
        again = timed(gateway, lambda: assert_empty(apply()))
        plan = timed(gateway, lambda: assert_empty(
            engine.plan(gateway, desired.load(PRODUCTION, env), realm)))
    finally:
        kc_realm.delete(gateway, realm)
    return {"first apply": first, "no-change apply": again, "plan": plan}


def assert_empty(plan: engine.Plan) -> None:
    if not plan.empty:
        raise SystemExit(f"the plan after an apply is not empty: {plan.changes}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    local = None
    url = os.environ.get("KEYCLOAK_URL", "").rstrip("/")
    if url:
        gateway = AdminGateway.with_password(url, os.environ["KEYCLOAK_ADMIN_USERNAME"],
                                             os.environ["KEYCLOAK_ADMIN_PASSWORD"])
    else:
        import tempfile
        password = secrets.token_urlsafe(18)
        local = LocalKeycloak(state_dir=Path(tempfile.mkdtemp()), http_port=free_port(),
                              management_port=free_port())
        local.start("admin", password, log=print)
        url = local.url
        gateway = AdminGateway.with_password(url, "admin", password)
    try:
        runs = [one_run(url, gateway) for _ in range(max(1, args.runs))]
    finally:
        if local is not None:
            local.stop()
    print(f"production example, {len(runs)} runs (median; min-max)")
    print(f"{'step':<18}{'seconds':>9}{'range':>16}{'admin calls':>13}{'writes':>8}")
    worst_writes = 0
    for step in runs[0]:
        seconds = [r[step][0] for r in runs]
        calls = statistics.median(r[step][1] for r in runs)
        written = max(r[step][2] for r in runs)
        if step != "first apply":
            worst_writes = max(worst_writes, written)
        print(f"{step:<18}{statistics.median(seconds):>9.2f}"
              f"{f'{min(seconds):.2f}-{max(seconds):.2f}':>16}{calls:>13.0f}{written:>8}")
    return 1 if worst_writes else 0


if __name__ == "__main__":
    sys.exit(main())
