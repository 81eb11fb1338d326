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
    from bridge.realm.plan import Plan
    from bridge.reconcile import Report


@click.group()
def realm() -> None:
    """Realm configuration as code: plan, apply, export."""


STRICT_HELP = ("Exit 1 (apply: before any write) when a managed object has sub-objects the "
               "configuration does not name (a role or mapper added by hand to a client).")


def _refuse_unmanaged(the_plan: Plan) -> None:
    if the_plan.unmanaged:
        shown = ", ".join(f"{kind} {key}" for kind, key in the_plan.unmanaged[:5])
        more = len(the_plan.unmanaged) - 5
        raise click.ClickException(
            f"--strict: {len(the_plan.unmanaged)} unmanaged sub-object(s): {shown}"
            + (f" and {more} more" if more > 0 else ""))


@realm.command("plan")
@config_dir
@realm_option
@click.option("--strict", is_flag=True, help=STRICT_HELP)
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the plan to FILE (JSON, no secret), for `realm apply FILE`.")
def realm_plan(directories: tuple[Path, ...], realm_name: str | None,
               out: Path | None, strict: bool) -> None:
    """Show what apply would change. Exit 0: nothing; 2: changes pending."""
    from bridge.realm import desired, engine, saved
    from bridge.realm.plan import render

    config, the_catalog = desired.load_with_catalog(dirs(directories))
    gateway = common.admin()
    the_plan = engine.plan(gateway, config, realm_name)
    for line in render(the_plan):
        click.echo(line)
    if strict:
        _refuse_unmanaged(the_plan)
    if out is not None:
        saved.write(the_plan, dirs(directories), out)
        common.say(f"plan saved to {out}; apply it with: bridge realm apply {out}")
    users_change = False
    if the_catalog is not None and not the_plan.creates_realm:
        # What the reconcile after apply would rewrite: users whose stored permissions
        # (and groups) the edited catalog no longer grants.
        users_change = reconcile_users(gateway, the_plan.realm, the_catalog,
                                       dry_run=True).changed > 0
    sys.exit(0 if the_plan.empty and not users_change else 2)


@realm.command("apply")
@click.argument("directories", nargs=-1, type=click.Path(path_type=Path))
@realm_option
@click.option("--strict", is_flag=True, help=STRICT_HELP)
def realm_apply(directories: tuple[Path, ...], realm_name: str | None, strict: bool) -> None:
    """Converge the live realm on the configuration in DIR... (validated fully before any
    write), or apply a plan saved by `realm plan --out FILE`: exactly that plan, refused
    (exit 1) if the configuration or the realm changed since it was written."""
    from bridge.realm import desired, engine, saved
    from bridge.realm.plan import render

    plan_file = directories[0] if len(directories) == 1 and directories[0].is_file() else None
    if plan_file is not None:
        if realm_name:
            raise click.UsageError("a saved plan names its realm; --realm is not taken")
        try:
            kept = saved.read(plan_file)
        except saved.StalePlan as exc:
            raise click.ClickException(str(exc)) from None
        directories, realm_name = tuple(kept.directories), kept.realm
    elif any(d.is_file() for d in directories):
        raise click.UsageError("give configuration directories, or one saved plan file")
    config, the_catalog = desired.load_with_catalog(dirs(directories))
    gateway = common.admin()
    the_plan = engine.plan(gateway, config, realm_name)
    if plan_file is not None:
        try:
            saved.check(kept, the_plan)
        except saved.StalePlan as exc:
            raise click.ClickException(str(exc)) from None
    if strict:
        _refuse_unmanaged(the_plan)
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
@click.option("--force", is_flag=True, help="Write into DIRECTORY even if it is not empty.")
@click.option("--include-unmanaged", "unmanaged", is_flag=True,
              help="Also export objects no configuration manages (made by hand): adopts them.")
def realm_export(directories: tuple[Path, ...], realm_name: str | None, force: bool,
                 unmanaged: bool) -> None:
    """Write the live realm into DIRECTORY in the configuration's YAML shape: what the
    realm's configuration manages (its ownership record), the user profile, secrets as the
    ${VAR} names the configuration used. Refused into a non-empty DIRECTORY without --force."""
    from bridge.realm import export

    if len(directories) > 1:
        raise click.UsageError("export writes into one directory")
    target = dirs(directories)[0]
    if target.is_dir() and any(target.iterdir()) and not force:
        raise click.ClickException(f"{target} is not empty: export into an empty directory, "
                                   "or give --force to overwrite its files")
    written = export.export(common.admin(), common.default_realm(realm_name), target,
                            unmanaged=unmanaged)
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
