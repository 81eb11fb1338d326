"""``bridge realm plan|apply|export`` and ``bridge catalog reconcile``: the realm's
configuration as code, and the catalog's users kept in step with it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.cli import common
from bridge.cli.common import config_dir, dirs, realm_option
from bridge.config import AdminCredentials

if TYPE_CHECKING:
    from bridge.catalog.model import Catalog
    from bridge.keycloak.client import AdminGateway
    from bridge.reconcile import Report


@click.group()
def realm() -> None:
    """Realm configuration as code: plan, apply, export."""


@realm.command("plan")
@config_dir
@realm_option
def realm_plan(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Show what apply would change. Exit 0: nothing; 2: changes pending."""
    from bridge.realm import desired, engine
    from bridge.realm.plan import render

    config, the_catalog = desired.load_with_catalog(dirs(directories))
    gateway = common.admin()
    the_plan = engine.plan(gateway, config, realm_name)
    for line in render(the_plan):
        click.echo(line)
    users_change = False
    if the_catalog is not None and not the_plan.creates_realm:
        # What the reconcile after apply would rewrite: users whose stored permissions
        # (and groups) the edited catalog no longer grants.
        users_change = reconcile_users(gateway, the_plan.realm, the_catalog,
                                       dry_run=True).changed > 0
    sys.exit(0 if the_plan.empty and not users_change else 2)


@realm.command("apply")
@config_dir
@realm_option
def realm_apply(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Converge the live realm on the configuration (validated fully before any write)."""
    from bridge.realm import desired, engine
    from bridge.realm.plan import render

    config, the_catalog = desired.load_with_catalog(dirs(directories))
    gateway = common.admin()
    the_plan = engine.plan(gateway, config, realm_name)
    if the_plan.empty:
        click.echo(render(the_plan)[-1])
    else:
        engine.apply(gateway, the_plan, progress=click.echo)
        click.echo(render(the_plan)[-1].replace("Plan:", "Applied:"))
    if the_catalog is not None:
        # Groups and roles follow the catalog with the apply; the users' computed
        # `permissions` attribute (the token claim) follows only with this pass. It also
        # runs after an empty plan: an earlier apply may have stopped before it.
        reconcile_users(gateway, the_plan.realm, the_catalog, dry_run=False)


@realm.command("export")
@config_dir
@realm_option
def realm_export(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Write the live realm into DIRECTORY in the configuration's YAML shape."""
    from bridge.realm import export

    if len(directories) > 1:
        raise click.UsageError("export writes into one directory")
    written = export.export(common.admin(), common.default_realm(realm_name),
                            dirs(directories)[0])
    for path in written:
        click.echo(f"wrote {path}")


def reconcile_users(gateway: AdminGateway, realm_name: str, the_catalog: Catalog, *,
                    dry_run: bool) -> Report:
    """One reconcile pass, printed: a line per changed or violating user, then a summary."""
    from bridge import locks
    from bridge.config import lock_backend
    from bridge.invitations import Actor
    from bridge.reconcile import reconcile

    actor = Actor.operator(f"cli:{AdminCredentials.from_env().username}")
    # With BRIDGE_LOCK_URL the pass takes the replicas' user locks, as every writer does.
    report = reconcile(common.catalog_directory(gateway, realm_name), the_catalog, actor,
                       dry_run=dry_run, lock_scope=realm_name,
                       locks=locks.from_settings(*lock_backend()), progress=common.say)
    for line in report.lines():
        click.echo(line)
    return report


@click.group()
def catalog() -> None:
    """The access catalog's users: keep their stored access in step with the catalog."""


@catalog.command("reconcile")
@config_dir
@realm_option
@click.option("--dry-run", is_flag=True,
              help="Only report what would change. Exit 2 when something would.")
def catalog_reconcile(directories: tuple[Path, ...], realm_name: str | None,
                      dry_run: bool) -> None:
    """Recompute every user's catalog state (permissions, groups, MFA set-up) from the
    catalog in DIR... (read like `realm apply`: realm-config plus an example's directory)
    and write the users that differ. A user whose facts the catalog no longer allows loses
    its catalog access and is reported with the rule. Exit 0: nothing (left) to change;
    2: --dry-run found changes; 1: error."""
    from bridge.realm import desired

    config, the_catalog = desired.load_with_catalog(dirs(directories))
    if the_catalog is None:
        raise click.ClickException(
            "no access catalog in " + " ".join(map(str, dirs(directories)))
            + " (give the directory of its catalog.yaml too, e.g. realm-config "
            "realm-config/examples/004-accounting-portal)")
    report = reconcile_users(common.admin(), realm_name or config.realm, the_catalog,
                             dry_run=dry_run)
    sys.exit(2 if dry_run and report.changed else 0)


COMMANDS = (realm, catalog)
