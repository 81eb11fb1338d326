"""``bridge``: thin click commands over the library, one module per command group
(``local``: Keycloak, servers, the dev stack; ``realm``: realm config and the catalog's
reconcile; ``access``: invitations and lifecycle). Failures print one line and exit 1."""

from __future__ import annotations

import sys

import click

from bridge.cli import access, local, realm
from bridge.cli.common import EXPECTED, say
from bridge.config import MissingSetting
from bridge.realm.desired import ConfigError


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
    except (ConfigError, MissingSetting) as exc:
        for problem in exc.problems:
            say(f"error: {problem}")
        sys.exit(1)
    except EXPECTED as exc:
        say(f"error: {exc}")
        sys.exit(1)


@click.group()
def cli() -> None:
    """Keycloak-backed identity bridge: SCIM, invitations and realm config as code."""


for _module in (local, realm, access):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
