"""``bridge``: thin click commands over the library. Failures print one line and exit 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bridge.config import AdminCredentials, MissingSetting
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import GatewayError
from bridge.local.keycloak import DEV_FILE_WARNING, MissingPiece, dev_instance
from bridge.realm.desired import ConfigError

if TYPE_CHECKING:  # imported lazily at run time, like every command's own modules
    from bridge.catalog.model import Catalog
    from bridge.invitations import Directory
    from bridge.reconcile import Report

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
    except (ConfigError, MissingSetting) as exc:
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
                             os.environ.get("KC_BOOTSTRAP_ADMIN_PASSWORD", ""), log=_say)
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
def keycloak_status() -> None:
    """Version, URL, pid, readiness, and where its health and metrics are served."""
    instance = dev_instance()
    status = instance.status()
    click.echo(f"version: {status.version}")
    click.echo(f"url:     {status.url}")
    click.echo(f"pid:     {status.pid if status.pid else '-'}")
    click.echo(f"ready:   {'yes' if status.ready else 'no'}")
    click.echo(f"health:  {instance.ready_url}")
    click.echo(f"metrics: {instance.metrics_url}")
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

    config, the_catalog = desired.load_with_catalog(_dirs(directories))
    gateway = _admin()
    the_plan = engine.plan(gateway, config, realm_name)
    for line in render(the_plan):
        click.echo(line)
    users_change = False
    if the_catalog is not None and not the_plan.creates_realm:
        # What the reconcile after apply would rewrite: users whose stored permissions
        # (and groups) the edited catalog no longer grants.
        users_change = _reconcile_users(gateway, the_plan.realm, the_catalog,
                                        dry_run=True).changed > 0
    sys.exit(0 if the_plan.empty and not users_change else 2)


@realm.command("apply")
@config_dir
@realm_option
def realm_apply(directories: tuple[Path, ...], realm_name: str | None) -> None:
    """Converge the live realm on the configuration (validated fully before any write)."""
    from bridge.realm import desired, engine
    from bridge.realm.plan import render

    config, the_catalog = desired.load_with_catalog(_dirs(directories))
    gateway = _admin()
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
        _reconcile_users(gateway, the_plan.realm, the_catalog, dry_run=False)


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


# -- catalog ------------------------------------------------------------------------------

def _catalog_directory(gateway: AdminGateway, realm_name: str) -> Directory:
    """The accounts of a realm, through the admin gateway (a seam for unit tests)."""
    from bridge.invitations import KeycloakDirectory

    return KeycloakDirectory(gateway, realm_name)


def _reconcile_users(gateway: AdminGateway, realm_name: str, the_catalog: Catalog, *,
                     dry_run: bool) -> Report:
    """One reconcile pass, printed: a line per changed or violating user, then a summary."""
    from bridge import locks
    from bridge.config import lock_backend
    from bridge.invitations import Actor
    from bridge.reconcile import reconcile

    actor = Actor.operator(f"cli:{AdminCredentials.from_env().username}")
    # With BRIDGE_LOCK_URL the pass takes the replicas' user locks, as every writer does.
    report = reconcile(_catalog_directory(gateway, realm_name), the_catalog, actor,
                       dry_run=dry_run, lock_scope=realm_name,
                       locks=locks.from_settings(*lock_backend()))
    for line in report.lines():
        click.echo(line)
    return report


@cli.group()
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

    config, the_catalog = desired.load_with_catalog(_dirs(directories))
    if the_catalog is None:
        raise click.ClickException(
            "no access catalog in " + " ".join(map(str, _dirs(directories)))
            + " (give the directory of its catalog.yaml too, e.g. realm-config "
            "realm-config/examples/004-accounting-portal)")
    report = _reconcile_users(_admin(), realm_name or config.realm, the_catalog,
                              dry_run=dry_run)
    sys.exit(2 if dry_run and report.changed else 0)


# -- servers ------------------------------------------------------------------------------

@cli.command()
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

    serve_bridge(host, port, workers=workers, threads=threads, echo=_say)


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


# -- invitations and lifecycle (operator mode) ------------------------------------------

def _administration(catalog_path: str | None) -> tuple[Any, Any]:
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
    administration = AccessAdministration(
        KeycloakDirectory(gateway, settings.realm), load_catalog(path),
        locks=locks.from_settings(settings.lock_url, settings.lock_timeout),
        lock_scope=settings.realm)
    return administration, Actor.operator(f"cli:{settings.client_id}")


def _lifecycle_errors(action: Any) -> Any:
    """Refusals (rule named first) become one line and exit 1."""
    import functools

    from bridge.invitations import LifecycleError

    @functools.wraps(action)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except LifecycleError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _perimeter(values: tuple[str, ...]) -> dict[str, tuple[str, ...]] | None:
    if not values:
        return None
    perimeter: dict[str, list[str]] = {}
    for value in values:
        dimension, sep, entry = value.partition("=")
        if not sep or not dimension or not entry:
            raise click.BadParameter(f"{value!r} is not DIMENSION=ENTRY", param_hint="--perimeter")
        perimeter.setdefault(dimension, []).append(entry)
    return {d: tuple(v) for d, v in perimeter.items()}


catalog_option = click.option("--catalog", "catalog_path", default=None,
                              help="The access catalog (default: BRIDGE_CATALOG).")


@cli.command()
@click.argument("email")
@click.option("--status", required=True, help="A status of the catalog (e.g. client).")
@click.option("--type", "user_type", default=None,
              help="internal / external (default: the status's).")
@click.option("--profile", "profiles", multiple=True, help="Profile (repeatable).")
@click.option("--toggle", "toggles", multiple=True, help="Toggle (repeatable).")
@click.option("--perimeter", "perimeter", multiple=True, metavar="DIMENSION=ENTRY",
              help="Perimeter entry (repeatable), e.g. project=p1.")
@click.option("--tenant", "tenants", multiple=True, help="Tenant (repeatable).")
@click.option("--language", default="en", show_default=True, help="en or fr.")
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@click.option("--client-id", default=None, help="Client to return to (default: portal).")
@click.option("--redirect-uri", default=None, help="Where the activation ends.")
@click.option("--lifespan", default=None, type=int, help="Seconds the link lives (3 days).")
@catalog_option
@_lifecycle_errors
def invite(email: str, status: str, user_type: str | None, profiles: tuple[str, ...],
           toggles: tuple[str, ...], perimeter: tuple[str, ...], tenants: tuple[str, ...],
           language: str, first_name: str | None, last_name: str | None,
           client_id: str | None, redirect_uri: str | None, lifespan: int | None,
           catalog_path: str | None) -> None:
    """Invite EMAIL: create the user and have Keycloak mail the activation link."""
    from bridge.invitations import DEFAULT_LIFESPAN, Facts, InvitationRequest

    administration, actor = _administration(catalog_path)
    result = administration.invite(actor, InvitationRequest(
        email=email, facts=Facts(user_type=user_type, status=status, profiles=profiles,
                                 toggles=frozenset(toggles), perimeter=_perimeter(perimeter),
                                 tenants=frozenset(tenants)),
        language=language, first_name=first_name, last_name=last_name, client_id=client_id,
        redirect_uri=redirect_uri, lifespan=lifespan or DEFAULT_LIFESPAN))
    invitation = result.invitation
    click.echo(f"{result.outcome}: {invitation.email} (id {invitation.id}, "
               f"expires {invitation.expires_at})")


@cli.group()
def invitations() -> None:
    """Pending invitations: list, resend, revoke (operator mode)."""


@invitations.command("list")
@click.option("--first", default=0, show_default=True, type=int)
@click.option("--max", "max_", default=50, show_default=True, type=int)
@catalog_option
@_lifecycle_errors
def invitations_list(first: int, max_: int, catalog_path: str | None) -> None:
    """One page of pending (and expired) invitations."""
    administration, actor = _administration(catalog_path)
    page = administration.list_invitations(actor, first, max_)
    for item in page.items:
        click.echo(f"{item.id}  {item.state:8}  {item.email}  expires {item.expires_at}")
    if page.next is not None:
        click.echo(f"(more: --first {page.next})")


@invitations.command("resend")
@click.argument("user")
@click.option("--lifespan", default=None, type=int)
@catalog_option
@_lifecycle_errors
def invitations_resend(user: str, lifespan: int | None, catalog_path: str | None) -> None:
    """Mail USER (id or e-mail) a new activation link."""
    administration, actor = _administration(catalog_path)
    invitation = administration.resend(actor, _user_id(administration, user), lifespan)
    click.echo(f"resent: {invitation.email} (expires {invitation.expires_at})")


@invitations.command("revoke")
@click.argument("user")
@catalog_option
@_lifecycle_errors
def invitations_revoke(user: str, catalog_path: str | None) -> None:
    """Revoke USER's (id or e-mail) pending invitation: the user is deleted."""
    administration, actor = _administration(catalog_path)
    administration.revoke(actor, _user_id(administration, user))
    click.echo(f"revoked: {user}")


def _user_id(administration: Any, user: str) -> str:
    """An id, or the id of the account with this e-mail."""
    from bridge.invitations import NotFound

    if "@" not in user:
        return user
    found = administration.user_id_by_email(user)
    if found is None:
        raise NotFound(f"no user with e-mail {user!r}")
    return found


@cli.group()
def user() -> None:
    """Lifecycle of one user (operator mode): deactivate, reactivate, delete, set."""


@user.command("deactivate")
@click.argument("user_ref", metavar="USER")
@catalog_option
@_lifecycle_errors
def user_deactivate(user_ref: str, catalog_path: str | None) -> None:
    """Disable USER (id or e-mail) and end every session."""
    administration, actor = _administration(catalog_path)
    done = administration.deactivate(actor, _user_id(administration, user_ref))
    click.echo(f"deactivated: {done.email} (id {done.id})")


@user.command("reactivate")
@click.argument("user_ref", metavar="USER")
@catalog_option
@_lifecycle_errors
def user_reactivate(user_ref: str, catalog_path: str | None) -> None:
    """Enable USER (id or e-mail) again."""
    administration, actor = _administration(catalog_path)
    done = administration.reactivate(actor, _user_id(administration, user_ref))
    click.echo(f"reactivated: {done.email} (id {done.id})")


@user.command("delete")
@click.argument("user_ref", metavar="USER")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@catalog_option
@_lifecycle_errors
def user_delete(user_ref: str, yes: bool, catalog_path: str | None) -> None:
    """Delete USER (id or e-mail)."""
    administration, actor = _administration(catalog_path)
    user_id = _user_id(administration, user_ref)
    if not yes:
        click.confirm(f"Delete user {user_ref}?", abort=True)
    administration.delete(actor, user_id)
    click.echo(f"deleted: {user_ref}")


@user.command("set")
@click.argument("user_ref", metavar="USER")
@click.option("--status", default=None, help="New status.")
@click.option("--profile", "profiles", multiple=True, help="New profile(s) (repeatable).")
@click.option("--toggle", "toggles", multiple=True,
              help="The user's toggles, replacing the current ones (repeatable).")
@click.option("--no-toggles", is_flag=True, help="Remove every toggle.")
@click.option("--perimeter", "perimeter", multiple=True, metavar="DIMENSION=ENTRY",
              help="The user's perimeter, replacing the current one (repeatable).")
@click.option("--tenant", "tenants", multiple=True,
              help="A tenant this change is for, added to the user's (repeatable). With "
                   "--profile: a profile is per user, for all its tenants, so a different "
                   "profile is refused while the user keeps tenants not named here.")
@click.option("--remove-tenant", "removed_tenants", multiple=True,
              help="A tenant the user leaves (repeatable).")
@catalog_option
@_lifecycle_errors
def user_set(user_ref: str, status: str | None, profiles: tuple[str, ...],
             toggles: tuple[str, ...], no_toggles: bool, perimeter: tuple[str, ...],
             tenants: tuple[str, ...], removed_tenants: tuple[str, ...],
             catalog_path: str | None) -> None:
    """Change USER's status, profile, toggles, perimeter or tenants (catalog rules apply;
    the next token issued shows the change)."""
    from bridge.invitations import Facts, Profile

    administration, actor = _administration(catalog_path)
    facts = Facts(
        status=status, profiles=profiles or None,
        toggles=frozenset() if no_toggles else (frozenset(toggles) if toggles else None),
        perimeter=_perimeter(perimeter), for_tenants=frozenset(tenants) or None,
        remove_tenants=frozenset(removed_tenants) or None)
    done = administration.update(actor, _user_id(administration, user_ref), Profile(facts))
    click.echo(f"updated: {done.email} (id {done.id})")
