"""The bridge's own CPU per SCIM operation, in-process, with Keycloak answered by a stub.

    python bench/scim_cpu.py [--calls 1000] [--profile create|lookup|patch]

The production chain below HTTP (``ScimHandlers`` over ``AuditedScimBackend`` over
``KeycloakScimBackend``), with the admin gateway replaced by one that answers each admin
call at once from memory: what is left is the bridge's CPU (validation, mapping,
rendering, audit), without Flask, gunicorn or the HTTP client. Three operations of an
Entra/Okta sync: ``POST /Users`` (create), ``GET /Users?filter=userName eq "x"`` (lookup,
one user in a ListResponse) and ``PATCH /Groups/{id}`` adding one member (200, members
excluded). Each runs ``--calls`` times after a warm-up; the thread CPU time
(``time.thread_time``) per call is printed, the median of ``--rounds`` rounds.
``--profile`` prints a cProfile of one operation instead (the 30 costliest, cumulative).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import pstats
import statistics
import time
import uuid
from typing import Any

from bridge.keycloak.client import AdminGateway
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.audited import AuditedScimBackend
from scim.backend import Subject
from scim.handlers import ScimHandlers, ScimRequest
from scim.settings import ScimSettings

REALM = "bench"
ROOT_ID = "root-0000"
GROUP_ID = "group-0001"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def payload(n: int) -> dict[str, Any]:
    """An Entra/Okta-shaped create (as bench/scim_ratios.py sends)."""
    user_name = f"user{n:06d}"
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


class StubGateway(AdminGateway):
    """Answers the admin calls of create, lookup and member PATCH from memory."""

    def __init__(self) -> None:
        super().__init__(lambda: None)  # type: ignore[arg-type,return-value]
        self.users: dict[str, dict[str, Any]] = {}
        self.by_name: dict[str, dict[str, Any]] = {}
        self.group = {"id": GROUP_ID, "name": "Sales", "path": "/bridge/scim/Sales",
                      "parentId": ROOT_ID, "attributes": {
                          "scim.created": ["2026-12-01T10:00:00.000+00:00"],
                          "scim.lastModified": ["2026-12-01T10:00:00.000+00:00"],
                          "scim.externalId": ["ext-sales"]}}

    def get(self, path: str, **params: Any) -> Any:
        if path.endswith("/group-by-path/bridge/scim"):
            return {"id": ROOT_ID, "name": "scim", "path": "/bridge/scim"}
        if path.endswith(f"/groups/{GROUP_ID}"):
            return self.group
        if path.endswith("/users/count"):
            return 1
        if path.endswith("/users") and "username" in params:
            found = self.by_name.get(params["username"].lower())
            return [found] if found else []
        if path.endswith("/clients"):
            return [{"id": "realm-management-id", "clientId": "realm-management"}]
        if path.endswith("/composite"):
            return []
        if "/users/" in path:
            return self.users[path.rsplit("/", 1)[-1]]
        return []  # role listings, members, subgroups: none

    def post(self, path: str, body: Any = None, **params: Any) -> str | None:
        user_id = str(uuid.UUID(int=len(self.users) + 1))
        stored = {**body, "id": user_id, "username": body["username"].lower(),
                  "email": (body.get("email") or "").lower() or None,
                  "createdTimestamp": 1764583200000}
        self.users[user_id] = stored
        self.by_name[stored["username"]] = stored
        return user_id

    def put(self, path: str, body: Any = None, **params: Any) -> None:
        return None

    def delete(self, path: str, body: Any = None) -> None:
        return None


def build() -> tuple[ScimHandlers, StubGateway]:
    gateway = StubGateway()
    backend = KeycloakScimBackend(gateway, REALM)
    settings = ScimSettings(group_patch_returns_members=False)
    return ScimHandlers(AuditedScimBackend(backend), settings), gateway


SUBJECT = Subject("bench")
BASE = "https://bridge.example/scim/v2"
HEADERS = {"Content-Type": "application/scim+json"}


def create(handlers: ScimHandlers, n: int) -> Any:
    response = handlers.handle(ScimRequest("POST", "/Users", BASE, SUBJECT, headers=HEADERS,
                                           body=json.dumps(payload(n)).encode()))
    assert response.status == 201, response.body
    return response


def lookup(handlers: ScimHandlers, n: int) -> Any:
    response = handlers.handle(ScimRequest(
        "GET", "/Users", BASE, SUBJECT, query={"filter": f'userName eq "user{n:06d}"'}))
    assert response.status == 200 and response.body["totalResults"] == 1, response.body
    return response


def patch(handlers: ScimHandlers, n: int, user_ids: list[str]) -> Any:
    body = {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": user_ids[n % len(user_ids)]}]}]}
    response = handlers.handle(ScimRequest("PATCH", f"/Groups/{GROUP_ID}", BASE, SUBJECT,
                                           headers=HEADERS, body=json.dumps(body).encode()))
    assert response.status == 200, response.body
    return response


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", choices=("create", "lookup", "patch"))
    args = parser.parse_args(argv)
    if not 0 < args.calls <= 100_000 or not 0 < args.rounds <= 20:
        parser.error("--calls takes 1 to 100000, --rounds 1 to 20")
    logging.disable(logging.CRITICAL)  # the audit lines: their formatting is not measured
    handlers, gateway = build()
    total = args.calls * args.rounds
    for n in range(200):  # warm-up: caches, the protected set, the group cache
        create(handlers, total + n)
    ids = list(gateway.users)
    for n in range(200):
        lookup(handlers, total + n)
        patch(handlers, n, ids)

    operations = {
        "create": lambda n: create(handlers, n),
        "lookup": lambda n: lookup(handlers, total + n % 200),
        "patch": lambda n: patch(handlers, n, ids),
    }
    if args.profile:
        act = operations[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(args.calls):
            act(n)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(30)
        return 0
    for name, act in operations.items():
        per_call = []
        for r in range(args.rounds):
            began = time.thread_time()
            for n in range(r * args.calls, (r + 1) * args.calls):
                act(n)
            per_call.append((time.thread_time() - began) / args.calls)
        print(f"{name}: {1e6 * statistics.median(per_call):.0f} us CPU per call "
              f"(median of {args.rounds} x {args.calls}; min {1e6 * min(per_call):.0f})",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
