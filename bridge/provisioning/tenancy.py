"""The bridge's tenancy rule (a :class:`scim.backend.TenantScope`): a user belongs to the
tenants its access extension lists (``tenants``, Keycloak attribute ``access.tenants``).

For a SCIM client bound to a tenant (issue 9):

* it sees the users that tenant holds;
* the users it writes belong to its tenant, and to no other it names (403);
* it never changes, deactivates or deletes a user another tenant also holds (403): the
  write would take the user away from that tenant.

The memory backend applies it as given; :class:`KeycloakScimBackend` applies the same
rule to Keycloak representations.
"""

from __future__ import annotations

from typing import Any

from bridge.provisioning.access_schema import ACCESS_SCHEMA, AccessExtension
from scim import errors


def tenants_of(user: Any) -> list[str]:
    """The tenants a SCIM User's access extension lists."""
    access = user[AccessExtension]
    return list(access.tenants or []) if access is not None else []


class AccessTenancy:
    """Tenants as the access extension's ``tenants`` lists them."""

    def holds(self, tenant: str, user: Any) -> bool:
        return tenant in tenants_of(user)

    def bind(self, tenant: str, user: Any) -> None:
        access = user[AccessExtension] or AccessExtension()
        foreign = [t for t in access.tenants or [] if t != tenant]
        if foreign:
            raise errors.Forbidden(f"scim-client.tenant: a client bound to {tenant!r} "
                                   f"may not assign tenant {foreign[0]!r}")
        access.tenants = [tenant]
        user[AccessExtension] = access
        if ACCESS_SCHEMA not in user.schemas:
            user.schemas = [*user.schemas, ACCESS_SCHEMA]

    def check_write(self, tenant: str, user: Any) -> None:
        others = sorted(set(tenants_of(user)) - {tenant})
        if others:
            raise errors.Forbidden(
                f"scim-client.shared-user: user {user.id!r} also belongs to "
                f"{', '.join(repr(t) for t in others)}; a client bound to {tenant!r} may "
                "not change, deactivate or delete it")
