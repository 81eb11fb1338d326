"""``bridge``: thin click commands over the library. Failures print one line and exit 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from bridge.config import AdminCredentials, MissingSetting
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError
from bridge.local.keycloak import MissingPiece, dev_instance
from bridge.realm.desired import ConfigError

DEFAULT_CONFIG_DIR = "realm-config"
EXPECTED = (MissingPiece, MissingSetting, ConfigError, GatewayError)


def _say(message: str) -> None:
    click.echo(message, err=True)


def main() -> None:
    """Entry point: expected failures become one line on stderr and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except ConfigError as exc:
        for problem in exc.problems:
            _say(f"error: {problem}")
        sys.exit(1)
    except EXPECTED as exc:
        _say(f"error: {exc}")
        sys.exit(1)


@click.group()
def cli() -> None:
    """Keycloak-backed identity bridge: SCIM, invitations and realm config as code."""


# -- keycloak -----------------------------------------------------------------------------

@cli.group()
def keycloak() -> None:
    """The local Keycloak (pinned version, embedded dev database, 127.0.0.1 only)."""


@keycloak.command("start")
def keycloak_start() -> None:
    """Start it (idempotent); admin login from KC_BOOTSTRAP_ADMIN_USERNAME/_PASSWORD."""
    instance = dev_instance()
    started = instance.start(os.environ.get("KC_BOOTSTRAP_ADMIN_USERNAME", ""),
                             os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", ""), log=_say)
    status = instance.status()
    if started:
        click.echo(f"Keycloak {status.version} ready at {status.url} (pid {status.pid})")
    else:
        click.echo(f"Keycloak {status.version} already running at {status.url} "
                   f"(pid {status.pid})")


@keycloak.command("stop")
def keycloak_stop() -> None:
    """Stop the Keycloak that ``start`` started (and nothing else)."""
    if dev_instance().stop():
        click.echo("Keycloak stopped")
    else:
        click.echo("Keycloak was not running")


@keycloak.command("status")
def keycloak_status() -> None:
    """Version, URL, pid and readiness."""
    status = dev_instance().status()
    click.echo(f"version: {status.version}")
    click.echo(f"url:     {status.url}")
    click.echo(f"pid:     {status.pid if status.pid else '-'}")
    click.echo(f"ready:   {'yes' if status.ready else 'no'}")
    if not status.running:
        sys.exit(3)


# -- realm --------------------------------------------------------------------------------

def _admin() -> AdminGateway:
    creds = AdminCredentials.from_env()
    return AdminGateway.with_password(creds.url, creds.username, creds.password)


config_dir = click.argument("directories", nargs=-1,
                            type=click.Path(file_okay=False, path_type=Path))


def _dirs(directories: tuple[Path, ...]) -> list[Path]:
    """DIR... read as one configuration (e.g. realm-config plus an example's catalog)."""
    return list(directories) or [Path(DEFAULT_CONFIG_DIR)]
realm_option = click.option("--realm", "realm_name", default=None,
                            help="Apply to this realm instead of the one the config names.")


@cli.group()
def realm() -> None:
    """Realm configuration as code: plan, apply, export."""


@realm.command("plan")
@config_dir
@realm_option
def realm_plan(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Show what apply would change. Exit 0: nothing; 2: changes pending."""
    from bridge.realm import desired, engine
    from bridge.realm.plan import render

    config = desired.load(_dirs(directories))
    the_plan = engine.plan(_admin(), config, realm_name)
    for line in render(the_plan):
        click.echo(line)
    sys.exit(0 if the_plan.empty else 2)


@realm.command("apply")
@config_dir
@realm_option
def realm_apply(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Converge the live realm on the configuration (validated fully before any write)."""
    from bridge.realm import desired, engine
    from bridge.realm.plan import render

    config = desired.load(_dirs(directories))
    gateway = _admin()
    the_plan = engine.plan(gateway, config, realm_name)
    if the_plan.empty:
        click.echo(render(the_plan)[-1])
        return
    engine.apply(gateway, the_plan, progress=click.echo)
    click.echo(render(the_plan)[-1].replace("Plan:", "Applied:"))


@realm.command("export")
@config_dir
@realm_option
def realm_export(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Write the live realm into DIRECTORY in the configuration's YAML shape."""
    from bridge.realm import export

    if len(directories) > 1:
        raise click.UsageError("export writes into one directory")
    name = realm_name or os.environ.get("BRIDGE_REALM") or "access"
    written = export.export(_admin(), name, _dirs(directories)[0])
    for path in written:
        click.echo(f"wrote {path}")


# -- servers ------------------------------------------------------------------------------

@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the bridge (development server; use gunicorn in production)."""
    from bridge.app import create_app

    create_app().run(host=host, port=port)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--smtp-port", default=1025, show_default=True, type=int)
@click.option("--http-port", default=8025, show_default=True, type=int)
@click.option("--store-dir", default=None, type=click.Path(file_okay=False))
def mailsink(host: str, smtp_port: int, http_port: int, store_dir: str | None) -> None:
    """A local SMTP sink with a page to read what Keycloak sends."""
    from bridge.local.mailsink import serve_forever

    click.echo(f"mail sink: SMTP {host}:{smtp_port}, read mails at http://{host}:{http_port}/")
    serve_forever(host, smtp_port, http_port, store_dir)


@cli.command()
def dev() -> None:
    """Run the whole product locally (README command 1)."""
    from bridge.local.devstack import run

    run(echo=click.echo)
