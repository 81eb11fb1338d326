"""``bridge``: thin click commands over the library, one module per command group
(``local``: Keycloak, servers, the dev stack; ``realm``: realm config and the catalog's
reconcile; ``access``: invitations and lifecycle). Failures print one line and exit 1."""

from __future__ import annotations

import sys

import click

from bridge.cli import access, local, realm, requests, scim, tenants
from bridge.cli.common import EXIT_CODES, EXIT_USAGE, EXPECTED, say
from bridge.config import MissingSetting
from bridge.realm.desired import ConfigError


def main() -> None:
    """Entry point: expected failures become one line on stderr and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # 2 means "changes pending" here
        exc.show()
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except (ConfigError, MissingSetting) as exc:
        for problem in exc.problems:
            say(f"error: {problem}")
        sys.exit(1)
    except EXPECTED as exc:
        say(f"error: {exc}")
        sys.exit(1)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from bridge.local.keycloak import KEYCLOAK_VERSION

    try:
        mine = version("saas-access-bridge")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree, not installed
        mine = "unknown"
    return f"bridge {mine} (Keycloak {KEYCLOAK_VERSION})"


@click.group(epilog=EXIT_CODES)
@click.version_option(version=_version(), message="%(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Keycloak-backed identity bridge: SCIM, invitations and realm config as code."""
    from bridge.observability.logs import configure_logging, log_level

    # JSON lines on stderr (bridge.observability.logs): a server's every line, and for the
    # operator commands their warnings and the audit event of each write they make.
    serving = ctx.invoked_subcommand in ("serve", "dev")
    try:
        configure_logging(log_level(default="INFO" if serving else "WARNING"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


for _module in (local, realm, access, requests, scim, tenants):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
