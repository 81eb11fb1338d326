"""Calls made at the same moment, for the tests of what replicas do concurrently."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def together(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment (a barrier releases them together); their results
    in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))
