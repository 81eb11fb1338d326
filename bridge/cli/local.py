"""``bridge keycloak``, ``serve``, ``mailsink`` and ``dev``: things run on this machine."""

from __future__ import annotations

import os
import sys

import click

from bridge.cli.common import emit_json, output_option, say
from bridge.local.keycloak import DEV_FILE_WARNING, dev_instance


@click.group()
def keycloak() -> None:
    """The local Keycloak (pinned version, embedded dev database, 127.0.0.1 only).

    For development only: its dev-file database can lose writes acknowledged just before a
    crash. Production runs Keycloak on PostgreSQL (docs/deploying.md).
    """


@keycloak.command("start")
def keycloak_start() -> None:
    """Start it (idempotent); admin login from KC_BOOTSTRAP_ADMIN_USERNAME/_PASSWORD."""
    click.echo(DEV_FILE_WARNING, err=True)
    instance = dev_instance()
    started = instance.start(os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", ""),
                             os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", ""), log=say)
    status = instance.status()
    if started:
        click.echo(f"Keycloak {status.version} ready at {status.url} (pid {status.pid})")
    else:
        click.echo(f"Keycloak {status.version} already running at {status.url} "
                   f"(pid {status.pid})")
    click.echo(f"health:  {instance.ready_url}")
    click.echo(f"metrics: {instance.metrics_url}")


@keycloak.command("stop")
def keycloak_stop() -> None:
    """Stop the Keycloak that ``start`` started (and nothing else)."""
    if dev_instance().stop():
        click.echo("Keycloak stopped")
    else:
        click.echo("Keycloak was not running")


@keycloak.command("status")
@output_option
def keycloak_status(output: str) -> None:
    """Version, URL, pid, readiness, log file, and where its health and metrics are
    served. Exit 3: not running."""
    instance = dev_instance()
    status = instance.status()
    if output == "json":
        emit_json({"version": status.version, "url": status.url, "pid": status.pid,
                   "running": status.running, "ready": status.ready,
                   "log": str(instance.log_file), "health": instance.ready_url,
                   "metrics": instance.metrics_url})
        if not status.running:
            sys.exit(3)
        return
    click.echo(f"version: {status.version}")
    click.echo(f"url:     {status.url}")
    click.echo(f"pid:     {status.pid if status.pid else '-'}")
    click.echo(f"ready:   {'yes' if status.ready else 'no'}")
    click.echo(f"log:     {instance.log_file}")
    click.echo(f"health:  {instance.ready_url}")
    click.echo(f"metrics: {instance.metrics_url}")
    if not status.running:
        sys.exit(3)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default 1, or GUNICORN_CMD_ARGS); more than one "
                   "needs BRIDGE_LOCK_URL.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads per worker (default 8, or GUNICORN_CMD_ARGS).")
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the bridge under gunicorn, the production server (the image's command).

    Settings and Keycloak are checked first: any problem stops the start in one line.
    SIGTERM lets requests in flight finish, then exits. GUNICORN_CMD_ARGS is honoured.
    """
    from bridge.server import serve as serve_bridge

    serve_bridge(host, port, workers=workers, threads=threads, echo=say)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--smtp-port", default=1025, show_default=True, type=int)
@click.option("--http-port", default=8025, show_default=True, type=int)
@click.option("--store-dir", default=None, type=click.Path(file_okay=False))
def mailsink(host: str, smtp_port: int, http_port: int, store_dir: str | None) -> None:
    """A local SMTP sink with a page to read what Keycloak sends."""
    from bridge.local.mailsink import serve_forever

    click.echo(f"mail sink: SMTP {host}:{smtp_port}, read mails at http://{host}:{http_port}/")
    serve_forever(host, smtp_port, http_port, store_dir)


@click.command()
@click.option("--print-env", is_flag=True,
              help="Print the dev stack's settings for the CLI as export lines, for "
                   "eval \"$(bridge dev --print-env)\" (README, \"Try it\"), and exit.")
def dev(print_env: bool) -> None:
    """Run the whole product locally (README command 1), with the access catalog of seed
    004 (or BRIDGE_CATALOG's) applied to the realm and served."""
    from bridge.local import devstack

    if print_env:
        devstack.print_env(click.echo)
        return
    devstack.run(echo=click.echo)


COMMANDS = (keycloak, serve, mailsink, dev)
