"""Cold and warm start of the pinned local Keycloak, in seconds to /health/ready.

cold: a new state directory (Keycloak creates its database and bootstrap admin);
warm: the same directory started again. The distribution is built beforehand and its
set-up time is reported apart. Run: python bench/keycloak_start.py [runs]
"""

from __future__ import annotations

import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bridge.local.keycloak import KEYCLOAK_VERSION, LocalKeycloak, ensure_distribution, free_port


def timed_start(instance: LocalKeycloak, password: str) -> float:
    began = time.perf_counter()
    instance.start("admin", password)
    return time.perf_counter() - began


def main(runs: int = 2) -> None:
    began = time.perf_counter()
    ensure_distribution()
    print(f"Keycloak {KEYCLOAK_VERSION}: distribution ready in {time.perf_counter() - began:.1f}s")
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as state:
            instance = LocalKeycloak(Path(state), http_port=free_port(),
                                     management_port=free_port())
            password = secrets.token_urlsafe(12)
            try:
                cold.append(timed_start(instance, password))
                instance.stop()
                warm.append(timed_start(instance, password))
            finally:
                instance.stop()
    print(f"cold start: median {statistics.median(cold):.1f}s  runs {[round(x, 1) for x in cold]}")
    print(f"warm start: median {statistics.median(warm):.1f}s  runs {[round(x, 1) for x in warm]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
