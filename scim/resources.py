"""The resources this server serves: User (core and enterprise, plus the extensions the
application registers) and Group.

The models are scim2-models classes. The protocol layer defines the RFC's schemas only: an
application adds its own User extensions (RFC 7643 §3.3) by building its
:class:`ServedResources` with them and giving it to its backend (the backend contract's
``resources``). Here an extension's attributes must only round-trip: what they mean is
the application's business.
"""

from __future__ import annotations

from collections.abc import Sequence
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

ENTERPRISE_SCHEMA = str(EnterpriseUser.__schema__)
USER_SCHEMA = str(scim2_models.User.__schema__)
GROUP_SCHEMA = str(scim2_models.Group.__schema__)


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

    @classmethod
    def of_endpoint(cls, endpoint: str) -> Kind | None:
        for kind in cls:
            if kind.endpoint.casefold() == "/" + endpoint.strip("/").casefold():
                return kind
        return None


POLICY = ScimPolicy(
    # RFC 7644 §3.12: refuse what we do not declare (an unknown attribute or schema).
    unknown=ScimPolicy.Unknown.forbid,
    # Microsoft Entra sends {"op":"Remove","path":"members","value":[{"value":id}]}.
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    # Microsoft Entra sends {"op":"Add","path":"emails[type eq \"work\"].value", ...}
    # for a user that has no work e-mail yet, and expects the entry to be created.
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)

GROUP_RESOURCE_TYPE = ResourceType(
    id="Group", name="Group", endpoint="/Groups", description="Group", schema_=GROUP_SCHEMA
)


class ServedResources:
    """What a server serves: the User (core, enterprise and ``user_extensions``, in that
    order) and the Group, as scim2-models composes them (a :class:`ScimProvider`).

    ``/Schemas`` and ``/ResourceTypes`` publish it and requests are validated against
    its models. The application registers its extensions here, as scim2-server lets
    its caller register schemas and resource types; the protocol layer names none.
    """

    def __init__(self, user_extensions: Sequence[type[Extension]] = ()) -> None:
        extensions = (EnterpriseUser, *user_extensions)
        user_resource_type = ResourceType(
            id="User",
            name="User",
            endpoint="/Users",
            description="User Account",
            schema_=USER_SCHEMA,
            schema_extensions=[SchemaExtension(schema_=str(extension.__schema__), required=False)
                               for extension in extensions],
        )
        self.user_extensions: tuple[type[Extension], ...] = tuple(user_extensions)
        self.provider = ScimProvider(models=[User, *extensions, ScimGroup],
                                     resource_types=[user_resource_type, GROUP_RESOURCE_TYPE],
                                     policy=POLICY)
        self.user: type[Resource[Any]] = self._served(Kind.USER)
        """The composed User model (``User[EnterpriseUser | ...]``)."""
        self.group: type[Resource[Any]] = self._served(Kind.GROUP)

    def _served(self, kind: Kind) -> type[Resource[Any]]:
        model = self.provider.model_for_endpoint(kind.endpoint)
        assert isinstance(model, type) and issubclass(model, Resource)
        return model

    def model(self, kind: Kind) -> type[Resource[Any]]:
        """The scim2-models class of a kind's resources."""
        return self.user if kind is Kind.USER else self.group

    def kind_of(self, resource: Resource[Any]) -> Kind:
        return Kind.USER if isinstance(resource, self.user) else Kind.GROUP


CORE = ServedResources()
"""The RFC's resources only: core and enterprise User, Group (a backend given none)."""
