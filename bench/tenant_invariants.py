"""Tenant invariants (seed 004): the holder count's exactness and time at scale, and the
admin calls of each SCIM write with the catalog (issue 14).

    KEYCLOAK_URL=http://127.0.0.1:8080 KEYCLOAK_ADMIN_USERNAME=admin \\
    KEYCLOAK_ADMIN_PASSWORD=... python bench/tenant_invariants.py [--users 5000]

Applies seed 004 to a throwaway realm, seeds ``--users`` client users over ``--dossiers``
dossiers with partialImport (one Administrator per dossier, one disabled Administrator
per ten, the rest of other profiles; dossier names that prefix each other), then:

- times ``GET /users/count?q=tenants:<t> profiles:administrator&enabled=true`` (the first of
  the two counts a write that takes an Administrator away makes; the other, on
  ``access_overflow.tenants``, finds nobody here) and checks it against the seeded truth;
- counts the admin calls of SCIM writes through the catalog (gateway counter): a create
  with a profile, a dossier's first user without one, a later one without one, the
  deactivation of a user holding no Administrator profile, of one of two Administrators,
  and the refused deactivation of the last one. The budgets leave out the calls on
  organizations (the live tenants' reads and memberships, :mod:`bridge.tenants`).

Deletes the realm. Exit 1 when a count is wrong or a call budget is exceeded.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge import errors as domain  # noqa: E402
from bridge.catalog.load import load as load_catalog  # noqa: E402
from bridge.keycloak import realm as kc_realm  # noqa: E402
from bridge.keycloak.client import AdminGateway  # noqa: E402
from bridge.provisioning import KeycloakScimBackend  # noqa: E402
from bridge.provisioning.access_schema import ACCESS_SCHEMA  # noqa: E402
from bridge.provisioning.catalog_access import CatalogAccess  # noqa: E402
from bridge.realm import desired, engine  # noqa: E402
from bridge.tenants.invariants import KeycloakTenantCounts  # noqa: E402
from scim.resources import USER_SCHEMA  # noqa: E402
from tests.integration.test_scim_support import PATCH_OP, Scim, make_app  # noqa: E402

EXAMPLE = ROOT / "realm-config" / "examples" / "004-accounting-portal"
OTHER_PROFILES = ("full-access", "full-feedback", "document-processing", "document-delivery")
# Each count is two calls: the tenants inline and behind the access reference.
BUDGETS = {"create with a profile": 1, "create, first user of a dossier (default)": 3,
           "create, later user without profile": 3, "deactivate, no Administrator": 3,
           "deactivate, one of two Administrators": 5,
           "deactivate, last Administrator (refused 409)": 4}


def dossier(i: int) -> str:
    # dossier-1, dossier-10, dossier-100...: names that prefix each other, so an inexact
    # (prefix or substring) match would count the wrong users.
    return f"dossier-{i}"


def seed(gw: AdminGateway, realm: str, users: int, dossiers: int) -> dict[str, int]:
    """partialImport batches; returns the true number of active Administrators per dossier."""
    truth: dict[str, int] = {}
    batch: list[dict[str, Any]] = []
    for i in range(users):
        tenant = dossier(i % dossiers)
        first = i < dossiers
        disabled_admin = not first and i % 10 == 0
        profile = "administrator" if first or disabled_admin else \
            OTHER_PROFILES[i % len(OTHER_PROFILES)]
        if profile == "administrator" and not disabled_admin:
            truth[tenant] = truth.get(tenant, 0) + 1
        batch.append({"username": f"seed{i:06d}", "enabled": not disabled_admin,
                      "attributes": {"user_type": ["external"], "status": ["client-user"],
                                     "profiles": [profile], "tenants": [tenant]}})
        if len(batch) == 500:
            kc_realm.partial_import(gw, realm, {"ifResourceExists": "SKIP", "users": batch})
            batch = []
    if batch:
        kc_realm.partial_import(gw, realm, {"ifResourceExists": "SKIP", "users": batch})
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=5_000)
    parser.add_argument("--dossiers", type=int, default=500)
    args = parser.parse_args(argv)
    url = os.environ.get("KEYCLOAK_URL", "http://127.0.0.1:8080")
    password = os.environ.get("KEYCLOAK_ADMIN_PASSWORD")
    if not password:
        print("set KEYCLOAK_ADMIN_PASSWORD", file=sys.stderr)
        return 2
    admin = AdminGateway.with_password(url, os.environ.get("KEYCLOAK_ADMIN_USERNAME",
                                                           "admin"), password)
    realm = f"bench-inv-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(16),
           "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(16)}
    failed = False
    try:
        engine.apply(admin, engine.plan(admin, desired.load([ROOT / "realm-config", EXAMPLE],
                                                            env), realm))
        started = time.monotonic()
        truth = seed(admin, realm, args.users, args.dossiers)
        print(f"realm {realm}: {args.users} users over {args.dossiers} dossiers seeded in "
              f"{time.monotonic() - started:.0f}s")
        counts = KeycloakTenantCounts(admin, realm)
        for name in (dossier(1), dossier(10), dossier(100 % args.dossiers)):
            times, found = [], 0
            for _ in range(5):
                began = time.perf_counter()
                found = counts.holders(name, "administrator")
                times.append(time.perf_counter() - began)
            exact = found == truth.get(name, 0)
            failed |= not exact
            print(f"holders of {name:<12} {found:>3} (seeded {truth.get(name, 0)}) "
                  f"{'exact' if exact else 'WRONG'}; median {statistics.median(times) * 1000:.1f}"
                  f" ms, max {max(times) * 1000:.1f} ms over 5")

        backend = KeycloakScimBackend(admin, realm,
                                      domain=CatalogAccess(load_catalog(EXAMPLE)))
        scim = Scim(make_app(backend).test_client())
        rows: dict[str, tuple[int, int, dict[str, int]]] = {}

        def user(name: str, tenant: str, profile: str | None) -> dict[str, Any]:
            access = {"userType": "external", "status": "client-user", "tenants": [tenant]}
            if profile:
                access["profile"] = profile
            return {"schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
                    "name": {"givenName": "Bench", "familyName": name},
                    "emails": [{"value": f"{name}@example.com", "primary": True}],
                    ACCESS_SCHEMA: access}

        def deactivate(user_id: str) -> dict[str, Any]:
            return {"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "value": {"active": False}}]}

        def measure(name: str, method: str, path: str, body: Any) -> Any:
            admin.calls.reset()
            answer = scim.call(method, path, body)
            rows[name] = (answer.status_code, admin.calls.total, dict(admin.calls.by_kind))
            if answer.status_code >= 400:
                print(f"{name}: {answer.status_code} {answer.get_json()}")
            return answer

        # The catalog's own dossiers (the seeded ones only exist to be counted).
        # A first write resolves the admin client's id once (cached): measure warm writes.
        warm = scim.post("/Users", user("warm.up", "dossier-acme", "full-access")).get_json()
        scim.call("PATCH", f"/Users/{warm['id']}", deactivate(warm["id"]))
        viewer = measure("create with a profile", "POST", "/Users",
                         user("bench.viewer", "dossier-acme", "full-access")).get_json()["id"]
        new = "dossier-bakery"
        first = measure("create, first user of a dossier (default)", "POST", "/Users",
                        user("first.user", new, None)).get_json()
        assert first[ACCESS_SCHEMA]["profiles"] == ["administrator"], first
        measure("create, later user without profile", "POST", "/Users",
                user("later.user", new, None))
        measure("deactivate, no Administrator", "PATCH", f"/Users/{viewer}",
                deactivate(viewer))
        second = scim.post("/Users", user("second.admin", new, "administrator")).get_json()
        measure("deactivate, one of two Administrators", "PATCH", f"/Users/{first['id']}",
                deactivate(first["id"]))
        measure("deactivate, last Administrator (refused 409)", "PATCH",
                f"/Users/{second['id']}", deactivate(second["id"]))

        print(f"\n{'SCIM write (seed 004 catalog)':<46}{'status':>7}{'calls':>6}{'orgs':>5}"
              f"{'others':>7}{'budget':>7}  admin calls")
        for name, (status, total, kinds) in rows.items():
            # The live tenants' reads and memberships (organizations) are the tenant
            # store's cost; the budget is the rest: the write's own, and the invariants'.
            orgs = sum(v for k, v in kinds.items() if "/organizations" in k)
            budget = BUDGETS[name]
            over = total - orgs > budget
            failed |= over
            detail = ", ".join(f"{k} x{v}" for k, v in kinds.items())
            print(f"{name:<46}{status:>7}{total:>6}{orgs:>5}{total - orgs:>7}{budget:>7}  "
                  f"{detail}{'  OVER' if over else ''}")
        failed |= rows["deactivate, last Administrator (refused 409)"][0] != 409
    finally:
        _delete(admin, realm)
    return 1 if failed else 0


def _delete(admin: AdminGateway, realm: str) -> None:
    """Delete the realm; a busy Keycloak may answer 500 to the delete of a realm of 5,000
    users (and finish it anyway): tried again, then named for an operator."""
    for attempt in range(3):
        try:
            kc_realm.delete(admin, realm)
            return
        except domain.NotFound:
            return  # the earlier attempt finished it
        except domain.DirectoryError as exc:
            print(f"deleting realm {realm} failed ({exc}); attempt {attempt + 1} of 3",
                  file=sys.stderr)
            time.sleep(10)
    print(f"realm {realm} is left: delete it by hand", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
