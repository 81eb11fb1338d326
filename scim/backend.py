"""The storage contract of the SCIM layer: :class:`ScimBackend`, and the values it exchanges.

The protocol layer (``scim.handlers``) parses, validates and renders; the backend
stores. The handlers talk only to a backend, so protocol tests run against
``scim.memory.MemoryBackend`` and the application's storage implements the same
Protocol.

Rules every backend follows (checked by ``tests/unit/scim`` against the memory
backend, and meant to be re-run against any other):

* **Copies.** Resources passed in are not kept by reference; resources returned
  are fresh objects the caller may mutate.
* **Identity and meta.** The backend assigns ``id`` and fills ``meta.resourceType``,
  ``meta.created``, ``meta.lastModified`` and ``meta.version`` (a weak ETag such
  as ``W/"3"``) which changes whenever the resource changes. ``meta.location`` is
  left to the protocol layer, which knows the base URL. References to other
  resources (``members.$ref``, ``groups.$ref``, ``manager.$ref``) may be relative
  to the SCIM root, e.g. ``Users/2819c223``; the protocol layer makes them absolute.
* **Not found.** ``get`` returns ``None``; write methods raise
  :class:`scim.errors.NotFound`. A resource outside the subject's tenant does not
  exist for that subject.
* **Uniqueness.** ``userName`` is unique case-insensitively, and so is a Group's
  ``displayName``: a clash raises :class:`scim.errors.Uniqueness` (409). The
  ``userName`` is returned exactly as it was sent.
* **Preconditions.** Write methods receive ``if_match`` (``None`` when the client
  sent no ``If-Match``) and raise :class:`scim.errors.PreconditionFailed` when the
  stored version is not admitted, atomically with the write.
* **Failures.** Errors are raised as :class:`scim.errors.ScimError` subclasses
  (scim2-models ``SCIMException`` is accepted too and translated). A storage that
  cannot be reached raises :class:`scim.errors.BackendUnavailable` (503 with
  ``Retry-After``). Any other exception becomes a 500 with a request id and no
  detail.
* **Resources.** A backend declares the models it stores (``resources``, a
  :class:`scim.resources.ServedResources`): the application registers its User
  extensions there, and the protocol layer serves exactly those.
* **Subject.** Every call carries the authenticated :class:`Subject`. A subject
  bound to a tenant only sees and changes that tenant's resources. Which users a
  tenant holds is the domain's rule, not the protocol's: the application gives it
  to its backend as a :class:`TenantScope` (one may read a User extension the
  application registers); a group belongs to the tenant whose client created it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from scim2_models import (
    PatchOp,
    PatchOperation,
    Path,
    Resource,
    ScimFilter,
    SearchRequest,
)
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    ValuePath,
)

from .errors import Forbidden, InvalidValue, PreconditionFailed
from .resources import GROUP_SCHEMA, POLICY, GroupMember, Kind, ServedResources

__all__ = [
    "ALL_ATTRIBUTES",
    "UNSCOPED",
    "Kind",
    "MemberChanges",
    "Precondition",
    "Projection",
    "Query",
    "QueryResult",
    "ScimBackend",
    "Subject",
    "TenantScope",
    "apply_patch",
    "check_precondition",
    "split_member_operations",
]


@dataclass(frozen=True)
class Subject:
    """Who is calling: the authenticated SCIM client.

    ``tenant`` binds the client to one tenant: it then sees and changes only the
    resources of that tenant. ``None`` means the client is not tenant-bound.
    """

    client_id: str
    tenant: str | None = None


@runtime_checkable
class TenantScope(Protocol):
    """Which users a tenant holds: the domain's tenancy rule, applied by a backend to
    the subjects bound to a tenant (never called for an unbound one).

    The protocol layer knows no such rule; the application registers one with its
    backend.
    """

    def holds(self, tenant: str, user: Resource[Any]) -> bool:
        """Whether ``tenant`` holds the stored ``user``: its client sees it."""
        ...

    def bind(self, tenant: str, user: Resource[Any]) -> None:
        """Make a user the client of ``tenant`` writes (create, PUT, PATCH result)
        belong to that tenant, in place; :class:`scim.errors.Forbidden` when it names
        another tenant."""
        ...

    def check_write(self, tenant: str, user: Resource[Any]) -> None:
        """:class:`scim.errors.Forbidden` when the client of ``tenant`` may not change
        or delete the stored ``user`` it holds (e.g. another tenant holds it too)."""
        ...


class _Unscoped:
    """No tenancy rule registered: a tenant-bound subject sees no user and writes none
    (closed, never open)."""

    def holds(self, tenant: str, user: Resource[Any]) -> bool:
        return False

    def bind(self, tenant: str, user: Resource[Any]) -> None:
        raise Forbidden("This server has no tenancy rule for tenant-bound clients")

    def check_write(self, tenant: str, user: Resource[Any]) -> None:
        raise Forbidden("This server has no tenancy rule for tenant-bound clients")


UNSCOPED: TenantScope = _Unscoped()
"""The :class:`TenantScope` of a backend given none: closed to tenant-bound subjects."""


@dataclass(frozen=True)
class Projection:
    """The ``attributes`` / ``excludedAttributes`` of a request (RFC 7644 §3.9).

    A backend may use it to avoid loading what the response will not carry, such
    as the members of a group under ``excludedAttributes=members``. It must load
    every attribute :meth:`includes` answers ``True`` for; the protocol layer
    trims the rest anyway. Names are attribute paths as the client wrote them
    (``members``, ``name.givenName``, ``urn:...:User:department``).
    """

    attributes: tuple[str, ...] = ()
    excluded_attributes: tuple[str, ...] = ()

    def includes(self, attribute: str) -> bool:
        """Whether the response may carry ``attribute`` (a top-level name or a full URN path)."""
        name = attribute.casefold()
        if self.attributes:
            for wanted in (a.casefold() for a in self.attributes):
                if wanted == name or wanted.startswith(name + ".") or name.startswith(wanted + "."):
                    return True
                if wanted.rsplit(":", 1)[-1].split(".")[0] == name:
                    return True
            return name in {"id", "schemas"}
        return all(
            excluded.casefold() != name and excluded.casefold().rsplit(":", 1)[-1] != name
            for excluded in self.excluded_attributes
        )


ALL_ATTRIBUTES = Projection()
"""The projection of a request that names no ``attributes`` nor ``excludedAttributes``."""


@dataclass(frozen=True)
class Precondition:
    """An ``If-Match`` header: the versions a write is allowed to apply to.

    Comparison is weak (RFC 9110 §8.8.3.2): ``W/"3"`` admits a stored ``"3"``.
    ``*`` admits any existing resource.
    """

    etags: frozenset[str]

    @staticmethod
    def _opaque(tag: str) -> str:
        tag = tag.strip()
        return tag[2:] if tag[:2].upper() == "W/" else tag

    @classmethod
    def parse(cls, header: str | None) -> Precondition | None:
        """Read an ``If-Match`` header; ``None`` when absent or empty."""
        if header is None or not header.strip():
            return None
        tags = frozenset(cls._opaque(tag) for tag in header.split(",") if tag.strip())
        return cls(tags)

    def admits(self, version: str | None) -> bool:
        if "*" in self.etags:
            return True
        return version is not None and self._opaque(version) in self.etags


def check_precondition(resource: Resource[Any], if_match: Precondition | None) -> None:
    """Raise :class:`PreconditionFailed` unless ``if_match`` admits the resource's version."""
    if if_match is None:
        return
    version = resource.meta.version if resource.meta else None
    if not if_match.admits(version):
        raise PreconditionFailed(
            f"If-Match does not match the current version {version or '(none)'}"
        )


@dataclass(frozen=True)
class Query:
    """A parsed list or ``.search`` request (RFC 7644 §3.4.2, §3.4.3).

    * ``filter``: a scim2-models :class:`ScimFilter` bound to the resource model;
      walk ``filter.ast`` (``Comparison``, ``Present``, ``LogicalExpr``, ``Not``,
      ``ValuePath`` from ``scim2_models.path``) to push what the storage can answer
      down, and test candidates with :meth:`matches` for the rest.
    * ``sort_by`` / ``descending``: the order; :meth:`sort` implements RFC 7644
      §3.4.2.3. Without ``sort_by`` the backend must still return a **stable**
      order (the same query gives the same order on every page).
    * ``start_index`` (1-based) and ``count`` (already bounded by the server's
      maximum; ``0`` asks for ``totalResults`` only).

    The backend returns ``QueryResult(resources, total_results)`` where
    ``resources`` is the requested page and ``total_results`` counts **every**
    resource matching the whole filter, never capped. A backend that cannot
    answer a filter correctly raises :class:`scim.errors.InvalidFilter`, or
    :class:`scim.errors.TooMany` when answering would mean scanning more than
    it is willing to; it never returns a silently wrong page.
    """

    filter: ScimFilter[Any] | None
    sort_by: Path[Any] | None
    descending: bool
    start_index: int
    count: int
    projection: Projection = ALL_ATTRIBUTES
    request: SearchRequest[Any] | None = field(default=None, repr=False, compare=False)

    def matches(self, resource: Resource[Any]) -> bool:
        """Whether a resource satisfies the whole filter (RFC 7644 §3.4.2.2 semantics)."""
        return self.filter is None or self.filter.match(resource)

    def sort(self, resources: Iterable[Resource[Any]]) -> list[Resource[Any]]:
        """Order resources by ``sort_by`` (stable); in their given order without it."""
        if self.request is None or self.sort_by is None:
            return list(resources)
        return self.request.sort(resources)

    def page(self, resources: Sequence[Resource[Any]]) -> list[Resource[Any]]:
        """Slice the requested page out of the whole ordered result."""
        start = self.start_index - 1
        return list(resources[start : start + self.count])


class QueryResult(NamedTuple):
    resources: list[Resource[Any]]
    """The requested page, in order, at most ``count`` long."""
    total_results: int
    """How many resources match the whole filter, across all pages."""


@runtime_checkable
class ScimBackend(Protocol):
    """Where SCIM resources live. See the module docstring for the rules.

    ``kind`` is :class:`scim.resources.Kind` (``Kind.USER`` / ``Kind.GROUP``);
    ``resources.model(kind)`` is the scim2-models class of its resources.
    """

    resources: ServedResources
    """What it stores and the server therefore serves: the User with the extensions the
    application registers (RFC 7643 §3.3), and the Group. The protocol layer validates
    requests against these models and publishes them on ``/Schemas`` and
    ``/ResourceTypes``; it names no extension of its own (``scim.resources.CORE``: the
    RFC's schemas only)."""

    def get(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        projection: Projection = ALL_ATTRIBUTES,
    ) -> Resource[Any] | None:
        """Return the resource, or ``None`` when it does not exist for this subject.

        Attributes ``projection`` excludes may be left out (e.g. a group's members).
        """
        ...

    def query(self, subject: Subject, kind: Kind, query: Query) -> QueryResult:
        """Return one page of the matching resources and the exact number of matches."""
        ...

    def create(self, subject: Subject, kind: Kind, resource: Resource[Any]) -> Resource[Any]:
        """Store a new, validated resource (no ``id``, no ``meta``) and return it as stored.

        For a Group, ``members`` may be set. Raises :class:`Uniqueness` on a clash
        and :class:`InvalidValue` when a member does not exist.
        """
        ...

    def replace(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        resource: Resource[Any],
        *,
        if_match: Precondition | None = None,
    ) -> Resource[Any]:
        """Replace the whole stored state with ``resource`` (PUT, RFC 7644 §3.5.1).

        The protocol layer has already applied PUT semantics against the current
        state (read-only attributes copied, immutable ones checked), so
        ``resource`` is the complete new state.
        """
        ...

    def patch(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        patch: PatchOp[Any],
        *,
        if_match: Precondition | None = None,
        projection: Projection = ALL_ATTRIBUTES,
    ) -> Resource[Any]:
        """Apply validated PATCH operations (RFC 7644 §3.5.2) and return the new state.

        The operations arrive parsed (``patch.operations``: ``op`` in
        {add, replace, remove}, ``path`` a scim2-models :class:`Path` or ``None``)
        and normalised by ``scim.quirks`` (e.g. Entra's ``Remove`` with a value
        array arrives as ``members[value eq "id"]`` removals). A backend may apply
        them generically with :func:`apply_patch` on the loaded resource, and should
        use :func:`split_member_operations` to add or remove group members without
        loading the group's members (O(1) storage calls per member).

        The returned resource carries at least what ``projection`` includes.
        """
        ...

    def delete(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        if_match: Precondition | None = None,
    ) -> None:
        """Delete the resource (its group memberships go with it)."""
        ...


def apply_patch(
    resource: Resource[Any], operations: PatchOp[Any] | Sequence[PatchOperation[Any]]
) -> bool:
    """Apply PATCH operations to a resource in place, under the server's policy.

    Atomic: when one operation fails the resource is left unchanged and a
    scim2-models ``SCIMException`` (translated by the protocol layer) is raised.
    Returns whether anything changed.
    """
    if isinstance(operations, PatchOp):
        patch = operations
    else:
        model: Any = type(resource)
        patch = PatchOp[model].model_construct(operations=list(operations))
    return patch.patch(resource, POLICY)


@dataclass(frozen=True)
class MemberChanges:
    """The net effect of the member add/remove operations of a Group PATCH.

    ``add`` holds the entries to add (``value`` is the member id; ``type`` as the
    client sent it, possibly ``None``; ``display`` is readOnly, computed by the
    backend, and ignored here); ``remove`` holds member ids.
    Adding a present member or removing an absent one is not an error (no-op).
    """

    add: tuple[GroupMember, ...] = ()
    remove: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


def _is_members(path: AttrPath) -> bool:
    return (
        path.attr.casefold() == "members"
        and path.sub_attr is None
        and (path.uri is None or path.uri.casefold() == GROUP_SCHEMA.casefold())
    )


def _value_eq_ids(node: FilterNode) -> list[str] | None:
    """``value eq "a"`` or ``value eq "a" or value eq "b"``: the ids; else ``None``."""
    terms: Sequence[FilterNode]
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        terms = node.terms
    else:
        terms = (node,)
    ids = []
    for term in terms:
        if not (
            isinstance(term, Comparison)
            and term.op == CompareOperator.eq
            and term.attr_path.attr.casefold() == "value"
            and term.attr_path.sub_attr is None
            and isinstance(term.value, str)
        ):
            return None
        ids.append(term.value)
    return ids


def _member_entries(value: Any) -> list[GroupMember] | None:
    entries = value if isinstance(value, list) else [value]
    members = []
    for entry in entries:
        if isinstance(entry, dict):
            try:
                entry = GroupMember.model_validate(entry)
            except ValueError:
                return None
        if not isinstance(entry, GroupMember) or not entry.value:
            return None
        members.append(entry)
    return members


def split_member_operations(
    patch: PatchOp[Any],
) -> tuple[MemberChanges, list[PatchOperation[Any]]]:
    """Separate a Group PATCH into member additions/removals and the other operations.

    Recognised as member changes (RFC 7644 §3.5.2.1, §3.5.2.2):

    * ``add`` with ``path: members`` and a list of ``{"value": id}``, or a path-less
      ``add`` whose value holds only ``members``;
    * ``remove`` with ``path: members[value eq "id"]`` (or ``or``-ed ``value eq``).

    Anything else (``replace`` of members, ``remove`` of all members, a
    ``displayName`` change...) is returned untouched in the second element, to be
    applied with :func:`apply_patch` or handled by the backend. When other
    operations also touch ``members``, every operation is returned untouched so
    that the order of operations is preserved; the backend then applies them on the
    fully loaded group.
    """
    add: dict[str, GroupMember] = {}
    remove: dict[str, None] = {}
    rest: list[PatchOperation[Any]] = []
    member_ops_seen = False
    for operation in patch.operations or []:
        ids: list[str] | None = None
        entries: list[GroupMember] | None = None
        op = operation.op
        ast = operation.path.ast if operation.path else None
        if op == PatchOperation.Op.add:
            if isinstance(ast, AttrPath) and _is_members(ast):
                entries = _member_entries(operation.value)
            elif ast is None and isinstance(operation.value, dict):
                keys = [k for k in operation.value if k.casefold() != "schemas"]
                if len(keys) == 1 and keys[0].casefold() == "members":
                    entries = _member_entries(operation.value[keys[0]])
            if entries is not None:
                ids = []
                for entry in entries:
                    assert entry.value is not None
                    add[entry.value] = entry
                    remove.pop(entry.value, None)
                    ids.append(entry.value)
        elif (
            op == PatchOperation.Op.remove
            and isinstance(ast, ValuePath)
            and ast.sub_attr is None
            and _is_members(ast.attr_path)
            and operation.value is None
        ):
            ids = _value_eq_ids(ast.val_filter)
            if ids is not None:
                for member in ids:
                    remove[member] = None
                    add.pop(member, None)
        if ids is None:
            rest.append(operation)
        else:
            member_ops_seen = True
    if member_ops_seen and any(_touches_members(operation) for operation in rest):
        return MemberChanges(), list(patch.operations or [])
    return MemberChanges(tuple(add.values()), tuple(remove)), rest


def _touches_members(operation: PatchOperation[Any]) -> bool:
    if operation.path is None:
        return isinstance(operation.value, dict) and any(
            key.casefold() == "members" for key in operation.value
        )
    return bool(operation.path.parts) and operation.path.parts[0].casefold() == "members"


def require_member_ids(ids: Iterable[str], exists: Any) -> None:
    """Raise :class:`InvalidValue` for the first id ``exists(id)`` denies (helper for backends)."""
    for member in ids:
        if not exists(member):
            raise InvalidValue(f"member {member!r} does not exist")
