"""The bridge's CPU per Keycloak admin call: thread CPU time of one call through the gateway,
against another version of the gateway in the same run, interleaved.

    python bench/admin_call_cpu.py [--calls 2000] [--round 50] [--against main]

Uses the Keycloak of ``KEYCLOAK_URL`` (loopback only; ``KEYCLOAK_ADMIN_USERNAME``,
``KEYCLOAK_ADMIN_PASSWORD``) or starts its own, as ``scim_ratios.py`` does. Makes a throwaway
realm with one user, then, for each operation (``GET /users/{id}``, and the ``username``
lookup a SCIM filter makes), runs ``--calls`` calls per side in rounds of
``--round`` calls, the sides taking turns (order swapped every round), and reads
``time.thread_time()`` around each round: the CPU the calling thread spent, whatever
Keycloak (another process) and the rest of the machine did meanwhile. With ``--against
REF``, the other side is the gateway module (``bridge/keycloak/client.py``) of that git ref,
loaded next to this tree's; without it, this tree's alone. Prints the median CPU per call of
each side (and the rounds' spread) and the median of the per-round differences. The realm
is deleted at the end. Bounded: ``--calls`` x operations x sides calls, one at a time.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from scim_ratios import keycloak_target  # this folder: run as bench/admin_call_cpu.py

from bridge.keycloak import realm as kc_realm
from bridge.keycloak import users
from bridge.keycloak.client import AdminGateway
from bridge.observability.context import request_scope

ROOT = Path(__file__).resolve().parents[1]
GATEWAY_MODULE = "bridge/keycloak/client.py"


def gateway_of(ref: str) -> type[Any]:
    """The ``AdminGateway`` class of ``ref``'s gateway module, loaded under its own name."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{ref}:{GATEWAY_MODULE}"],
                            check=True, capture_output=True, text=True).stdout
    folder = Path(tempfile.mkdtemp(prefix="bench-gateway-"))
    path = folder / "gateway_at_ref.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("gateway_at_ref", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    path.unlink()
    folder.rmdir()
    return module.AdminGateway


def measure(sides: dict[str, Callable[[], object]], calls: int,
            per_round: int) -> dict[str, list[float]]:
    """CPU µs per call of each side, one figure per round, the sides taking turns."""
    for call in sides.values():  # warm: connections open, code paths loaded
        for _ in range(min(50, calls)):
            call()
    figures: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides.items())
    for _ in range(max(1, calls // per_round)):
        for name, call in order:
            began = time.thread_time()
            for _ in range(per_round):
                call()
            figures[name].append((time.thread_time() - began) / per_round * 1e6)
        order.reverse()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per side and operation")
    parser.add_argument("--round", type=int, default=50, help="calls per timed round")
    parser.add_argument("--against", metavar="REF", help="git ref of the other gateway")
    args = parser.parse_args()
    with keycloak_target() as target:
        return run(args, target.url, target.username, target.password)


def run(args: argparse.Namespace, url: str, username: str, password: str) -> int:
    classes: dict[str, type[Any]] = {"this tree": AdminGateway}
    if args.against:
        classes = {args.against: gateway_of(args.against), **classes}
    setup = AdminGateway.with_password(url, username, password)
    realm = f"bench-admin-cpu-{uuid.uuid4().hex[:8]}"
    kc_realm.create(setup, realm)
    try:
        user_id = users.create(setup, realm, {"username": "alice", "enabled": True,
                                              "email": "alice@example.com"})
        gateways = {name: cls.with_password(url, username, password)
                    for name, cls in classes.items()}
        operations: dict[str, Callable[[Any], Callable[[], object]]] = {
            "GET /users/{id}": lambda gw: lambda: users.get(gw, realm, user_id),
            "GET /users?username=": lambda gw: lambda: users.search(
                gw, realm, username="alice", exact="true", max=2),
        }
        print(f"{args.calls} calls per side and operation, rounds of {args.round}, "
              f"thread CPU per call (µs), median [quartiles] of the rounds")
        with request_scope("bench-admin-cpu"):  # as in a request: X-Request-Id on each call
            for operation, make in operations.items():
                figures = measure({name: make(gw) for name, gw in gateways.items()},
                                  args.calls, args.round)
                print(f"\n{operation}")
                for name, values in figures.items():
                    q1, _, q3 = statistics.quantiles(values, n=4)
                    print(f"  {name:>12}: {statistics.median(values):7.1f}  "
                          f"[{q1:.1f} – {q3:.1f}]")
                if len(figures) == 2:
                    (a, before), (b, after) = figures.items()
                    saved = statistics.median(x - y for x, y in zip(before, after, strict=True))
                    print(f"  {b} − {a}: {-saved:+.1f} µs per call "
                          f"({-saved / statistics.median(before):+.0%})")
    finally:
        kc_realm.delete(setup, realm)
    return 0


if __name__ == "__main__":
    sys.exit(main())
