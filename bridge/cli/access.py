"""``bridge invite``, ``bridge invitations`` and ``bridge user``: invitations and the
lifecycle in operator mode (the bridge's service account; every catalog rule checked)."""

from __future__ import annotations

from typing import Any

import click

from bridge.cli import common


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


@click.command()
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

    administration, actor = common.administration(catalog_path)
    result = administration.invite(actor, InvitationRequest(
        email=email, facts=Facts(user_type=user_type, status=status, profiles=profiles,
                                 toggles=frozenset(toggles), perimeter=_perimeter(perimeter),
                                 tenants=frozenset(tenants)),
        language=language, first_name=first_name, last_name=last_name, client_id=client_id,
        redirect_uri=redirect_uri, lifespan=lifespan or DEFAULT_LIFESPAN))
    invitation = result.invitation
    click.echo(f"{result.outcome}: {invitation.email} (id {invitation.id}, "
               f"expires {invitation.expires_at})")


@click.group()
def invitations() -> None:
    """Pending invitations: list, resend, revoke (operator mode)."""


@invitations.command("list")
@click.option("--first", default=0, show_default=True, type=int)
@click.option("--max", "max_", default=50, show_default=True, type=int)
@catalog_option
@_lifecycle_errors
def invitations_list(first: int, max_: int, catalog_path: str | None) -> None:
    """One page of pending (and expired) invitations."""
    administration, actor = common.administration(catalog_path)
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
    administration, actor = common.administration(catalog_path)
    invitation = administration.resend(actor, _user_id(administration, user), lifespan)
    click.echo(f"resent: {invitation.email} (expires {invitation.expires_at})")


@invitations.command("revoke")
@click.argument("user")
@catalog_option
@_lifecycle_errors
def invitations_revoke(user: str, catalog_path: str | None) -> None:
    """Revoke USER's (id or e-mail) pending invitation: the user is deleted."""
    administration, actor = common.administration(catalog_path)
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


@click.group()
def user() -> None:
    """Lifecycle of one user (operator mode): deactivate, reactivate, delete, set."""


@user.command("deactivate")
@click.argument("user_ref", metavar="USER")
@catalog_option
@_lifecycle_errors
def user_deactivate(user_ref: str, catalog_path: str | None) -> None:
    """Disable USER (id or e-mail) and end every session."""
    administration, actor = common.administration(catalog_path)
    done = administration.deactivate(actor, _user_id(administration, user_ref))
    click.echo(f"deactivated: {done.email} (id {done.id})")


@user.command("reactivate")
@click.argument("user_ref", metavar="USER")
@catalog_option
@_lifecycle_errors
def user_reactivate(user_ref: str, catalog_path: str | None) -> None:
    """Enable USER (id or e-mail) again."""
    administration, actor = common.administration(catalog_path)
    done = administration.reactivate(actor, _user_id(administration, user_ref))
    click.echo(f"reactivated: {done.email} (id {done.id})")


@user.command("delete")
@click.argument("user_ref", metavar="USER")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@catalog_option
@_lifecycle_errors
def user_delete(user_ref: str, yes: bool, catalog_path: str | None) -> None:
    """Delete USER (id or e-mail)."""
    administration, actor = common.administration(catalog_path)
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

    administration, actor = common.administration(catalog_path)
    facts = Facts(
        status=status, profiles=profiles or None,
        toggles=frozenset() if no_toggles else (frozenset(toggles) if toggles else None),
        perimeter=_perimeter(perimeter), for_tenants=frozenset(tenants) or None,
        remove_tenants=frozenset(removed_tenants) or None)
    done = administration.update(actor, _user_id(administration, user_ref), Profile(facts))
    click.echo(f"updated: {done.email} (id {done.id})")


COMMANDS = (invite, invitations, user)
