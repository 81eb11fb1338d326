"""The bridge's SCIM User extension, ``urn:bridge:scim:schemas:extension:access:2.0:User``:
a user's type, status, profiles, toggles, perimeter and tenants, as SCIM clients read and
write them.

The protocol layer (``scim/``) serves the RFC's schemas only; this module registers the
extension with it: :data:`ACCESS_RESOURCES` is what the Keycloak backend declares it
serves (the backend contract's ``resources``), so ``/Schemas``, ``/ResourceTypes`` and
request validation carry the extension. What its values mean is the access catalog's
job (``bridge.catalog``); here they are only declared.
"""

from __future__ import annotations

from typing import Any

from scim2_models import ComplexAttribute, Extension, Resource
from scim2_models.urn import URN

from scim.resources import ServedResources

ACCESS_SCHEMA = "urn:bridge:scim:schemas:extension:access:2.0:User"


class Perimeter(ComplexAttribute):
    """One (dimension, value) pair of a user's perimeter."""

    dimension: str | None = None
    value: str | None = None


class AccessExtension(Extension):
    """Access facts of a user: type, status, profiles, toggles, perimeter, tenants."""

    # Semantics come from the access catalog; the SCIM layer only stores and
    # returns them (urn:bridge:scim:schemas:extension:access:2.0:User).

    __schema__ = URN(ACCESS_SCHEMA)

    user_type: str | None = None
    status: str | None = None
    profile: str | None = None
    """The user's profile; with several (seed 003), the first. Kept for clients that
    know one profile per user: ``profiles`` carries them all."""
    profiles: list[str] | None = None
    toggles: list[str] | None = None
    perimeter: list[Perimeter] | None = None
    tenants: list[str] | None = None


ACCESS_RESOURCES = ServedResources(user_extensions=[AccessExtension])
"""What the bridge serves over SCIM: core and enterprise User with the access extension,
and Group."""

AccessUser: type[Resource[Any]] = ACCESS_RESOURCES.user
"""The composed User model: ``User[EnterpriseUser | AccessExtension]``."""
