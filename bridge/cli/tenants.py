"""``bridge tenant``: tenants (Keycloak Organizations) as data, in operator mode (the
bridge's service account; the catalog's rules checked, no delegation: the API delegates).

Exit codes as every command: 0 done, 1 refused or failed (one line on stderr), 3 nothing
to change, 64 usage. ``--output json`` prints the result as one JSON document."""

from __future__ import annotations

from typing import Any

import click

from bridge.cli.common import EXIT_UNCHANGED, emit_json, output_option, table


def _service(catalog_path: str | None) -> tuple[Any, str]:
    from bridge import locks
    from bridge.catalog.load import load as load_catalog
    from bridge.config import Settings
    from bridge.keycloak.client import AdminGateway
    from bridge.tenants.service import TenantService

    settings = Settings.from_env()
    path = catalog_path or settings.catalog_path
    if not path:
        raise click.UsageError("no access catalog: set BRIDGE_CATALOG or give --catalog")
    catalog = load_catalog(path)
    if catalog.tenancy is None:
        raise click.UsageError(f"catalog {catalog.name!r} declares no tenancy")
    gateway = AdminGateway.with_client_credentials(
        settings.keycloak_url, settings.realm, settings.client_id, settings.client_secret)
    service = TenantService(gateway, settings.realm, catalog,
                            locks=locks.from_settings(settings.lock_url,
                                                      settings.lock_timeout))
    return service, f"operator:cli:{settings.client_id}"


def _refusals(action: Any) -> Any:
    """A refusal (its code first) becomes one line and exit 1."""
    import functools

    from bridge.tenants.errors import TenantError

    @functools.wraps(action)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except TenantError as exc:
            detail = exc.detail if exc.detail.startswith(f"{exc.code}:") \
                else f"{exc.code}: {exc.detail}"
            raise click.ClickException(detail) from None

    return wrapper


catalog_option = click.option("--catalog", "catalog_path", default=None,
                              help="The access catalog (default: BRIDGE_CATALOG).")


def _show_change(change: Any, output: str, verb: str) -> None:
    if output == "json":
        emit_json(change.summary())
    else:
        t = change.tenant
        click.echo(f"{verb if change.changed else 'unchanged'}: {t.alias} ({t.label}), "
                   f"{t.state}, caps: {', '.join(t.caps) or '(baseline only)'}")
        r = change.recomputed
        if r.members or r.busy:
            click.echo(f"members recomputed: {r.members}, written: {r.written}"
                       + (f", busy (left for reconcile): {len(r.busy)}" if r.busy else ""))
    if not change.changed:
        raise click.exceptions.Exit(EXIT_UNCHANGED)


@click.group()
def tenant() -> None:
    """Tenants (e.g. seed 004's dossiers) as Keycloak Organizations."""


@tenant.command("add")
@click.argument("alias")
@click.option("--label", default=None, help="Its name as people read it (unique).")
@click.option("--cap", "caps", multiple=True,
              help="A permission it enables beyond the baseline (repeatable; within "
                   "tenancy.may_enable).")
@click.option("--responsible", default=None, metavar="user:NAME|role:NAME",
              help="Who receives its access requests.")
@catalog_option
@output_option
@_refusals
def add(alias: str, label: str | None, caps: tuple[str, ...], responsible: str | None,
        catalog_path: str | None, output: str) -> None:
    """Create tenant ALIAS (its identifier in tokens: perm@ALIAS)."""
    service, actor = _service(catalog_path)
    created = service.add(actor, alias, label, caps, responsible)
    if output == "json":
        emit_json({**created.summary(), "changed": True})
    else:
        click.echo(f"added: {created.alias} ({created.label}), caps: "
                   f"{', '.join(created.caps) or '(baseline only)'}")


@tenant.command("set")
@click.argument("alias")
@click.option("--label", default=None, help="Rename it.")
@click.option("--caps", "caps", default=None, metavar="P,P...",
              help="Exactly these caps (comma-separated; empty: the baseline only).")
@click.option("--enable", "enable", multiple=True, help="Enable a permission (repeatable).")
@click.option("--disable", "disable", multiple=True, help="Disable one (repeatable).")
@click.option("--responsible", default=None, metavar="user:NAME|role:NAME|none")
@catalog_option
@output_option
@_refusals
def set_(alias: str, label: str | None, caps: str | None, enable: tuple[str, ...],
         disable: tuple[str, ...], responsible: str | None, catalog_path: str | None,
         output: str) -> None:
    """Rename ALIAS, change its caps (its members are recomputed) or its responsible."""
    from bridge.tenants.service import UNSET

    service, actor = _service(catalog_path)
    wanted = None if caps is None else [c.strip() for c in caps.split(",") if c.strip()]
    who: Any = UNSET if responsible is None else (
        None if responsible.strip().lower() == "none" else responsible)
    change = service.set(actor, alias, label=label, caps=wanted, add_caps=enable,
                         remove_caps=disable, responsible=who)
    _show_change(change, output, "changed")


@tenant.command("suspend")
@click.argument("alias")
@catalog_option
@output_option
@_refusals
def suspend(alias: str, catalog_path: str | None, output: str) -> None:
    """Suspend ALIAS: its members lose every permission in it (next token)."""
    service, actor = _service(catalog_path)
    _show_change(service.suspend(actor, alias), output, "suspended")


@tenant.command("resume")
@click.argument("alias")
@catalog_option
@output_option
@_refusals
def resume(alias: str, catalog_path: str | None, output: str) -> None:
    """Resume a suspended ALIAS: its members' permissions come back (next token)."""
    service, actor = _service(catalog_path)
    _show_change(service.resume(actor, alias), output, "resumed")


@tenant.command("delete")
@click.argument("alias")
@click.option("--remove-members", is_flag=True,
              help="Also take the tenant away from each of its members (else refused while "
                   "it has any).")
@catalog_option
@output_option
@_refusals
def delete(alias: str, remove_members: bool, catalog_path: str | None, output: str) -> None:
    """Delete ALIAS."""
    service, actor = _service(catalog_path)
    _show_change(service.delete(actor, alias, remove_members=remove_members), output,
                 "deleted")


@tenant.command("list")
@click.option("--first", default=0, show_default=True, type=int)
@click.option("--max", "max_", default=100, show_default=True, type=int)
@catalog_option
@output_option
@_refusals
def list_(first: int, max_: int, catalog_path: str | None, output: str) -> None:
    """One page of tenants (by label)."""
    service, _actor = _service(catalog_path)
    page = service.list(first, max_)
    if output == "json":
        emit_json({"total": page.total, "first": page.first, "max": page.max,
                   "items": [t.summary() for t in page.items]})
        return
    table(("ALIAS", "STATE", "LABEL", "CAPS"),
          [(t.alias, t.state, t.label, ",".join(t.caps) or "-") for t in page.items])
    click.echo(f"{len(page.items)} of {page.total}", err=True)


@tenant.command("show")
@click.argument("alias")
@catalog_option
@output_option
@_refusals
def show(alias: str, catalog_path: str | None, output: str) -> None:
    """ALIAS: label, state, caps, what it enables now, responsible, member count."""
    service, _actor = _service(catalog_path)
    details = service.show(alias)
    if output == "json":
        emit_json(details.summary())
        return
    t = details.tenant
    for key, value in (("alias", t.alias), ("label", t.label), ("state", t.state),
                       ("caps", ", ".join(t.caps) or "(baseline only)"),
                       ("enables now", ", ".join(details.enabled) or "(nothing)"),
                       ("responsible", str(t.responsible) if t.responsible else "-"),
                       ("members", str(details.members))):
        click.echo(f"{key + ':':<13} {value}")


COMMANDS = (tenant,)
