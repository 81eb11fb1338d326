"""The production server: gunicorn serving the bridge, the one way it is served.

``bridge serve`` (the image's command, the cluster harness's replicas) and ``./dev up`` both
call :func:`serve`; :data:`DEFAULTS` is the gunicorn configuration they share, which
``GUNICORN_CMD_ARGS`` (gunicorn's own variable) and the command's options override.

Before it serves, every setting is read and checked (:meth:`Settings.from_env`), the app is
built once (the catalog loaded and checked) and Keycloak is asked what readiness asks
(:func:`bridge.health.check`): a realm that does not exist or a refused service-account
login stops the start in one line; an unreachable Keycloak does not (readiness says 503
until it answers). Then gunicorn forks its workers from that app (``preload_app``).

Shutdown: on SIGTERM gunicorn stops accepting connections and lets every request in flight
finish (at most ``graceful_timeout`` seconds, longer than a /Bulk's 25 s budget), then exits.
SIGINT (Ctrl-C) and SIGQUIT stop at once.

Metrics: each server has a directory of its own for its workers' samples (see
:mod:`bridge.metrics`), made at start and removed at exit; a worker's live gauges are
dropped when it exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from bridge.config import MissingSetting, Settings
from bridge.metrics import MULTIPROC_ENV

if TYPE_CHECKING:
    from flask import Flask

GRACEFUL_TIMEOUT = 30
"""Seconds a request in flight at SIGTERM may take to finish (Kubernetes' default grace
period is 30 s too; its terminationGracePeriodSeconds must not be shorter)."""

DEFAULTS: Mapping[str, Any] = {
    # gthread: a request waiting on Keycloak (most of its time) does not hold the worker;
    # 1 worker x 8 threads is the shape bench/scim_ratios.py measures. More than one
    # worker is more than one process: BRIDGE_LOCK_URL is then required (checked below).
    "worker_class": "gthread",
    "workers": 1,
    "threads": 8,
    "graceful_timeout": GRACEFUL_TIMEOUT,
    # The app is built (and checked) once, before the workers fork.
    "preload_app": True,
    # gunicorn's own lines on stderr, as JSON (logconfig_dict, from the one logging
    # configuration: bridge.observability.logs); no access log unless asked for
    # (--access-logfile: the bridge.request line already says what was served).
    "errorlog": "-",
    "accesslog": None,
    "logger_class": "bridge.server.GunicornLog",
    "proc_name": "bridge",
    # gunicorn's runtime control socket (25.1+) lives at one path per user, shared by every
    # server of that user on the machine, and can change the worker count behind the
    # checks above: off.
    "control_socket_disable": True,
}


class GunicornLog(Logger):
    """gunicorn's logger, with access lines only when an access log is asked for
    (``accesslog``, or syslog with access lines). gunicorn's own takes any
    ``logconfig_dict`` (how the server makes gunicorn's lines JSON) as such a request: it
    then built and wrote a line per request, a balancer's probes included, at INFO: the
    largest part of a ``/healthz``'s CPU outside gunicorn's event loop."""

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        cfg = self.cfg
        if cfg.accesslog or (cfg.syslog and not cfg.disable_redirect_access_to_syslog):
            super().access(resp, req, environ, request_time)


class StartRefused(MissingSetting):
    """The server will not start: its settings or the Keycloak they name are wrong."""


class _Gunicorn(BaseApplication):
    """gunicorn running an app built here, configured by :data:`DEFAULTS`, then
    ``GUNICORN_CMD_ARGS``, then ``options``."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self._options = dict(options)
        self.app: Flask | None = None
        super().__init__()

    def load_config(self) -> None:
        for key, value in configuration().items():
            self.cfg.set(key, value)
        env_args = self.cfg.parser().parse_args(self.cfg.get_cmd_args_from_env())
        for key, value in vars(env_args).items():
            if value is not None and key != "args":
                self.cfg.set(key.lower(), value)
        for key, value in self._options.items():
            if value is not None:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        assert self.app is not None, "the app is built before gunicorn starts"
        return self.app


def configuration() -> dict[str, Any]:
    """:data:`DEFAULTS`, the JSON logging configuration (gunicorn's own lines too) and the
    metrics hooks: every gunicorn setting of the bridge's server."""
    from bridge.observability.logs import logging_config

    return {**DEFAULTS, "logconfig_dict": logging_config(), "child_exit": _worker_exited,
            "on_exit": _server_exited}


def _worker_exited(_server: Any, worker: Any) -> None:
    """A worker is gone: drop its live gauges (its counters stay: totals never go back)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


_OWNER = ".bridge-server"  # in a directory this server made: holds the pid that made it


def _server_exited(_server: Any) -> None:
    """Remove the directory this server made, in the process that made it only: a worker
    leaves :func:`serve` through the same frames when it exits (it was forked there)."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    try:
        owner = int(Path(directory, _OWNER).read_text())
    except (OSError, ValueError):
        return
    if owner == os.getpid():
        shutil.rmtree(directory, ignore_errors=True)


def _metrics_directory() -> None:
    """This server's own directory of metric samples: an operator's ``PROMETHEUS_MULTIPROC_DIR``
    (emptied of a previous run's samples), or a new temporary one. Set in the environment,
    which is how prometheus_client and the forked workers find it."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        return
    directory = tempfile.mkdtemp(prefix="bridge-metrics-")
    Path(directory, _OWNER).write_text(str(os.getpid()))  # ours: removed at exit
    os.environ[MULTIPROC_ENV] = directory


def serve(host: str, port: int, *, settings: Settings | None = None,
          workers: int | None = None, threads: int | None = None,
          app_factory: Callable[[Settings], Flask] | None = None,
          echo: Callable[[str], None] = print) -> None:
    """Check, build and serve the bridge on ``host:port`` until SIGTERM or SIGINT.

    ``settings``: from the environment unless given (``./dev up`` gives its own).
    Raises :class:`MissingSetting` (one line per problem) instead of starting."""
    settings = settings or Settings.from_env()
    server = _Gunicorn({"bind": f"{host}:{port}", "workers": workers, "threads": threads})
    count = server.cfg.workers
    if count > 1 and not settings.lock_url:
        raise StartRefused(f"{count} workers are {count} processes: set BRIDGE_LOCK_URL "
                           "(the lock backend they share), or serve with one worker")
    _check_keycloak(settings, echo)
    _metrics_directory()
    try:
        if app_factory is None:
            from bridge.app import create_app as app_factory
        server.app = app_factory(settings)
        server.run()
    finally:
        _server_exited(None)


def _check_keycloak(settings: Settings, echo: Callable[[str], None]) -> None:
    from bridge.health import check
    from bridge.keycloak.client import AdminGateway

    gateway = AdminGateway.with_client_credentials(
        settings.keycloak_url, settings.realm, settings.client_id, settings.client_secret)
    answer = check(settings, gateway)
    if answer.misconfigured:
        raise StartRefused(answer.reason or "Keycloak refused the settings")
    if not answer.ready:
        with contextlib.suppress(Exception):
            echo(f"warning: {answer.reason}; serving anyway: /readyz answers 503 until "
                 "Keycloak does")
