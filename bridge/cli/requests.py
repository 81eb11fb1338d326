"""``bridge request``: access requests in operator mode (list, show, approve, decline).

An operator decides as the bridge's service account: no responsible check and no delegation
(every catalog rule still checked); the responsible decides on the review pages the request
mail links to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from bridge.cli import common
from bridge.cli.access import _lifecycle_errors, catalog_option
from bridge.cli.common import emit_json, output_option, table

if TYPE_CHECKING:
    from bridge.access_requests.model import AccessRequest
    from bridge.access_requests.service import AccessRequests


def _service(catalog_path: str | None) -> tuple[AccessRequests, Any]:
    from bridge.access_requests.setup import access_requests
    from bridge.config import Settings
    from bridge.keycloak.client import AdminGateway

    administration, actor = common.administration(catalog_path)
    settings = Settings.from_env()
    gateway = administration.directory.gw
    assert isinstance(gateway, AdminGateway)
    return access_requests(administration, gateway, settings), actor


def _json(service: AccessRequests, r: AccessRequest) -> dict[str, Any]:
    return {"id": r.id, "state": service.state(r), "tenant": r.tenant, "email": r.email,
            "first_name": r.first_name, "last_name": r.last_name, "profile": r.profile,
            "granted_profile": r.granted_profile, "requester": r.requester,
            "language": r.language, "created_at": r.created_at, "expires_at": r.expires_at,
            "decided_by": r.decided_by, "decided_at": r.decided_at, "reason": r.reason,
            "invitee_id": r.invitee_id}


@click.group()
def request() -> None:
    """Access requests: list, show, approve, decline (operator mode)."""


@request.command("list")
@click.option("--state", type=click.Choice(["pending", "approved", "declined", "expired"]),
              default=None, help="Only requests in this state.")
@click.option("--tenant", default=None, help="Only requests for this tenant.")
@click.option("--first", default=0, show_default=True, type=int,
              help="First requester of the page.")
@click.option("--max", "max_", default=50, show_default=True, type=int,
              help="Requesters per page (each holds at most 20 requests).")
@output_option
@catalog_option
@_lifecycle_errors
def request_list(state: str | None, tenant: str | None, first: int, max_: int, output: str,
                 catalog_path: str | None) -> None:
    """The requests of one page of requesters."""
    service, _ = _service(catalog_path)
    found, following = service.list(state=state, tenant=tenant, first=first, max=max_)
    if output == "json":
        emit_json({"items": [_json(service, r) for r in found], "next": following})
        return
    table(("ID", "STATE", "TENANT", "EMAIL", "PROFILE", "REQUESTER", "EXPIRES"),
          [(r.id, service.state(r), r.tenant, r.email, r.profile, r.requester, r.expires_at)
           for r in found])
    if following is not None:
        click.echo(f"(more: --first {following})")


@request.command("show")
@click.argument("request_id")
@output_option
@catalog_option
@_lifecycle_errors
def request_show(request_id: str, output: str, catalog_path: str | None) -> None:
    """One request."""
    service, _ = _service(catalog_path)
    found = _json(service, service.get(request_id))
    if output == "json":
        emit_json(found)
        return
    for key, value in found.items():
        if value is not None:
            click.echo(f"{key}: {value}")


@request.command("approve")
@click.argument("request_id")
@click.option("--profile", default=None, help="The profile asked (default) or a lower one.")
@catalog_option
@_lifecycle_errors
def request_approve(request_id: str, profile: str | None, catalog_path: str | None) -> None:
    """Approve REQUEST_ID: the invitation is sent."""
    service, actor = _service(catalog_path)
    done = service.approve(actor, request_id, profile)
    click.echo(f"approved: {done.request.email} invited (id {done.invitation.invitation.id},"
               f" profile {done.request.granted_profile})")


@request.command("decline")
@click.argument("request_id")
@click.option("--reason", required=True, help="Mailed to the requester.")
@catalog_option
@_lifecycle_errors
def request_decline(request_id: str, reason: str, catalog_path: str | None) -> None:
    """Decline REQUEST_ID: no account is made; the requester is mailed the reason."""
    service, actor = _service(catalog_path)
    done = service.decline(actor, request_id, reason)
    click.echo(f"declined: {done.email} ({done.tenant})")


COMMANDS = [request]
