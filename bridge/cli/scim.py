"""``bridge scim token create``: a static SCIM bearer token for an IdP that supports
nothing else (Entra ID's "secret token", Okta's "HTTP header").

The token is printed once with its ``BRIDGE_SCIM_STATIC_TOKENS`` entry; the bridge stores
neither (its settings hold only the digest), so a lost token is replaced, never recovered.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import click

from bridge.cli.common import emit_json, say

TOKEN_BYTES = 32
"""256 random bits, URL-safe base64 (43 characters, never a dot: never read as a JWT)."""


@click.group()
def scim() -> None:
    """The SCIM server's clients: static bearer tokens."""


@scim.group()
def token() -> None:
    """Static bearer tokens (configured by digest in BRIDGE_SCIM_STATIC_TOKENS)."""


@token.command("create")
@click.argument("name")
@click.option("--tenant", default=None,
              help="Bind the token to this tenant (e.g. dossier-acme): what it provisions "
                   "is that tenant's, as for a client with a scim_tenant claim.")
@click.option("--catalog", "catalog_path", default=None,
              help="Check the tenant against this catalog (default: BRIDGE_CATALOG).")
@click.option("--output", "-o", "output", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
def token_create(name: str, tenant: str | None, catalog_path: str | None,
                 output: str) -> None:
    """Make a new static token NAME (the caller's name in audit lines: static:NAME).

    Prints the token once and the BRIDGE_SCIM_STATIC_TOKENS entry that accepts it (the
    SHA-256 digest, never the token). Several entries are joined with commas; restart the
    bridge with the new setting. Nothing is stored."""
    from bridge.auth import static_token_entry

    if tenant:
        _check_tenant(tenant, catalog_path or os.environ.get("BRIDGE_CATALOG"))
    the_token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        entry = static_token_entry(name, the_token, tenant)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if output == "json":
        emit_json({"name": name, "tenant": tenant, "token": the_token, "entry": entry,
                   "setting": f"BRIDGE_SCIM_STATIC_TOKENS={entry}"})
        return
    say("The token, shown once (the bridge keeps only its digest): give it to the IdP as "
        "its bearer secret.")
    click.echo(f"token: {the_token}")
    say("The bridge's setting (append to an existing value with a comma):")
    click.echo(f"BRIDGE_SCIM_STATIC_TOKENS={entry}")


def _checked_live(the_catalog: Any, tenant: str) -> bool:
    """Check the tenant where it lives (an organization of the realm, read now); False when
    the bridge's settings are not at hand (then only the catalog's seeds are checked)."""
    from bridge.config import MissingSetting, Settings
    from bridge.keycloak.client import AdminGateway
    from bridge.tenants.store import TenantStore

    try:
        settings = Settings.from_env()
    except MissingSetting:
        say("warning: no Keycloak settings: the tenant is checked against the catalog's "
            "seed tenants only")
        return False
    gateway = AdminGateway.with_client_credentials(
        settings.keycloak_url, settings.realm, settings.client_id, settings.client_secret)
    if TenantStore.of(gateway, settings.realm, the_catalog).find(tenant) is None:
        raise click.BadParameter(f"realm {settings.realm!r} has no "
                                 f"{the_catalog.tenancy.label} {tenant!r}",
                                 param_hint="--tenant")
    return True


def _check_tenant(tenant: str, catalog_path: str | None) -> None:
    """A tenant the catalog does not declare would bind the token to nothing it may
    provision: refused when the catalog is at hand, said when it is not."""
    if not catalog_path:
        say(f"warning: no catalog to check {tenant!r} against (BRIDGE_CATALOG or --catalog)")
        return
    from bridge.catalog.load import load as load_catalog

    the_catalog = load_catalog(catalog_path)
    if the_catalog.tenancy is not None and _checked_live(the_catalog, tenant):
        return
    if tenant not in the_catalog.tenant_by_name:
        known = ", ".join(sorted(the_catalog.tenant_by_name)) or "none: it has no tenancy"
        raise click.BadParameter(f"catalog {the_catalog.name!r} has no tenant {tenant!r} "
                                 f"(known: {known})", param_hint="--tenant")


COMMANDS = (scim,)
