"""An in-memory :class:`~scim.backend.ScimBackend`, the reference the protocol tests run on.

It follows every rule of the contract (copies, meta, case-insensitive uniqueness,
preconditions, stable order, exact ``totalResults``) and shows the two things a
real backend must get right:

* **member changes without loading the group**: group members live in their own
  per-group index; a PATCH adding or removing members goes through
  :func:`~scim.backend.split_member_operations` and touches one entry per member.
  ``member_loads`` counts how often a group's whole member list was materialised.
* **filter push-down**: ``eq`` on ``userName``, ``externalId``, ``id`` or a group's
  ``displayName`` is answered from an index; the whole filter is still evaluated on
  the candidates, so a pushed-down part never makes the answer wrong. With
  ``max_scan`` set, a filter that would need a scan of more resources raises
  ``tooMany``.

Resources: the models it is given (none: the RFC's User and Group only); it stores
whatever they validate.

Tenancy: which users a tenant holds is the :class:`~scim.backend.TenantScope` the
application gives (none: a tenant-bound subject sees no user); a group belongs to the
tenant whose client created it.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

from scim2_models import (
    Context,
    GroupMembership,
    Meta,
    PatchOp,
    Resource,
)
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
)

from . import errors
from .backend import (
    ALL_ATTRIBUTES,
    UNSCOPED,
    Precondition,
    Projection,
    Query,
    QueryResult,
    Subject,
    TenantScope,
    apply_patch,
    check_precondition,
    split_member_operations,
)
from .resources import CORE, GROUP_SCHEMA, USER_SCHEMA, GroupMember, Kind, ServedResources

_INDEXED = {
    Kind.USER: {"username": "userName", "externalid": "externalId", "id": "id"},
    Kind.GROUP: {"displayname": "displayName", "externalid": "externalId", "id": "id"},
}


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryBackend:
    """Thread-safe in-memory storage. Set ``unavailable = True`` to simulate an outage."""

    def __init__(self, *, max_scan: int | None = None, tenancy: TenantScope = UNSCOPED,
                 resources: ServedResources = CORE) -> None:
        self.max_scan = max_scan
        self.resources = resources
        self.tenancy = tenancy
        self.unavailable = False
        self.calls: Counter[str] = Counter()
        self.member_loads = 0
        self._lock = threading.RLock()
        self._versions = count(1)
        self._records: dict[Kind, dict[str, Resource[Any]]] = {Kind.USER: {}, Kind.GROUP: {}}
        # group id → {member id: member type "User"|"Group"}; a member's display is
        # computed when read (readOnly: what a client sends is ignored)
        self._members: dict[str, dict[str, str]] = {}
        self._group_tenant: dict[str, str | None] = {}

    # -- the ScimBackend protocol -----------------------------------------------

    def get(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        projection: Projection = ALL_ATTRIBUTES,
    ) -> Resource[Any] | None:
        with self._call("get"):
            if not self._visible(subject, kind, resource_id):
                return None
            return self._materialise(kind, resource_id, projection)

    def query(self, subject: Subject, kind: Kind, query: Query) -> QueryResult:
        with self._call("query"):
            candidates = self._candidates(kind, query.filter.ast if query.filter else None)
            candidates = [c for c in candidates if self._visible(subject, kind, c)]
            if self.max_scan is not None and len(candidates) > self.max_scan:
                raise errors.TooMany(
                    f"The filter would scan {len(candidates)} resources; narrow it "
                    f"(for example with an eq on userName)"
                )
            needs_members = kind is Kind.GROUP and (
                query.projection.includes("members")
                or "members" in str(query.filter or "").casefold()
                or "members" in str(query.sort_by or "").casefold()
            )
            projection = (
                ALL_ATTRIBUTES if needs_members else Projection(excluded_attributes=("members",))
            )
            matching = [
                resource
                for resource in (self._materialise(kind, c, projection) for c in candidates)
                if query.matches(resource)
            ]
            ordered = query.sort(matching)
            return QueryResult(query.page(ordered), len(ordered))

    def create(self, subject: Subject, kind: Kind, resource: Resource[Any]) -> Resource[Any]:
        with self._call("create"):
            record = resource.model_copy(deep=True)
            resource_id = str(uuid.uuid4())
            record.id = resource_id
            members: dict[str, str] = {}
            if kind is Kind.USER:
                record.groups = None
                self._bind_tenant(subject, record)
                self._check_user_name(record, None)
            else:
                self._check_display_name(record, None)
                members = self._member_types(subject, _entries(record.members))
                record.members = None
            now = _now()
            record.meta = Meta(
                resource_type=kind.value, created=now, last_modified=now, version=self._next()
            )
            self._records[kind][resource_id] = record
            if kind is Kind.GROUP:
                self._members[resource_id] = members
                self._group_tenant[resource_id] = subject.tenant
            return self._materialise(kind, resource_id, ALL_ATTRIBUTES)

    def replace(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        resource: Resource[Any],
        *,
        if_match: Precondition | None = None,
    ) -> Resource[Any]:
        with self._call("replace"):
            current = self._stored(subject, kind, resource_id)
            check_precondition(current, if_match)
            record = resource.model_copy(deep=True)
            record.id = resource_id
            members = None
            if kind is Kind.USER:
                record.groups = None
                self._bind_tenant(subject, record)
                self._check_user_name(record, resource_id)
            else:
                self._check_display_name(record, resource_id)
                members = self._member_types(subject, _entries(record.members))
                record.members = None
            changed = _dump(record) != _dump(current) or (
                members is not None and members != self._members[resource_id]
            )
            self._store(kind, resource_id, record, current, changed)
            if members is not None:
                self._members[resource_id] = members
            return self._materialise(kind, resource_id, ALL_ATTRIBUTES)

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
        with self._call("patch"):
            current = self._stored(subject, kind, resource_id)
            check_precondition(current, if_match)
            if kind is Kind.USER:
                self._patch_user(subject, resource_id, current, patch)
            else:
                self._patch_group(subject, resource_id, current, patch)
            return self._materialise(kind, resource_id, projection)

    def delete(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        if_match: Precondition | None = None,
    ) -> None:
        with self._call("delete"):
            current = self._stored(subject, kind, resource_id)
            check_precondition(current, if_match)
            del self._records[kind][resource_id]
            if kind is Kind.GROUP:
                del self._members[resource_id]
                del self._group_tenant[resource_id]
            for members in self._members.values():
                members.pop(resource_id, None)

    # -- PATCH ---------------------------------------------------------------------

    def _patch_user(
        self, subject: Subject, resource_id: str, current: Resource[Any], patch: PatchOp[Any]
    ) -> None:
        working = self._materialise(Kind.USER, resource_id, ALL_ATTRIBUTES)
        if not apply_patch(working, patch):
            return
        working.groups = None
        self._bind_tenant(subject, working)
        self._check_user_name(working, resource_id)
        self._store(Kind.USER, resource_id, working, current, True)

    def _patch_group(
        self, subject: Subject, resource_id: str, current: Resource[Any], patch: PatchOp[Any]
    ) -> None:
        changes, rest = split_member_operations(patch)
        members = self._members[resource_id]
        added = self._member_types(subject, _entries(changes.add))  # validate first
        new_members: dict[str, str] | None = None
        working = current.model_copy(deep=True)
        changed = False
        if rest:
            touches_members = any(
                (op.path is not None and op.path.parts[:1] == ("members",))
                or (
                    op.path is None
                    and isinstance(op.value, dict)
                    and any(k.casefold() == "members" for k in op.value)
                )
                for op in rest
            )
            if touches_members:
                working = self._materialise(Kind.GROUP, resource_id, ALL_ATTRIBUTES)
            changed = apply_patch(working, rest)
            if touches_members:
                new_members = self._member_types(subject, _entries(working.members))
                working.members = None
            self._check_display_name(working, resource_id)
        if new_members is not None:
            self._members[resource_id] = new_members
            members = new_members
        for member, member_type in added.items():
            changed |= member not in members
            members[member] = member_type
        for member in changes.remove:
            changed |= members.pop(member, None) is not None
        self._store(Kind.GROUP, resource_id, working, current, changed)

    # -- internals -----------------------------------------------------------------

    class _Call:
        def __init__(self, backend: MemoryBackend, name: str) -> None:
            self.backend, self.name = backend, name

        def __enter__(self) -> None:
            self.backend._lock.acquire()
            self.backend.calls[self.name] += 1
            if self.backend.unavailable:
                self.backend._lock.release()
                raise errors.BackendUnavailable("The directory is unreachable", retry_after=5)

        def __exit__(self, *exc: object) -> None:
            self.backend._lock.release()

    def _call(self, name: str) -> MemoryBackend._Call:
        return MemoryBackend._Call(self, name)

    def _next(self) -> str:
        return f'W/"{next(self._versions)}"'

    def _store(
        self,
        kind: Kind,
        resource_id: str,
        record: Resource[Any],
        current: Resource[Any],
        changed: bool,
    ) -> None:
        assert current.meta is not None
        record = record.model_copy(deep=True)
        record.id = resource_id
        record.meta = current.meta.model_copy()
        if changed:
            record.meta.last_modified = _now()
            record.meta.version = self._next()
        self._records[kind][resource_id] = record

    def _stored(self, subject: Subject, kind: Kind, resource_id: str) -> Resource[Any]:
        """The resource a write (PUT, PATCH, DELETE) may change, or a SCIM error."""
        if not self._visible(subject, kind, resource_id):
            raise errors.NotFound(f"{kind.value} {resource_id!r} not found")
        record = self._records[kind][resource_id]
        if kind is Kind.USER and subject.tenant is not None:
            self.tenancy.check_write(subject.tenant, record)
        return record

    def _visible(self, subject: Subject, kind: Kind, resource_id: str) -> bool:
        record = self._records[kind].get(resource_id)
        if record is None:
            return False
        if subject.tenant is None:
            return True
        if kind is Kind.GROUP:
            return self._group_tenant.get(resource_id) == subject.tenant
        return self.tenancy.holds(subject.tenant, record)

    def _bind_tenant(self, subject: Subject, user: Resource[Any]) -> None:
        if subject.tenant is not None:
            self.tenancy.bind(subject.tenant, user)

    def _check_user_name(self, user: Resource[Any], own_id: str | None) -> None:
        wanted = (user.user_name or "").casefold()
        for other_id, other in self._records[Kind.USER].items():
            if other_id != own_id and (other.user_name or "").casefold() == wanted:
                raise errors.Uniqueness(f"userName {user.user_name!r} is already taken")

    def _check_display_name(self, group: Resource[Any], own_id: str | None) -> None:
        wanted = (group.display_name or "").casefold()
        for other_id, other in self._records[Kind.GROUP].items():
            if other_id != own_id and (other.display_name or "").casefold() == wanted:
                raise errors.Uniqueness(f"displayName {group.display_name!r} is already taken")

    def _member_types(self, subject: Subject, ids: list[str | None]) -> dict[str, str]:
        """{member id: "User"|"Group"} for the ids, each of which must be visible."""
        members: dict[str, str] = {}
        for member in ids:
            if member and self._visible(subject, Kind.USER, member):
                members[member] = "User"
            elif member and self._visible(subject, Kind.GROUP, member):
                members[member] = "Group"
            else:
                raise errors.InvalidValue(f"member {member!r} does not exist")
        return members

    def _materialise(self, kind: Kind, resource_id: str, projection: Projection) -> Resource[Any]:
        resource = self._records[kind][resource_id].model_copy(deep=True)
        if kind is Kind.USER:
            memberships = [
                GroupMembership(
                    value=group_id,
                    ref=f"Groups/{group_id}",
                    display=self._records[Kind.GROUP][group_id].display_name,
                    type="direct",
                )
                for group_id, members in self._members.items()
                if resource_id in members
            ]
            resource.groups = memberships or None
        elif projection.includes("members"):
            self.member_loads += 1
            resource.members = [
                GroupMember(
                    value=member,
                    ref=f"{member_type}s/{member}",
                    type=member_type,
                    display=self._display(member, member_type),
                )
                for member, member_type in self._members[resource_id].items()
            ] or None
        return resource

    def _display(self, member: str, member_type: str) -> str | None:
        if member_type == "Group":
            return self._records[Kind.GROUP][member].display_name
        user = self._records[Kind.USER][member]
        return user.display_name or user.user_name

    def _candidates(self, kind: Kind, node: FilterNode | None) -> Iterator[str] | list[str]:
        """Ids that may match: an index lookup for a pushed-down ``eq``, else a full scan."""
        lookup = _indexed_eq(kind, node)
        if lookup is None:
            return list(self._records[kind])
        attribute, value = lookup
        if attribute == "id":
            return [value] if value in self._records[kind] else []
        return [
            resource_id
            for resource_id, record in self._records[kind].items()
            if _indexed_value(record, attribute, value)
        ]


def _entries(members: Iterable[GroupMember] | None) -> list[str | None]:
    """The member ids of member entries (their ``display`` is readOnly, ignored)."""
    return [m.value for m in members or []]


def _dump(resource: Resource[Any]) -> dict[str, Any]:
    return resource.model_dump(scim_ctx=Context.DEFAULT, exclude={"meta"})


def _indexed_eq(kind: Kind, node: FilterNode | None) -> tuple[str, str] | None:
    """An ``eq`` the index answers, found at the top or in a top-level ``and``."""
    if node is None:
        return None
    terms = (
        node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_ else (node,)
    )
    core = USER_SCHEMA if kind is Kind.USER else GROUP_SCHEMA
    for term in terms:
        if (
            isinstance(term, Comparison)
            and term.op == CompareOperator.eq
            and isinstance(term.value, str)
            and isinstance(term.attr_path, AttrPath)
            and term.attr_path.sub_attr is None
            and (term.attr_path.uri is None or term.attr_path.uri.casefold() == core.casefold())
            and term.attr_path.attr.casefold() in _INDEXED[kind]
        ):
            return _INDEXED[kind][term.attr_path.attr.casefold()], term.value
    return None


def _indexed_value(record: Resource[Any], attribute: str, value: str) -> bool:
    # The index stands in for a storage index: case-insensitive on userName and
    # displayName (caseExact false), exact on externalId (caseExact true, RFC 7643 §3.1).
    if attribute == "userName":
        return (record.user_name or "").casefold() == value.casefold()
    if attribute == "displayName":
        return (record.display_name or "").casefold() == value.casefold()
    return record.external_id == value
