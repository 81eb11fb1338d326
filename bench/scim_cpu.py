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

On a shared, noisy machine, count instructions instead of time: ``--trampoline`` runs each
operation's ``--calls`` inside one ``sys.call_tracing`` (a C function nothing else calls),
so that callgrind counts each operation alone, one dump per operation, deterministically::

    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=sys_call_tracing \
        --dump-after=sys_call_tracing --callgrind-out-file=cg.out \
        python bench/scim_cpu.py --trampoline --calls 50
    grep summary: cg.out.1 cg.out.2 cg.out.3   # create, lookup, patch (x --calls)
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import pstats
import statistics
import sys
import time
import uuid
from typing import Any

from scim_ratios import scim_payload  # this folder: run as bench/scim_cpu.py

from bridge.keycloak.client import AdminGateway
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.audited import AuditedScimBackend
from scim.backend import Subject
from scim.handlers import ScimHandlers, ScimRequest
from scim.settings import ScimSettings

REALM = "bench"
ROOT_ID = "root-0000"
GROUP_ID = "group-0001"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


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
    # Caches kept for the whole run (a slow run, e.g. under callgrind, would read them again)
    backend = KeycloakScimBackend(gateway, REALM, protected_cache_ttl=3600, group_cache_ttl=3600)
    settings = ScimSettings(group_patch_returns_members=False)
    return ScimHandlers(AuditedScimBackend(backend), settings), gateway


SUBJECT = Subject("bench")
BASE = "https://bridge.example/scim/v2"
HEADERS = {"Content-Type": "application/scim+json"}


def create(handlers: ScimHandlers, n: int) -> Any:
    body = json.dumps(scim_payload(f"user{n:06d}", n)).encode()
    response = handlers.handle(ScimRequest("POST", "/Users", BASE, SUBJECT, headers=HEADERS,
                                           body=body))
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
    parser.add_argument("--trampoline", action="store_true",
                        help="run each operation's calls in one sys.call_tracing (callgrind)")
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
    if args.trampoline:
        for act in operations.values():
            sys.call_tracing(lambda act=act: [act(n) for n in range(args.calls)], ())
        return 0
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
