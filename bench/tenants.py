"""Tenants as Keycloak Organizations at scale (issue 14), on a real Keycloak, loopback only.

Seed 004's catalog is applied to a throwaway realm (deleted at the end), then:

1. **create tenants**: ``--tenants`` dossiers (default 10,000) through
   :meth:`bridge.tenants.service.TenantService.add` (the CLI's and the API's path: one
   exact search, one ``POST /organizations`` each), by ``--workers`` threads; time and
   admin calls.
2. **cap change on a big tenant**: ``--members`` users (default 5,000) seeded with
   ``partialImport`` (batches of 100 users, their catalog state as attributes: one call per
   batch) and joined to one tenant with ``POST /organizations/{id}/members``: Keycloak
   26.7 has no bulk membership call and ``partialImport`` ignores organizations, so one
   call per member, by ``--workers`` threads (the seeding is not what is measured). Then
   ``TenantService.set(caps=[payments.use])``, which recomputes that tenant's members
   only: time, admin calls (by kind) and members written; the realm's other users (none
   here but the tenants' own) are never read.
3. **token size**: a user of 1, 100 and 500 of those tenants (every other one enables
   payments), its catalog state written as every write path writes it, logs in on the
   portal (auth code + PKCE, scripted); access and ID token sizes, and whether the
   tenants are inline or behind ``access_ref``.

Use a Keycloak of its own (the default, without ``KEYCLOAK_URL``): 10,000 organizations and
5,000 users are more than a shared dev server (H2) should carry.

Bounded: every count is a flag; ``--time-limit`` (default 1,500 s) stops the creation
loop early (the table says how many were made). Run: ``python bench/tenants.py``
(``KEYCLOAK_URL`` + ``KEYCLOAK_ADMIN_*`` to use a running server, else a local one is
started and stopped).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scim_ratios import keycloak_target  # noqa: E402  (this folder: run as bench/tenants.py)

from bridge.catalog.load import load as load_catalog  # noqa: E402
from bridge.catalog.mapping import user_state  # noqa: E402
from bridge.catalog.model import Assignment, Catalog  # noqa: E402
from bridge.errors import NotFound  # noqa: E402
from bridge.keycloak import organizations as kc_orgs  # noqa: E402
from bridge.keycloak import realm as kc_realm  # noqa: E402
from bridge.keycloak import users as kc_users  # noqa: E402
from bridge.keycloak.client import AdminGateway  # noqa: E402
from bridge.realm import desired, engine  # noqa: E402
from bridge.tenants.model import LiveTenant  # noqa: E402
from bridge.tenants.service import TenantService  # noqa: E402
from bridge.tenants.store import with_tenants  # noqa: E402
from tests.support.login import Browserless  # noqa: E402

EXAMPLE = ROOT / "realm-config" / "examples" / "004-accounting-portal"
PASSWORD = "A-long-enough-pass-1"
LIMIT = 8 * 1024
TOKEN_SIZES = (1, 100, 500)
ACTOR = "operator:bench"
IMPORT_BATCH = 100
"""Users per partialImport: 500 took over the gateway's 30 s timeout on a loaded dev server."""


def alias(i: int) -> str:
    return f"dossier-client-company-{i:05d}"


def caps_of(i: int) -> tuple[str, ...]:
    return ("payments.use",) if i % 2 else ()


class Calls:
    """Admin calls made between two points, by kind."""

    def __init__(self, gw: AdminGateway) -> None:
        self.gw = gw
        self.before = Counter(gw.calls.by_kind)

    def since(self) -> Counter[str]:
        return Counter(self.gw.calls.by_kind) - self.before


def create_tenants(service: TenantService, count: int, workers: int,
                   deadline: float) -> tuple[int, float, Counter[str]]:
    calls = Calls(service.gw)
    began = time.perf_counter()

    def one(i: int) -> bool:
        if time.perf_counter() > deadline:
            return False
        service.add(ACTOR, alias(i), f"Client company {i}", caps=caps_of(i))
        return True

    with ThreadPoolExecutor(workers) as pool:
        made = sum(pool.map(one, range(count)))
    return made, time.perf_counter() - began, calls.since()


def seed_members(gw: AdminGateway, realm: str, catalog: Catalog, tenant: LiveTenant,
                 members: int, workers: int) -> tuple[float, int, str]:
    """``members`` users of ``tenant``: partialImport (their state as attributes), then one
    membership call each. Returns the time, the calls and one member's id."""
    calls = Calls(gw)
    began = time.perf_counter()
    live = with_tenants(catalog, [tenant])
    state = user_state(live, Assignment.of("external", "client-user", "full-access",
                                           tenants=[tenant.alias]))
    ids: list[str] = []
    for start in range(0, members, IMPORT_BATCH):
        batch = [{"username": f"member{i:06d}", "email": f"member{i:06d}@example.com",
                  "firstName": "Member", "lastName": f"{i}", "enabled": True,
                  "emailVerified": True, "attributes": state.attribute_lists()}
                 for i in range(start, min(start + IMPORT_BATCH, members))]
        summary = kc_realm.partial_import(gw, realm, {"ifResourceExists": "SKIP",
                                                      "users": batch})
        ids += [r["id"] for r in summary.get("results", ()) if r.get("resourceType") == "USER"]
    assert len(ids) == members, (len(ids), members)
    assert tenant.id is not None
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda uid: kc_orgs.add_member(gw, realm, tenant.id, uid), ids))
    return time.perf_counter() - began, sum(calls.since().values()), ids[0]


def token_row(url: str, gw: AdminGateway, realm: str, catalog: Catalog,
              tenants: list[LiveTenant]) -> tuple[int, int, int, str]:
    live = with_tenants(catalog, tenants)
    name = f"holder-{len(tenants)}"
    state = user_state(live, Assignment.of("external", "client-user", "full-access",
                                           tenants=[t.alias for t in tenants]))
    kc_users.create(gw, realm, {
        "username": name, "email": f"{name}@example.com", "firstName": "Many",
        "lastName": "Dossiers", "enabled": True, "emailVerified": True,
        "attributes": state.attribute_lists(),
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
    tokens = Browserless().sign_in(f"{url}/realms/{realm}", name, PASSWORD)
    claims = tokens.access_claims
    how = ("inline" if "tenants" in claims else f"access_ref={claims.get('access_ref')}")
    return len(tenants), len(tokens.access_token), len(tokens.id_token or ""), how


def run(url: str, gw: AdminGateway, args: argparse.Namespace) -> dict[str, Any]:
    realm = f"bench-tenants-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(16),
           "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(16)}
    config = desired.load([ROOT / "realm-config", EXAMPLE], env)
    engine.apply(gw, engine.plan(gw, config, realm))
    result: dict[str, Any] = {}
    try:
        rep = kc_realm.get(gw, realm)
        if not rep.get("organizationsEnabled"):
            kc_realm.update(gw, realm, {"organizationsEnabled": True})
        catalog = load_catalog(EXAMPLE)
        service = TenantService(gw, realm, catalog)
        deadline = time.perf_counter() + args.time_limit
        made, seconds, calls = create_tenants(service, args.tenants, args.workers, deadline)
        result["create"] = (made, seconds, calls)

        big = service.get(alias(0))  # enables nothing beyond the baseline: payments off
        result["seed"] = seed_members(gw, realm, catalog, big, args.members, args.workers)
        calls_before = Calls(gw)
        began = time.perf_counter()
        change = service.set(ACTOR, big.alias, caps=["payments.use"])
        result["caps"] = (args.members, time.perf_counter() - began, calls_before.since(),
                          change.recomputed)
        member = kc_users.get(gw, realm, result["seed"][2])
        result["sample"] = "payments.use" in (member.get("attributes") or {}).get(
            "permissions", ())

        rows = []
        for size in args.token_sizes:
            if size > made:
                continue
            tenants = [service.get(alias(i)) for i in range(size)]
            rows.append(token_row(url, gw, realm, catalog, tenants))
        result["tokens"] = rows
    finally:
        try:
            kc_realm.delete(gw, realm)
        except NotFound:
            pass  # a first attempt that outran the timeout deleted it
        except Exception as exc:  # the run's figures still print
            print(f"could not delete realm {realm} ({exc}): delete it by hand",
                  file=sys.stderr)
    return result


def print_table(result: dict[str, Any], args: argparse.Namespace) -> int:
    made, seconds, calls = result["create"]
    print(f"create tenants: {made:,} of {args.tenants:,} in {seconds:.1f}s "
          f"({made / seconds:.0f}/s, {args.workers} workers), {sum(calls.values()):,} admin "
          f"calls ({sum(calls.values()) / max(made, 1):.1f} per tenant)")
    for kind, n in sorted(calls.items()):
        print(f"    {n:>8,}  {kind}")
    seed_time, seed_calls, _ = result["seed"]
    print(f"seed members: {args.members:,} in {seed_time:.1f}s, {seed_calls:,} admin calls "
          f"(partialImport by {IMPORT_BATCH} + one membership call each)")
    members, cap_time, cap_calls, recomputed = result["caps"]
    total = sum(cap_calls.values())
    print(f"cap change on a tenant of {members:,} members: {cap_time:.1f}s, {total:,} admin "
          f"calls ({total / max(members, 1):.2f} per member), {recomputed.members:,} "
          f"recomputed, {recomputed.written:,} written, {len(recomputed.busy)} busy; a "
          f"member's permissions now hold payments.use: {result['sample']}")
    for kind, n in sorted(cap_calls.items()):
        print(f"    {n:>8,}  {kind}")
    print(f"{'tenants':>8} {'access token':>13} {'id token':>9}  tenants and permissions")
    worst = 0
    for size, access, id_token, how in result["tokens"]:
        worst = max(worst, access)
        print(f"{size:>8,} {access:>12,}B {id_token:>8,}B  {how}")
    print(f"largest access token {worst:,} bytes (limit {LIMIT:,}): "
          f"{'OK' if worst <= LIMIT else 'OVER'}")
    return 0 if worst <= LIMIT and recomputed.written == members and result["sample"] else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=5_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=1_500.0,
                        help="seconds the tenant creation may take (it stops early)")
    parser.add_argument("--token-sizes", type=int, nargs="*", default=list(TOKEN_SIZES))
    args = parser.parse_args(argv)
    with keycloak_target() as target:  # KEYCLOAK_URL (loopback only) or an own instance
        gw = AdminGateway.with_password(target.url, target.username, target.password)
        began = time.perf_counter()
        result = run(target.url, gw, args)
    code = print_table(result, args)
    print(f"total {time.perf_counter() - began:.0f}s")
    return code


if __name__ == "__main__":
    sys.exit(main())
