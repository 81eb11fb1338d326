"""A throwaway PostgreSQL server on loopback, from the machine's PostgreSQL packages.

Used by the production-shape tests: production Keycloak keeps its data there, and the
bridge's replicas may take their advisory locks on it. The server runs from a fresh data
directory, listens on 127.0.0.1 only (TCP, no Unix socket outside its own directory) and
requires a password. PostgreSQL refuses to run as root: when started by root, it runs as
the ``postgres`` system user the Debian package creates.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge.local.keycloak import MissingPiece, port_in_use
from bridge.local.packages import apt_install
from bridge.local.processes import stop_group, wait_ready

# Debian installs the server binaries under /usr/lib/postgresql/<major>/bin, not on PATH.
_DEBIAN_BIN = Path("/usr/lib/postgresql")
SYSTEM_USER = "postgres"


def server_bin_dir() -> Path:
    """The directory of ``initdb``/``pg_ctl``/``postgres``, installing them when root."""
    found = _find_bin_dir()
    if found is None and apt_install("postgresql"):
        found = _find_bin_dir()
    if found is None:
        raise MissingPiece("PostgreSQL server binaries (initdb, postgres) not found: "
                           "install the postgresql package")
    return found


def _find_bin_dir() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    versions = sorted(_DEBIAN_BIN.glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit()
                      else 0)
    return versions[-1].parent if versions else None


def _run_as() -> pwd.struct_passwd | None:
    """The system user to run the server as (None: as ourselves, who are not root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError as exc:
        raise MissingPiece(f"running as root and no {SYSTEM_USER!r} system user to run "
                           "PostgreSQL as (install the postgresql package)") from exc


@dataclass
class LocalPostgres:
    """One server, one database and one password-protected role, on 127.0.0.1:``port``."""

    port: int
    database: str = "keycloak"
    username: str = "keycloak"
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    host: str = "127.0.0.1"
    root: Path | None = None
    _process: subprocess.Popen[bytes] | None = None

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{self.host}:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        """A libpq connection URI (for psycopg and the like), password included."""
        return (f"postgresql://{self.username}:{self.password}@{self.host}:{self.port}/"
                f"{self.database}")

    @property
    def log_file(self) -> Path:
        assert self.root is not None
        return self.root / "postgres.log"

    def start(self, wait: float = 60, log: Callable[[str], None] = lambda _msg: None) -> None:
        if port_in_use(self.port, self.host):
            raise MissingPiece(f"port {self.port} on {self.host} is in use by another process")
        bin_dir = server_bin_dir()
        user = _run_as()
        # Outside any per-user temporary tree (pytest's is mode 700 for its owner), since
        # the server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="bridge-postgres-"))
        data, sockets = self.root / "data", self.root / "sockets"
        sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        pwfile.chmod(0o600)
        if user is not None:
            for path in (self.root, sockets, pwfile):
                os.chown(path, user.pw_uid, user.pw_gid)
        as_user = {"user": user.pw_uid, "group": user.pw_gid} if user else {}
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        log(f"initdb {data}")
        result = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", self.username,
             f"--pwfile={pwfile}", "--auth-host=scram-sha-256", "--auth-local=trust",
             "--encoding=UTF8", "--no-sync"],
            capture_output=True, text=True, env=env, timeout=300, check=False, **as_user)
        pwfile.unlink()
        if result.returncode != 0:
            raise MissingPiece(f"initdb failed: {(result.stderr or result.stdout)[-300:]}")
        log(f"starting PostgreSQL on {self.host}:{self.port}")
        with self.log_file.open("ab") as out:
            if user is not None:
                os.chown(self.log_file, user.pw_uid, user.pw_gid)
            self._process = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-h", self.host,
                 "-p", str(self.port), "-k", str(sockets),
                 # A test server: durability of the machine's crash is not under test
                 # (a Keycloak process crash is, and fsync does not matter to it).
                 "-c", "fsync=off", "-c", "max_connections=200"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                start_new_session=True, **as_user)
        log_file = self.log_file
        wait_ready(self._process, lambda: port_in_use(self.port, self.host),
                   what="postgres", wait=wait, stop=self.stop,
                   exited=lambda code: f"postgres exited with code {code}; see {log_file}")
        self._create_database(bin_dir, sockets, env, as_user)

    def _create_database(self, bin_dir: Path, sockets: Path, env: dict[str, str],
                         as_user: dict[str, int]) -> None:
        # Over the server's own Unix socket, in a directory only its user can enter.
        createdb = bin_dir / "createdb"
        command = [str(createdb), "-h", str(sockets), "-p", str(self.port),
                   "-U", self.username, self.database]
        if not createdb.exists():  # pragma: no cover - Debian ships it with the server
            raise MissingPiece(f"{createdb} not found")
        deadline = time.monotonic() + 30
        while True:
            result = subprocess.run(command, capture_output=True, text=True, env=env,
                                    timeout=60, check=False, **as_user)
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise MissingPiece(f"createdb failed: {result.stderr.strip()[-300:]}")
            time.sleep(0.5)

    def stop(self, wait: float = 30) -> None:
        process, self._process = self._process, None
        # SIGINT: PostgreSQL's "fast" shutdown (disconnect clients, then exit).
        stop_group(process, signal.SIGINT, wait=wait)
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> LocalPostgres:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
