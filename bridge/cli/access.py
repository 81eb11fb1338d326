"""``bridge invite``, ``bridge invitations`` and ``bridge user``: invitations and the
lifecycle in operator mode (the bridge's service account; every catalog rule checked)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from bridge.cli import common
from bridge.cli.common import EXIT_UNCHANGED, emit_json, output_option, table

if TYPE_CHECKING:
    from bridge.invitations import Invitation, User


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
@click.option("--status", required=True, help="A status of the catalog (e.g. client-user).")
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
    """Invite EMAIL: create the user and have Keycloak mail the activation link.

    EMAIL already invited with the same access: `already-invited`, nothing sent, exit 3.
    Already invited with other access: refused (exit 1), nothing changed; change the user
    with `bridge user set`, or revoke the invitation and invite again."""
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
    if result.outcome != "invited":
        sys.exit(EXIT_UNCHANGED)


@click.group()
def invitations() -> None:
    """Pending invitations: list, resend, revoke (operator mode)."""


def _invitation_json(item: Invitation) -> dict[str, Any]:
    return {"id": item.id, "email": item.email, "state": item.state,
            "language": item.language, "invited_by": item.invited_by,
            "sent_at": item.sent_at, "expires_at": item.expires_at,
            "client_id": item.client_id, "redirect_uri": item.redirect_uri,
            **_facts_json(item.assignment)}


@invitations.command("list")
@click.option("--first", default=0, show_default=True, type=int)
@click.option("--max", "max_", default=50, show_default=True, type=int)
@output_option
@catalog_option
@_lifecycle_errors
def invitations_list(first: int, max_: int, output: str, catalog_path: str | None) -> None:
    """One page of pending (and expired) invitations."""
    administration, actor = common.administration(catalog_path)
    page = administration.list_invitations(actor, first, max_)
    if output == "json":
        emit_json({"items": [_invitation_json(i) for i in page.items], "first": page.first,
                   "max": page.max, "next": page.next})
        return
    table(("ID", "STATE", "EMAIL", "STATUS", "EXPIRES"),
          [(i.id, i.state, i.email, i.assignment.status if i.assignment else "-",
            i.expires_at or "-") for i in page.items])
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
    """One user (operator mode): show; deactivate, reactivate, delete, set."""


def _facts_json(a: Any) -> dict[str, Any]:
    if a is None:
        return {"user_type": None, "status": None, "profiles": [], "toggles": [],
                "perimeter": {}, "tenants": []}
    return {"user_type": a.user_type, "status": a.status, "profiles": list(a.profiles),
            "toggles": sorted(a.toggles), "perimeter": a.perimeter_by_dimension(),
            "tenants": sorted(a.tenants)}


def _access_json(administration: Any, found: User) -> list[dict[str, Any]]:
    from bridge.catalog.rules import explain_permissions

    if found.assignment is None:
        return []
    try:
        explained = explain_permissions(administration.catalog, found.assignment)
    except KeyError:  # facts the catalog no longer knows grant nothing
        return []
    return [{"tenant": access.tenant,
             "permissions": [{"permission": g.permission, "granted_by": g.granted_by}
                             for g in access.grants],
             "withheld": list(access.withheld)} for access in explained]


@user.command("show")
@click.argument("user_ref", metavar="USER")
@output_option
@catalog_option
@_lifecycle_errors
def user_show(user_ref: str, output: str, catalog_path: str | None) -> None:
    """USER's (id or e-mail) facts and effective permissions, per tenant, each with the
    catalog rule that grants it (and what a tenant's caps withhold)."""
    administration, actor = common.administration(catalog_path)
    found = administration.get_user(actor, _user_id(administration, user_ref))
    document = {"id": found.id, "username": found.username, "email": found.email,
                "enabled": found.enabled, "activated": found.activated,
                "language": found.language, "first_name": found.first_name,
                "last_name": found.last_name, **_facts_json(found.assignment),
                "required_actions": list(found.required_actions),
                "access": _access_json(administration, found)}
    if output == "json":
        emit_json(document)
        return
    perimeter = document["perimeter"]
    for label, value in (
            ("email", found.email), ("id", found.id),
            ("enabled", "yes" if found.enabled else "no (deactivated)"),
            ("activated", "yes" if found.activated else "no (invitation pending)"),
            ("user type", document["user_type"] or "-"),
            ("status", document["status"] or "- (no catalog status)"),
            ("profiles", ", ".join(document["profiles"]) or "-"),
            ("toggles", ", ".join(document["toggles"]) or "-"),
            ("perimeter", "; ".join(f"{d}={','.join(v)}" for d, v in perimeter.items())
             or "-"),
            ("tenants", ", ".join(document["tenants"]) or "-"),
            ("required actions", ", ".join(found.required_actions) or "-")):
        click.echo(f"{label + ':':18}{value}")
    for access in document["access"]:
        click.echo("")
        click.echo(f"permissions in {access['tenant']}:" if access["tenant"]
                   else "permissions:")
        table(("PERMISSION", "GRANTED BY"),
              [(p["permission"], p["granted_by"]) for p in access["permissions"]])
        if access["withheld"]:
            click.echo(f"  (not enabled by {access['tenant']}: "
                       f"{', '.join(access['withheld'])})")


def _changed(done: User, verb: str) -> None:
    """The result line; a user already as asked says so and exits 3."""
    if done.changed:
        click.echo(f"{verb}: {done.email} (id {done.id})")
        return
    click.echo(f"unchanged: {done.email} (id {done.id}) already is as asked")
    sys.exit(EXIT_UNCHANGED)


@user.command("deactivate")
@click.argument("user_ref", metavar="USER")
@catalog_option
@_lifecycle_errors
def user_deactivate(user_ref: str, catalog_path: str | None) -> None:
    """Disable USER (id or e-mail) and end every session (exit 3: already disabled)."""
    administration, actor = common.administration(catalog_path)
    _changed(administration.deactivate(actor, _user_id(administration, user_ref)),
             "deactivated")


@user.command("reactivate")
@click.argument("user_ref", metavar="USER")
@catalog_option
@_lifecycle_errors
def user_reactivate(user_ref: str, catalog_path: str | None) -> None:
    """Enable USER (id or e-mail) again (exit 3: already enabled)."""
    administration, actor = common.administration(catalog_path)
    _changed(administration.reactivate(actor, _user_id(administration, user_ref)),
             "reactivated")


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
    the next token issued shows the change). Exit 3: the user already is as asked."""
    from bridge.invitations import Facts, Profile

    administration, actor = common.administration(catalog_path)
    facts = Facts(
        status=status, profiles=profiles or None,
        toggles=frozenset() if no_toggles else (frozenset(toggles) if toggles else None),
        perimeter=_perimeter(perimeter), for_tenants=frozenset(tenants) or None,
        remove_tenants=frozenset(removed_tenants) or None)
    _changed(administration.update(actor, _user_id(administration, user_ref),
                                   Profile(facts)), "updated")


COMMANDS = (invite, invitations, user)
