"""A round-robin HTTP load balancer on loopback: nginx from the machine's packages.

It stands in front of several bridge replicas the way an operator's balancer would. Every
answer carries ``X-Upstream`` (the replica's address) so a test can tell who served it.
A request is passed to the next replica only when connecting to one failed: nginx never
re-sends a request a replica may have received (a POST is not idempotent).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge.local.keycloak import MissingPiece, port_in_use
from bridge.local.packages import apt_install
from bridge.local.processes import stop_group, wait_ready

UPSTREAM_HEADER = "X-Upstream"


def nginx_command() -> str:
    """The nginx executable, installed from the Debian package when missing and root."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None and apt_install("nginx"):
        found = shutil.which("nginx") or ("/usr/sbin/nginx"
                                          if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        raise MissingPiece("nginx not found: install the nginx package")
    return found


def _config(root: Path, port: int, upstreams: Sequence[int], host: str) -> str:
    servers = "\n".join(f"    server {host}:{p} max_fails=0;" for p in upstreams)
    # Workers drop root privileges; the master (which opens logs and ports) keeps them.
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    temp = root / "tmp"
    return f"""{user}worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format upstream '$time_iso8601 $request_method $uri $status $upstream_addr '
                      '$request_time';
  access_log {root}/access.log upstream;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  upstream bridges {{
{servers}
    keepalive 16;
  }}
  server {{
    listen {host}:{port};
    client_max_body_size 2m;
    location / {{
      proxy_pass http://bridges;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_next_upstream error timeout;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 60s;
      add_header {UPSTREAM_HEADER} $upstream_addr always;
    }}
  }}
}}
"""


@dataclass
class RoundRobinBalancer:
    """nginx on ``host:port`` sharing requests in turn between ``upstreams`` (ports)."""

    port: int
    upstreams: Sequence[int]
    host: str = "127.0.0.1"
    root: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, wait: float = 20) -> RoundRobinBalancer:
        if port_in_use(self.port, self.host):
            raise MissingPiece(f"port {self.port} on {self.host} is in use by another process")
        nginx = nginx_command()
        self.root = Path(tempfile.mkdtemp(prefix="bridge-balancer-"))
        self.root.chmod(0o755)  # workers (nobody) reach their temp directories under it
        (self.root / "tmp").mkdir()
        conf = self.root / "nginx.conf"
        conf.write_text(_config(self.root, self.port, self.upstreams, self.host))
        with (self.root / "stderr.log").open("ab") as out:
            self._process = subprocess.Popen(
                [nginx, "-p", str(self.root), "-e", str(self.root / "error.log"),
                 "-c", str(conf)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        root = self.root
        wait_ready(self._process, lambda: port_in_use(self.port, self.host), what="nginx",
                   wait=wait, stop=self.stop, interval=0.1,
                   exited=lambda code: f"nginx exited with code {code}: "
                   + (root / "error.log").read_text(errors="replace")[-300:])
        return self

    def stop(self, wait: float = 10) -> None:
        process, self._process = self._process, None
        stop_group(process, signal.SIGQUIT, wait=wait)  # graceful: finish open requests
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> RoundRobinBalancer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
