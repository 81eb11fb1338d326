"""Local services as process groups: wait until one is ready, stop one gracefully.

PostgreSQL, nginx and the gunicorn replicas of the cluster harness start in a session of
their own (``start_new_session=True``), so stopping one signals its whole group (workers
included) and never anything else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable

from bridge.local.keycloak import MissingPiece


def wait_ready(process: subprocess.Popen[bytes], ready: Callable[[], bool], *, what: str,
               wait: float, exited: Callable[[int], str], stop: Callable[[], None],
               interval: float = 0.2) -> None:
    """Until ``ready()``: a process that exits meanwhile raises :class:`MissingPiece` with
    ``exited(returncode)``; past ``wait`` seconds the service is stopped and refused."""
    deadline = time.monotonic() + wait
    while not ready():
        if process.poll() is not None:
            raise MissingPiece(exited(process.returncode))
        if time.monotonic() > deadline:
            stop()
            raise MissingPiece(f"{what} not ready after {wait:.0f}s")
        time.sleep(interval)


def stop_group(process: subprocess.Popen[bytes] | None, graceful: signal.Signals, *,
               wait: float) -> None:
    """Send ``graceful`` to the process's group, then SIGKILL after ``wait`` seconds."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, graceful)
    try:
        process.wait(wait)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
