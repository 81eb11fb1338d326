"""A throwaway PostgreSQL server on loopback for tests (the lock backend of several replicas).

The server's binaries refuse to run as root: when the tests run as root, the server runs as
the ``postgres`` system user (created by the Debian package), in a temporary directory it
owns. It listens on 127.0.0.1 only, with a password (scram-sha-256), and is removed on stop.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bridge.local.keycloak import free_port


def binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or ``None`` when not installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


@dataclass
class LocalPostgres:
    port: int = field(default_factory=free_port)
    user: str = "bridge"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    directory: Path | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> LocalPostgres:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL is not installed (initdb not found)")
        self.directory = Path(tempfile.mkdtemp(prefix="bridge-pg-"))
        data = self.directory / "data"
        pwfile = self.directory / "pw"
        pwfile.write_text(self.password)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        pwfile.chmod(0o600)
        self._run(str(bin_dir / "initdb"), "-D", str(data), "-U", self.user,
                  f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync")
        pwfile.unlink()
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.directory} -c fsync=off "
                   "-c max_connections=60")
        self._run(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-t", "60",
                  "-l", str(self.directory / "log"), "-o", options, "start")
        return self

    def stop(self) -> None:
        if self.directory is None:
            return
        bin_dir = binaries()
        try:
            if bin_dir is not None:
                self._run(str(bin_dir / "pg_ctl"), "-D", str(self.directory / "data"),
                          "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
