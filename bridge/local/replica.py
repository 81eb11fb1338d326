"""One bridge replica under gunicorn, the production server, on loopback.

It runs the way the image runs it (Dockerfile: ``bridge serve``, :mod:`bridge.server`),
configured only through its environment, so several replicas of one deployment differ only
in the Keycloak node they point at and the port they serve on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

from bridge.local.keycloak import MissingPiece, port_in_use
from bridge.local.processes import stop_group, wait_ready

# What the harness changes of the server's defaults (bridge.server.DEFAULTS): a short
# grace period (tests stop replicas often) and gunicorn's access log, read by the tests.
GUNICORN_CMD_ARGS = "--graceful-timeout 5 --access-logfile -"


@dataclass
class BridgeReplica:
    """``gunicorn bridge.app:create_app()`` on ``host:port`` with ``env`` as its settings."""

    name: str
    port: int
    env: Mapping[str, str]
    log_file: Path
    host: str = "127.0.0.1"
    gunicorn_args: str = GUNICORN_CMD_ARGS
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, wait: float = 60) -> BridgeReplica:
        if port_in_use(self.port, self.host):
            raise MissingPiece(f"port {self.port} on {self.host} is in use by another process")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/"),
               "LC_ALL": "C.UTF-8", "GUNICORN_CMD_ARGS": self.gunicorn_args, **self.env}
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--host", self.host,
                 "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True)
        log_file = self.log_file

        def healthy() -> bool:
            with contextlib.suppress(requests.RequestException):
                return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
            return False

        wait_ready(self._process, healthy, what=f"replica {self.name}", wait=wait,
                   stop=self.stop, exited=lambda code: f"replica {self.name} exited with "
                   f"code {code}: {log_file.read_text(errors='replace')[-500:]}")
        return self

    def stop(self, wait: float = 15) -> None:
        process, self._process = self._process, None
        stop_group(process, signal.SIGTERM, wait=wait)

    def __enter__(self) -> BridgeReplica:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
