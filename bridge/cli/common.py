"""What every command group shares: the one-line failure, the admin and service-account
gateways, the configuration directories, and the operator's use-cases."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.config import AdminCredentials, MissingSetting
from bridge.errors import DirectoryError
from bridge.keycloak.client import AdminGateway
from bridge.local.keycloak import MissingPiece
from bridge.realm.desired import ConfigError

if TYPE_CHECKING:  # imported lazily at run time, like every command's own modules
    from bridge.invitations import Directory

DEFAULT_CONFIG_DIR = "realm-config"
EXPECTED = (MissingPiece, MissingSetting, ConfigError, DirectoryError)


def say(message: str) -> None:
    """A line for the operator (stderr: stdout stays the command's result)."""
    click.echo(message, err=True)


def admin() -> AdminGateway:
    """A Keycloak administrator's gateway (``bridge realm``, ``bridge catalog``)."""
    creds = AdminCredentials.from_env()
    return AdminGateway.with_password(creds.url, creds.username, creds.password)


def catalog_directory(gateway: AdminGateway, realm_name: str) -> Directory:
    """The accounts of a realm, through the admin gateway (a seam for unit tests)."""
    from bridge.invitations import KeycloakDirectory

    return KeycloakDirectory(gateway, realm_name)


config_dir = click.argument("directories", nargs=-1,
                            type=click.Path(file_okay=False, path_type=Path))


def dirs(directories: tuple[Path, ...]) -> list[Path]:
    """DIR... read as one configuration (e.g. realm-config plus an example's catalog)."""
    return list(directories) or [Path(DEFAULT_CONFIG_DIR)]


realm_option = click.option("--realm", "realm_name", default=None,
                            help="Apply to this realm instead of the one the config names.")


def default_realm(realm_name: str | None) -> str:
    return realm_name or os.environ.get("BRIDGE_REALM") or "access"


def administration(catalog_path: str | None) -> tuple[Any, Any]:
    """The use-cases as the bridge's service account (operator mode: no delegation check,
    every catalog rule checked) and the operator actor."""
    from bridge import locks
    from bridge.catalog.load import load as load_catalog
    from bridge.config import Settings
    from bridge.invitations import AccessAdministration, Actor, KeycloakDirectory

    settings = Settings.from_env()
    path = catalog_path or settings.catalog_path
    if not path:
        raise click.UsageError("no access catalog: set BRIDGE_CATALOG or give --catalog")
    gateway = AdminGateway.with_client_credentials(
        settings.keycloak_url, settings.realm, settings.client_id, settings.client_secret)
    # With BRIDGE_LOCK_URL the CLI's changes take the replicas' user locks too.
    the_administration = AccessAdministration(
        KeycloakDirectory(gateway, settings.realm), load_catalog(path),
        locks=locks.from_settings(settings.lock_url, settings.lock_timeout),
        lock_scope=settings.realm)
    return the_administration, Actor.operator(f"cli:{settings.client_id}")


# -- exit codes and output (documented in `bridge --help` and the README) ----------------

EXIT_DONE = 0
"""The command did what was asked (a change was made, or the answer is printed)."""
EXIT_ERROR = 1
"""An error or a refusal (one line on stderr naming the rule or the setting)."""
EXIT_PENDING = 2
"""``realm plan`` / ``catalog reconcile --dry-run``: changes are pending."""
EXIT_UNCHANGED = 3
"""A change command found nothing to change: already as asked, nothing written."""
EXIT_USAGE = 64
"""A command line that cannot be run (unknown option, missing argument): EX_USAGE."""

EXIT_CODES = f"""\b
Exit codes:
  {EXIT_DONE}   done (a change made, or the answer printed)
  {EXIT_ERROR}   error or refusal (one line on stderr)
  {EXIT_PENDING}   changes pending (realm plan, catalog reconcile --dry-run)
  {EXIT_UNCHANGED}   nothing to change: the user already is as asked (invite, user set,
      user deactivate/reactivate); nothing was written
  {EXIT_USAGE}  usage error"""

output_option = click.option(
    "--output", "-o", "output", type=click.Choice(["text", "json"]), default="text",
    show_default=True, help="text for people, json for scripts (one JSON document).")


def emit_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


def table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Columns padded to their widest cell, under a header line."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows,
                                                                          strict=False)]
    for row in (headers, *rows):
        click.echo("  ".join(str(cell).ljust(width) for cell, width in
                             zip(row, widths, strict=True)).rstrip())
