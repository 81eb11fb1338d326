"""A local Keycloak for development and tests, run from the official server distribution.

The distribution is the Maven artifact ``org.keycloak:keycloak-quarkus-dist:<version>:zip``,
fetched once with ``mvn dependency:copy`` into a cache outside the repository, unpacked and
built (``kc.sh build``) once, then started ``--optimized`` so a start does not re-augment.

Each *instance* (the dev server of ``bridge keycloak start``, one per test session, ...) has
its own state directory holding its H2 database, log and pid file, so instances never share
data and ``stop`` can prove that the process it kills is the one it started.

The embedded H2 database (``dev-file``) is for development only: a kill -9 loses writes it
acknowledged up to about half a second earlier. The production shape is :class:`ClusterNode`:
a separate build of the same distribution on PostgreSQL with distributed caches
(``--db=postgres --cache=ispn``), nodes finding each other through the database
(``--cache-stack=jdbc-ping``).
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

# The one place the Keycloak version is pinned. 26.8.x is not published as a server
# distribution on Maven Central (only keycloak-core 26.8.x is); 26.7.5 is the newest
# keycloak-quarkus-dist there, and it does not have 26.7.1/26.7.2's slow admin API
# (measured: ~15 ms per user create). docker-compose.yml uses the same version.
KEYCLOAK_VERSION = "26.7.5"
MAVEN_ARTIFACT = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"

# The range the bridge is tested on (README "Supported Keycloak versions"): the oldest
# release line the integration suite passes on, and the pinned version. Any other one is
# run with BRIDGE_KEYCLOAK_VERSION, fetched and cached like the pinned one.
OLDEST_SUPPORTED_VERSION = "26.4.7"
VERSION_OVERRIDE = "BRIDGE_KEYCLOAK_VERSION"
_VERSION_FORMAT = re.compile(r"^\d+\.\d+\.\d+$")

# A wait longer than this says it is still waiting (download, build, start).
PROGRESS_EVERY = 5.0

# Build-time options. ``dev-file`` is Keycloak's embedded H2 database (development only).
# Fine-Grained Admin Permissions v2 (``admin-fine-grained-authz:v2``), which the bridge's
# service account relies on (realm-config/clients/bridge.yaml), is a default feature of
# 26.7.5 (measured: server info lists it enabled with these options): never disable it.
# Health (``/health/ready``, ``/health/live``) and Prometheus metrics (``/metrics``) are
# served on the management port (``--http-management-port``, 9000 by default), never on the
# public one; both are build options in 26.x.
OBSERVABILITY_OPTIONS: tuple[str, ...] = (
    "--health-enabled=true",
    "--metrics-enabled=true",
)
BUILD_OPTIONS: tuple[str, ...] = (
    "--db=dev-file",
    *OBSERVABILITY_OPTIONS,
    "--features=organization",
)
# The production build: PostgreSQL and Infinispan caches shared by the cluster's nodes.
PRODUCTION_BUILD_OPTIONS: tuple[str, ...] = (
    "--db=postgres",
    "--cache=ispn",
    *OBSERVABILITY_OPTIONS,
    "--features=organization",
)
# ``cache=local`` is a runtime option in 26.x: without it a single node still runs JGroups
# discovery, and a restart waits on the stale entry its previous run left in the database.
RUN_OPTIONS: tuple[str, ...] = ("--cache=local",)

DEFAULT_HEAP = "-Xms256m -Xmx2g"

# Said by every command that starts the development instance.
DEV_FILE_WARNING = (
    "note: this Keycloak keeps its data in the embedded dev-file (H2) database, for "
    "development only: a crash can lose writes it acknowledged up to about half a second "
    "earlier. In production run Keycloak on PostgreSQL (docs/deploying.md).")


class MissingPiece(RuntimeError):
    """Something the local Keycloak needs is absent; the message is one line naming it."""


def cache_dir() -> Path:
    """Where distributions and instance state live: ``$BRIDGE_CACHE_DIR`` or ~/.cache/bridge."""
    base = os.environ.get("BRIDGE_CACHE_DIR") or str(Path.home() / ".cache" / "bridge")
    return Path(base)


def java_command() -> str:
    """The java executable Keycloak will run on, or MissingPiece."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
        raise MissingPiece(f"JAVA_HOME={java_home} has no bin/java: install Java 17, 21 or 25")
    found = shutil.which("java")
    if not found:
        raise MissingPiece("java not found: install Java 17, 21 or 25 or set JAVA_HOME")
    return found


def keycloak_version(env: Mapping[str, str] | None = None) -> str:
    """The Keycloak version to run: ``$BRIDGE_KEYCLOAK_VERSION``, else the pinned one."""
    env = os.environ if env is None else env
    version = (env.get(VERSION_OVERRIDE) or "").strip() or KEYCLOAK_VERSION
    if not _VERSION_FORMAT.match(version):
        raise MissingPiece(f"{VERSION_OVERRIDE}={version!r} is not a Keycloak release "
                           "number such as 26.4.7")
    return version


def maven_artifact(version: str) -> str:
    return f"org.keycloak:keycloak-quarkus-dist:{version}:zip"


def version_key(version: str) -> tuple[int, ...]:
    """``"26.4.7"`` -> ``(26, 4, 7)``, for comparing release numbers."""
    return tuple(int(part) for part in version.split("."))


def _build_stamp(options: tuple[str, ...] = BUILD_OPTIONS,
                 version: str = KEYCLOAK_VERSION) -> str:
    return hashlib.sha256(" ".join((version, *options)).encode()).hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise distribution set-up between processes (two test sessions, a CLI...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_with_progress(cmd: list[str], what: str, log: Callable[[str], None], *,
                      env: Mapping[str, str] | None = None, timeout: float = 900,
                      every: float = PROGRESS_EVERY,
                      shown: Callable[[str], bool] = lambda _line: False,
                      detail: Callable[[], str] = lambda: "") -> None:
    """Run ``cmd`` to its end, never silently for long: the output lines ``shown`` accepts
    are logged as they come, and past ``every`` seconds without a line logged,
    "<what>: still running (N s<, detail()>)" is. A failure or a time-out raises
    :class:`MissingPiece` with the last lines of the output."""
    began = time.monotonic()
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, errors="replace",
                               env=env, start_new_session=True)
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip())
        lines.put(None)

    reader = threading.Thread(target=read, name=f"output of {what}", daemon=True)
    reader.start()
    tail: collections.deque[str] = collections.deque(maxlen=3)
    last_said = began
    finished = False
    while not finished:
        now = time.monotonic()
        if now - began > timeout:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise MissingPiece(f"{what} timed out after {timeout:.0f}s")
        try:
            line = lines.get(timeout=max(0.05, min(every - (now - last_said), 1.0)))
        except queue.Empty:
            line = ""
        if line is None:
            finished = True
        elif line:
            tail.append(line)
            if shown(line):
                log(line)
                last_said = time.monotonic()
        if not finished and time.monotonic() - last_said >= every:
            extra = detail()
            log(f"{what}: still running ({time.monotonic() - began:.0f} s"
                f"{', ' + extra if extra else ''})")
            last_said = time.monotonic()
    returncode = process.wait()
    reader.join(timeout=5)
    if returncode != 0:
        raise MissingPiece(f"{what} failed (exit {returncode}): {' | '.join(tail)}")


def download_command(mvn: str, version: str, output_dir: Path) -> list[str]:
    """``mvn dependency:copy`` of the distribution, batch mode but not quiet: Maven's
    "Downloading from"/"Downloaded from" lines are what the progress shows."""
    return [mvn, "-B", "dependency:copy", f"-Dartifact={maven_artifact(version)}",
            f"-DoutputDirectory={output_dir}"]


def _downloaded_so_far(version: str) -> Callable[[], str]:
    """How much of the archive Maven has written to its local repository (a progress
    figure: Maven's batch mode prints no percentage)."""
    folder = (Path.home() / ".m2" / "repository" / "org" / "keycloak"
              / "keycloak-quarkus-dist" / version)

    def measure() -> str:
        try:
            size = sum(p.stat().st_size for p in folder.iterdir() if ".zip" in p.name)
        except OSError:
            return ""
        return f"{size / 1e6:.0f} MB of the archive so far" if size else ""

    return measure


def ensure_distribution(log: Callable[[str], None] = lambda _msg: None, *,
                        build_options: tuple[str, ...] = BUILD_OPTIONS,
                        flavour: str = "", version: str | None = None) -> Path:
    """Download, unpack and build a distribution once; return its home directory.

    ``version`` defaults to :func:`keycloak_version` (the pinned one unless
    ``$BRIDGE_KEYCLOAK_VERSION`` says another). ``kc.sh build`` writes into the
    distribution, so each set of build options is its own unpacked copy of the one
    downloaded archive, named by ``flavour`` and by the options' stamp: a change of options
    builds a new copy, never rebuilds one a running server (another test session, a dev
    instance) is using. Each step longer than a few seconds reports progress to ``log``.
    """
    version = version or keycloak_version()
    artifact = maven_artifact(version)
    root = cache_dir() / "keycloak"
    home = root / (f"keycloak-{version}{'-' + flavour if flavour else ''}"
                   f"-{_build_stamp(build_options, version)[:12]}")
    stamp = home / ".bridge-build"
    with _locked(root / ".lock"):
        if stamp.is_file() and stamp.read_text() == _build_stamp(build_options, version):
            return home
        java = java_command()
        archive = root / "dl" / f"keycloak-quarkus-dist-{version}.zip"
        if not archive.is_file():
            mvn = shutil.which("mvn")
            if not mvn:
                raise MissingPiece("mvn not found: install Maven to fetch " + artifact)
            log(f"downloading {artifact} (about 160 MB) with mvn dependency:copy")
            run_with_progress(
                download_command(mvn, version, archive.parent), f"download of {artifact}",
                log, shown=lambda line: "keycloak-quarkus-dist" in line and "load" in line,
                detail=_downloaded_so_far(version))
            if not archive.is_file():
                raise MissingPiece(f"download of {artifact} produced no {archive.name}")
        log(f"unpacking {archive.name}")
        staging = root / f".unpack-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(staging)
        except zipfile.BadZipFile as exc:
            archive.unlink(missing_ok=True)
            raise MissingPiece(f"download of {artifact} is corrupt; retry") from exc
        shutil.rmtree(home, ignore_errors=True)
        (staging / f"keycloak-{version}").rename(home)
        shutil.rmtree(staging, ignore_errors=True)
        kc_sh = home / "bin" / "kc.sh"
        kc_sh.chmod(0o755)
        log(f"building the distribution (kc.sh build {' '.join(build_options)}; "
            "about a minute)")
        env = {**os.environ, "JAVA_HOME": str(Path(java).resolve().parent.parent)}
        run_with_progress([str(kc_sh), "build", *build_options], "kc.sh build", log, env=env,
                          shown=lambda line: "Server configuration updated" in line)
        stamp.write_text(_build_stamp(build_options, version))
        return home


def ensure_production_distribution(log: Callable[[str], None] = lambda _msg: None) -> Path:
    """The distribution built for PostgreSQL and a clustered cache (:class:`ClusterNode`)."""
    return ensure_distribution(log, build_options=PRODUCTION_BUILD_OPTIONS,
                               flavour="postgres-ispn")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Servers started by this process, by state directory: ``stop`` still finds one whose pid
# file was deleted (a temporary directory cleaned up while it ran).
_STARTED: dict[Path, int] = {}


@dataclass(frozen=True)
class Status:
    version: str
    url: str
    pid: int | None
    ready: bool

    @property
    def running(self) -> bool:
        return self.pid is not None


@dataclass(frozen=True)
class LocalKeycloak:
    """One Keycloak instance: a state directory and the loopback ports it serves on."""

    state_dir: Path
    http_port: int = 8080
    management_port: int = 9000
    host: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ready_url(self) -> str:
        return f"http://{self.host}:{self.management_port}/health/ready"

    @property
    def metrics_url(self) -> str:
        """Keycloak's own Prometheus metrics (management port, ``--metrics-enabled``)."""
        return f"http://{self.host}:{self.management_port}/metrics"

    @property
    def _pid_file(self) -> Path:
        return self.state_dir / "keycloak.pid"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "keycloak.log"

    @property
    def _db_marker(self) -> str:
        # Part of the command line; lets ``stop`` recognise its own process.
        return f"jdbc:h2:file:{self.state_dir / 'h2' / 'keycloakdb'};NON_KEYWORDS=VALUE"

    def pid(self) -> int | None:
        """The pid of this instance's server if it is alive and really ours."""
        try:
            record = json.loads(self._pid_file.read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            # The state directory went away under a running server: this process still
            # knows what it started (and checks it is still that process).
            pid = _STARTED.get(self.state_dir)
            if pid is None:
                return None
        return pid if self._marked(pid) else None

    def _marked(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            return False
        return self._db_marker in cmdline

    def is_ready(self, timeout: float = 2.0) -> bool:
        try:
            return requests.get(self.ready_url, timeout=timeout).status_code == 200
        except requests.RequestException:
            return False

    def status(self) -> Status:
        pid = self.pid()
        return Status(keycloak_version(), self.url, pid,
                      pid is not None and self.is_ready())

    def start(self, admin_username: str, admin_password: str, *, wait: float = 300,
              log: Callable[[str], None] = lambda _msg: None) -> bool:
        """Start the server and wait until ready. Returns False if it was already running."""
        if self.pid() is not None:
            if not self.is_ready():
                self.wait_ready(wait, log=log)
            return False
        for port in self._ports():
            if port_in_use(port, self.host):
                raise MissingPiece(f"port {port} on {self.host} is in use by another process")
        if not admin_username or not admin_password:
            raise MissingPiece(
                "KC_BOOTSTRAP_ADMIN_USERNAME and KC_BOOTSTRAP_ADMIN_PASSWORD must be set"
            )
        java = java_command()
        home = self._distribution(log)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "JAVA_HOME": str(Path(java).resolve().parent.parent),
            "JAVA_OPTS_KC_HEAP": os.environ.get("JAVA_OPTS_KC_HEAP", DEFAULT_HEAP),
            "KC_BOOTSTRAP_ADMIN_USERNAME": admin_username,
            "KC_BOOTSTRAP_ADMIN_PASSWORD": admin_password,
            **self._start_env(),
        }
        cmd = [
            str(home / "bin" / "kc.sh"), "start", "--optimized",
            "--http-enabled=true", *self._hostname_options(),
            f"--http-host={self.host}", f"--http-port={self.http_port}",
            f"--http-management-port={self.management_port}",
            *self._start_options(),
        ]
        log(f"starting Keycloak {keycloak_version()} on {self.url} (log: {self.log_file})")
        with self.log_file.open("ab") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=env,
                                       start_new_session=True)
        self._pid_file.write_text(json.dumps({"pid": process.pid, "url": self.url}))
        _STARTED[self.state_dir] = process.pid
        try:
            self.wait_ready(wait, process, log=log)
        except MissingPiece:
            self.stop()
            raise
        return True

    # What differs between the development instance and a production-mode node.
    def _ports(self) -> tuple[int, ...]:
        return (self.http_port, self.management_port)

    def _distribution(self, log: Callable[[str], None]) -> Path:
        return ensure_distribution(log)

    def _hostname_options(self) -> tuple[str, ...]:
        return ("--hostname-strict=false",)

    def _start_env(self) -> dict[str, str]:
        return {}

    def _start_options(self) -> tuple[str, ...]:
        (self.state_dir / "h2").mkdir(exist_ok=True)
        return (f"--db-url={self._db_marker}", *RUN_OPTIONS)

    def wait_ready(self, wait: float, process: subprocess.Popen | None = None, *,
                   log: Callable[[str], None] = lambda _msg: None,
                   every: float = PROGRESS_EVERY) -> None:
        """Until ``/health/ready`` answers 200; every ``every`` seconds meanwhile, ``log``
        says how long it has been waiting (a start takes 10 to 60 s)."""
        began = time.monotonic()
        deadline, said = began + wait, began
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                raise MissingPiece(
                    f"Keycloak exited with code {process.returncode}; see {self.log_file}: "
                    + self._log_errors()
                )
            if self.is_ready(timeout=1.0):
                if time.monotonic() - began >= every:
                    log(f"Keycloak ready after {time.monotonic() - began:.0f} s")
                return
            if time.monotonic() - said >= every:
                log(f"waiting for Keycloak at {self.ready_url} "
                    f"({time.monotonic() - began:.0f} s of at most {wait:.0f} s)")
                said = time.monotonic()
            time.sleep(0.5)
        raise MissingPiece(f"Keycloak not ready after {wait:.0f}s; see {self.log_file}")

    def _log_errors(self, limit: int = 3) -> str:
        """The last ERROR lines of the log (a failed start says why without the file)."""
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in lines if " ERROR " in line] or lines
        return " | ".join(line.strip()[:300] for line in errors[-limit:])

    def stop(self, wait: float = 60) -> bool:
        """Stop the server this instance started; False if none of ours was running."""
        pid = self.pid()
        if pid is None:
            self._pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        # Wait for the whole process group (kc.sh and its java child): java still holds
        # the database while it shuts down, and a restart must not race it.
        if not self._wait_group_gone(pid, wait):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            self._wait_group_gone(pid, 10)
        self._pid_file.unlink(missing_ok=True)
        return True

    @staticmethod
    def _wait_group_gone(pgid: int, wait: float) -> bool:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            _reap(pgid)  # kc.sh is our child when we started it in this process
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return True
            time.sleep(0.2)
        return False


    def kill(self) -> bool:
        """kill -9 this instance's server (a crash, for fault tests); False if not running."""
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        self._wait_group_gone(pid, 30)
        self._pid_file.unlink(missing_ok=True)
        return True


@dataclass(frozen=True)
class DatabaseLogin:
    """Where a production-mode node keeps its data: a JDBC URL and its login."""

    jdbc_url: str
    username: str
    password: str


# The log line of Infinispan's cluster view: "ISPN000094: Received new cluster view for
# channel ISPN: [node-a|1] (2) [node-a, node-b]".
_CLUSTER_VIEW = re.compile(r"ISPN000094: .*? \((\d+)\) \[([^\]]*)\]")


@dataclass(frozen=True)
class ClusterNode(LocalKeycloak):
    """A production-mode Keycloak node on PostgreSQL, clustered with its peers.

    Nodes of one cluster share ``database``; they discover each other through it
    (JGroups ``jdbc-ping``) and talk on ``jgroups_port`` (plus JGroups' failure-detection
    port, ``jgroups_port + 50000``), bound to ``host``. ``hostname`` fixes the issuer and
    the URLs Keycloak writes; without it each node uses the URL it was reached at.
    """

    database: DatabaseLogin = DatabaseLogin("", "", "")
    jgroups_port: int = 7800
    hostname: str | None = None

    @property
    def _db_marker(self) -> str:
        # On java's command line (JAVA_OPTS_APPEND); lets ``stop`` recognise its process.
        return f"-Dbridge.node={self.state_dir}"

    def _marked(self, pid: int) -> bool:
        # The marker is in kc.sh's environment (JAVA_OPTS_APPEND), not its arguments.
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return False
        marker, name = self._db_marker.encode(), b"JAVA_OPTS_APPEND="
        return any(v.startswith(name) and marker in v[len(name):].split() for v in environ)

    def _ports(self) -> tuple[int, ...]:
        return (self.http_port, self.management_port, self.jgroups_port,
                self.jgroups_port + JGROUPS_FD_OFFSET)

    def _distribution(self, log: Callable[[str], None]) -> Path:
        return ensure_production_distribution(log)

    def _hostname_options(self) -> tuple[str, ...]:
        if self.hostname:
            return (f"--hostname={self.hostname}", "--hostname-backchannel-dynamic=true")
        return ("--hostname-strict=false",)

    def _start_env(self) -> dict[str, str]:
        if not self.database.jdbc_url:
            raise MissingPiece("a cluster node needs a database (DatabaseLogin)")
        return {
            # The password stays out of the command line (``ps`` shows it to everyone).
            "KC_DB_PASSWORD": self.database.password,
            "JAVA_OPTS_APPEND": " ".join((
                os.environ.get("JAVA_OPTS_APPEND", ""),
                f"-Djgroups.bind.address={self.host}",
                f"-Djgroups.bind.port={self.jgroups_port}",
                "-Djgroups.port_range=0",
                self._db_marker,
            )).strip(),
        }

    def _start_options(self) -> tuple[str, ...]:
        return (f"--db-url={self.database.jdbc_url}",
                f"--db-username={self.database.username}",
                "--cache-stack=jdbc-ping")

    def cluster_view(self) -> list[str]:
        """The members of the last cluster view this node logged (empty before the first)."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return []
        views = _CLUSTER_VIEW.findall(text)
        if not views:
            return []
        return [member.strip() for member in views[-1][1].split(",") if member.strip()]

    def wait_cluster_size(self, size: int, wait: float = 120) -> list[str]:
        """Wait until this node's view has ``size`` members; MissingPiece if it never does."""
        deadline = time.monotonic() + wait
        while True:
            members = self.cluster_view()
            if len(members) == size:
                return members
            if time.monotonic() > deadline:
                raise MissingPiece(f"cluster view of {self.url} is {members}, not {size} "
                                   f"members after {wait:.0f}s; see {self.log_file}")
            time.sleep(0.5)


# JGroups' FD_SOCK2 listens at the TCP port plus this offset (Infinispan's default stack).
JGROUPS_FD_OFFSET = 50000


def free_jgroups_port(start: int = 7800, taken: tuple[int, ...] = ()) -> int:
    """A loopback port p free together with p + JGROUPS_FD_OFFSET (which must stay < 65536)."""
    for port in range(start, 65536 - JGROUPS_FD_OFFSET):
        if port in taken or port + JGROUPS_FD_OFFSET in taken:
            continue
        if not port_in_use(port) and not port_in_use(port + JGROUPS_FD_OFFSET):
            return port
    raise MissingPiece("no free JGroups port pair on 127.0.0.1")


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def dev_instance() -> LocalKeycloak:
    """The instance ``bridge keycloak start`` manages, ports from the environment."""
    state = os.environ.get("BRIDGE_KEYCLOAK_STATE_DIR")
    return LocalKeycloak(
        state_dir=Path(state) if state else cache_dir() / "instances" / "dev",
        http_port=int(os.environ.get("BRIDGE_KEYCLOAK_PORT", "8080")),
        management_port=int(os.environ.get("BRIDGE_KEYCLOAK_MANAGEMENT_PORT", "9000")),
    )
