"""The resources this server serves: User (core, enterprise, access extension) and Group.

The models are scim2-models classes; nothing here knows what the attributes of
the access extension mean (that is the catalog's job). Here they must only
round-trip.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar

import scim2_models
from pydantic import AfterValidator
from scim2_models import (
    ComplexAttribute,
    EnterpriseUser,
    Extension,
    Mutability,
    Resource,
    ResourceType,
    Returned,
    SchemaExtension,
    ScimPolicy,
    ScimProvider,
)
from scim2_models.urn import URN

ACCESS_SCHEMA = "urn:bridge:scim:schemas:extension:access:2.0:User"
ENTERPRISE_SCHEMA = str(EnterpriseUser.__schema__)
USER_SCHEMA = str(scim2_models.User.__schema__)
GROUP_SCHEMA = str(scim2_models.Group.__schema__)


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


# RFC 7643 §4.1.2 makes emails.value a string ("canonical form ... RFC 5321"); which
# addresses are acceptable is the storage's rule, not the protocol's. scim2-models types it
# as pydantic's EmailStr, whose checks refuse special-use domains (.local, .test,
# .internal, .example) that directories accept and Active Directory forests use. A backend
# refuses what its storage cannot hold, with invalidValue.
def _address(value: str | None) -> str | None:
    """The protocol's own check: ``local-part@domain``, both parts present (RFC 5321 §4.1.2)."""
    if value is not None:
        local, at, domain = value.rpartition("@")
        if not (at and local and domain):
            raise ValueError("must be an e-mail address (local-part@domain)")
    return value


class Email(scim2_models.Email):
    value: Annotated[str | None, AfterValidator(_address)] = None
    """Email addresses for the user."""


class User(scim2_models.User):  # type: ignore[type-arg]
    # Same name and URN as scim2-models' User (/Schemas names the schema after the class).
    __schema__ = URN(USER_SCHEMA)

    emails: list[Email] | None = None
    """Email addresses for the user."""

    Emails: ClassVar[type[ComplexAttribute]] = Email


ScimUser: type[Resource[Any]] = User[EnterpriseUser | AccessExtension]
"""The composed User model: core + enterprise + access extensions."""


# RFC 7643 §8.7.1 gives a Group's members only value, $ref and type; §2.4 makes
# "display" a label for the server to show. Ours is computed (a user's displayName,
# else its userName; a group's displayName), never stored from a client: it is
# readOnly, so a value a client sends is ignored (as RFC 7644 §3.5.1 has it for
# PUT; scim.quirks does the same for PATCH), and returned on request only
# (attributes=members.display), so a client reads back the members it wrote.
class GroupMember(scim2_models.GroupMember):
    display: Annotated[str | None, Mutability.read_only, Returned.request] = None
    """A label computed by the server: a user's displayName, else its userName; a group's
    displayName."""


class Group(scim2_models.Group):
    # Same name, URN and attributes as scim2-models' Group (the schema published
    # on /Schemas is named after the class), but members whose display is computed.
    __schema__ = URN(GROUP_SCHEMA)

    members: list[GroupMember] | None = None
    """A list of members of the Group."""

    Members: ClassVar[type[ComplexAttribute]] = GroupMember


ScimGroup: type[Resource[Any]] = Group
"""The Group model: core Group whose ``members.display`` is read-only, returned on request."""


class Kind(StrEnum):
    """The resource types, named as ``meta.resourceType`` names them (RFC 7643 §6)."""

    USER = "User"
    GROUP = "Group"

    @property
    def endpoint(self) -> str:
        return f"/{self.value}s"

    @property
    def model(self) -> type[Resource[Any]]:
        return ScimUser if self is Kind.USER else ScimGroup

    @classmethod
    def of_endpoint(cls, endpoint: str) -> Kind | None:
        for kind in cls:
            if kind.endpoint.casefold() == "/" + endpoint.strip("/").casefold():
                return kind
        return None


USER_RESOURCE_TYPE = ResourceType(
    id="User",
    name="User",
    endpoint="/Users",
    description="User Account",
    schema_=USER_SCHEMA,
    schema_extensions=[
        SchemaExtension(schema_=ENTERPRISE_SCHEMA, required=False),
        SchemaExtension(schema_=ACCESS_SCHEMA, required=False),
    ],
)
GROUP_RESOURCE_TYPE = ResourceType(
    id="Group", name="Group", endpoint="/Groups", description="Group", schema_=GROUP_SCHEMA
)

POLICY = ScimPolicy(
    # RFC 7644 §3.12 / interoperability profile: refuse what we do not declare.
    unknown=ScimPolicy.Unknown.forbid,
    # Microsoft Entra sends {"op":"Remove","path":"members","value":[{"value":id}]}.
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Microsoft Entra sends {"op":"Add","path":"emails[type eq \"work\"].value", ...}
    # for a user that has no work e-mail yet, and expects the entry to be created.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

PROVIDER = ScimProvider(
    models=[User, EnterpriseUser, AccessExtension, ScimGroup],
    resource_types=[USER_RESOURCE_TYPE, GROUP_RESOURCE_TYPE],
    policy=POLICY,
)
