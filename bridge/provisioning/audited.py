"""SCIM writes on the audit trail: :class:`AuditedScimBackend` wraps any
:class:`scim.backend.ScimBackend` so that each create, replace, patch and delete of a User
or a Group (a ``/Bulk`` operation included: each runs through the backend) is one
``bridge.audit`` event (see :mod:`bridge.audit`).

The actor is ``scim:<client id>`` (a static token's name, or the OAuth client); the
target is the resource's id, its ``userName`` and primary e-mail (users) or
``displayName`` (groups), and the tenant of a tenant-bound client. A refusal by a catalog
rule names the rule (``rule``); the request body is never written.
"""

from __future__ import annotations

from typing import Any

from scim2_models import Resource

from bridge.audit import Audited, failure
from scim import errors
from scim.backend import (
    ALL_ATTRIBUTES,
    Precondition,
    Projection,
    Query,
    QueryResult,
    ScimBackend,
    Subject,
)
from scim.resources import Kind


class AuditedScimBackend:
    """A :class:`~scim.backend.ScimBackend` whose every write is one audit event."""

    def __init__(self, backend: ScimBackend) -> None:
        self.backend = backend

    def __getattr__(self, name: str) -> Any:  # the wrapped backend's own extras
        return getattr(self.backend, name)

    # -- reads: as they are ----------------------------------------------------------------

    def get(self, subject: Subject, kind: Kind, resource_id: str, *,
            projection: Projection = ALL_ATTRIBUTES) -> Resource[Any] | None:
        return self.backend.get(subject, kind, resource_id, projection=projection)

    def query(self, subject: Subject, kind: Kind, query: Query) -> QueryResult:
        return self.backend.query(subject, kind, query)

    # -- writes: one event each --------------------------------------------------------------

    def create(self, subject: Subject, kind: Kind, resource: Resource[Any]) -> Resource[Any]:
        with _Audited(subject, kind, "create", None, resource) as audit:
            return audit.stored(self.backend.create(subject, kind, resource))

    def replace(self, subject: Subject, kind: Kind, resource_id: str,
                replacement: Resource[Any], *,
                if_match: Precondition | None = None) -> Resource[Any]:
        with _Audited(subject, kind, "replace", resource_id, replacement) as audit:
            return audit.stored(self.backend.replace(subject, kind, resource_id, replacement,
                                                     if_match=if_match))

    def patch(self, subject: Subject, kind: Kind, resource_id: str, patch: Any, *,
              if_match: Precondition | None = None,
              projection: Projection = ALL_ATTRIBUTES) -> Resource[Any]:
        with _Audited(subject, kind, "patch", resource_id, None) as audit:
            return audit.stored(self.backend.patch(subject, kind, resource_id, patch,
                                                   if_match=if_match, projection=projection))

    def delete(self, subject: Subject, kind: Kind, resource_id: str, *,
               if_match: Precondition | None = None) -> None:
        with _Audited(subject, kind, "delete", resource_id, None) as audit:
            self.backend.delete(subject, kind, resource_id, if_match=if_match)
            audit.done()


class _Audited(Audited):
    def __init__(self, subject: Subject, kind: Kind, verb: str, resource_id: str | None,
                 resource: Resource[Any] | None) -> None:
        target: dict[str, Any] = {"id": resource_id, "tenant": subject.tenant}
        super().__init__(f"scim:{subject.client_id}", f"scim.{kind.value.lower()}.{verb}",
                         target)
        if resource is not None:
            self.target.update(_names(resource))

    def stored(self, resource: Resource[Any]) -> Resource[Any]:
        self.target.update({"id": resource.id, **_names(resource)})
        return self.done(resource)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        if exc is not None and not self.logged:
            # The SCIM answer the client gets (a library's error as the handlers render it).
            self.write(**failure(errors.from_exception(exc) or exc))


def _names(resource: Resource[Any]) -> dict[str, Any]:
    """The names a person recognises a resource by (never a password or a body)."""
    names: dict[str, Any] = {}
    user_name = getattr(resource, "user_name", None)
    if user_name:
        names["username"] = user_name
    emails = getattr(resource, "emails", None) or []
    primary = next((e for e in emails if getattr(e, "primary", False)), None) or (
        emails[0] if emails else None)
    if primary is not None and getattr(primary, "value", None):
        names["email"] = primary.value
    display_name = getattr(resource, "display_name", None)
    if display_name and user_name is None:
        names["display_name"] = display_name
    return names
