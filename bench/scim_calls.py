"""Admin calls per SCIM operation, counted by the gateway (issue 3 budgets).

    KEYCLOAK_URL=http://127.0.0.1:8080 KEYCLOAK_ADMIN_USERNAME=admin \\
    KEYCLOAK_ADMIN_PASSWORD=... python bench/scim_calls.py [--members 10000]

Creates a throwaway realm (user profile ADMIN_EDIT, managed group /bridge/scim), seeds a
group of ``--members`` users with partialImport (batches of 500), runs each SCIM operation
once through the Flask app over :class:`KeycloakScimBackend`, prints the admin calls it
made, and deletes the realm. Exit 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from typing import Any

from flask import Flask

from bridge.keycloak import groups as kc_groups
from bridge.keycloak import realm as kc_realm
from bridge.keycloak import user_profile as kc_user_profile
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.paths import every_page
from bridge.provisioning import KeycloakScimBackend
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint
from scim.settings import ScimSettings

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
# Deactivate: GET, the fresh check that the user holds no admin role (a write never trusts
# the protected-set cache, issue 9), PUT. The protected set itself is read at most every
# protected_cache_ttl seconds (30 s by default), measured on its own row.
BUDGETS = {"create user": 1, "get user by id": 2, "userName eq filter": 1,
           "add one member to the big group": 1, "deactivate user": 3}


def setup_realm(gw: AdminGateway, realm: str) -> None:
    """The realm shape the bridge needs: attributes kept, the ``/bridge/scim`` tree."""
    kc_realm.create(gw, realm)
    profile = kc_user_profile.get(gw, realm)
    profile["unmanagedAttributePolicy"] = "ADMIN_EDIT"
    kc_user_profile.update(gw, realm, profile)
    bridge = kc_groups.create_top_level(gw, realm, {"name": "bridge"})
    kc_groups.create_child(gw, realm, bridge, {"name": "scim"})


def _seed(gw: AdminGateway, realm: str, group_path: str, members: int) -> float:
    started = time.monotonic()
    for start in range(0, members, 500):
        batch = [{"username": f"seed{i:06d}", "enabled": True, "groups": [group_path],
                  "attributes": {"scim.userName": [f"seed{i:06d}"]}}
                 for i in range(start, min(start + 500, members))]
        kc_realm.partial_import(gw, realm, {"ifResourceExists": "SKIP", "users": batch})
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=10_000,
                        help="members of the big group (default 10000)")
    args = parser.parse_args(argv)
    url = os.environ.get("KEYCLOAK_URL", "http://127.0.0.1:8080")
    username = os.environ.get("KEYCLOAK_ADMIN_USERNAME") or os.environ.get(
        "KC_BOOTSTRAP_ADMIN_USERNAME", "admin")
    password = os.environ.get("KEYCLOAK_ADMIN_PASSWORD") or os.environ.get(
        "KC_BOOTSTRAP_ADMIN_PASSWORD")
    if not password:
        print("set KEYCLOAK_ADMIN_PASSWORD", file=sys.stderr)
        return 2
    setup = AdminGateway.with_password(url, username, password)
    realm = f"bench-{uuid.uuid4().hex[:8]}"
    setup_realm(setup, realm)
    try:
        gw = AdminGateway.with_password(url, username, password)
        backend = KeycloakScimBackend(gw, realm)
        app = Flask(__name__)
        # Member PATCHes answer without the member list (the app's setting for large groups).
        app.register_blueprint(create_scim_blueprint(
            backend, lambda header: Subject("bench"),
            settings=ScimSettings(group_patch_returns_members=False)))
        client = app.test_client()

        def call(method: str, path: str, body: Any = None) -> Any:
            response = client.open(f"/scim/v2{path}", method=method,
                                   data=json.dumps(body) if body is not None else None,
                                   content_type="application/scim+json")
            if response.status_code >= 400:
                raise SystemExit(f"{method} {path}: {response.status_code} "
                                 f"{response.get_json()}")
            return response.get_json()

        group = call("POST", "/Groups", {"displayName": "Big"})
        seconds = _seed(setup, realm, "/bridge/scim/Big", args.members)
        print(f"realm {realm}: seeded {args.members} members in {seconds:.1f}s")

        results: dict[str, tuple[int, dict[str, int]]] = {}

        def measure(name: str, method: str, path: str, body: Any = None) -> Any:
            gw.calls.reset()
            answer = call(method, path, body)
            results[name] = (gw.calls.total, dict(gw.calls.by_kind))
            return answer

        measure("list users, protected set read (every 30 s)", "GET", "/Users?count=1")
        user = measure("create user", "POST", "/Users", {
            "schemas": [USER], "userName": "Bench.User", "externalId": "b-1",
            "name": {"givenName": "Bench", "familyName": "User"},
            "emails": [{"value": "bench.user@example.com", "primary": True}], "active": True})
        measure("get user by id", "GET", f"/Users/{user['id']}")
        found = measure("userName eq filter", "GET",
                        '/Users?filter=userName%20eq%20%22bench.user%22&startIndex=1&count=100')
        assert found["totalResults"] == 1, found
        # A warm managed-group cache (BRIDGE_GROUP_CACHE_TTL, 10 s by default: seeding
        # takes longer): the group was read moments ago, as in a client's burst of changes.
        call("GET", f"/Groups/{group['id']}?excludedAttributes=members")
        measure("add one member to the big group", "PATCH", f"/Groups/{group['id']}", {
            "schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": user["id"]}]}]})
        backend._groups.clear()  # the same PATCH on a cold managed-group cache
        other = call("POST", "/Users", {"schemas": [USER], "userName": "bench.cold"})
        measure("add one member (cold group cache)", "PATCH", f"/Groups/{group['id']}", {
            "schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": other["id"]}]}]})
        measure("deactivate user", "PATCH", f"/Users/{user['id']}", {
            "schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": False}}]})
        size = every_page(lambda first, max: kc_groups.members(
            setup, realm, group["id"], first=first, max=max))

        print(f"big group now has {len(size)} members\n")
        print(f"{'SCIM operation':<38}{'calls':>6}{'budget':>8}  admin calls")
        over = []
        for name, (total, kinds) in results.items():
            budget = BUDGETS.get(name)
            mark = "" if budget is None or total <= budget else "  OVER"
            if mark:
                over.append(name)
            detail = ", ".join(f"{k} x{v}" for k, v in kinds.items())
            print(f"{name:<38}{total:>6}{budget if budget is not None else '-':>8}  "
                  f"{detail}{mark}")
        return 1 if over else 0
    finally:
        kc_realm.delete(setup, realm)


if __name__ == "__main__":
    sys.exit(main())
