"""The managed group tree (``/bridge/scim``) and the reads of its groups.

Groups live as direct children of the managed root. Any other group id is answered as not
found and logged with the client id: a SCIM client can never put a user in a group outside
that tree (e.g. one mapping realm-admin). The managed root's id is resolved again when
found stale (a 404, or a managed group under an unknown parent id).

The group cache feeds no write. It only lets a member-only PATCH (one partial write per
member) answer without a read: that reply's ``displayName`` and ``meta`` are at most
``group_cache_ttl`` seconds old.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from scim2_models import Resource

from bridge import errors as domain
from bridge.keycloak import groups as kc_groups
from bridge.provisioning.state import BackendState
from scim import errors
from scim.backend import (
    Projection,
    Subject,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

GROUP_CACHE_TTL = 10.0
"""Seconds a replica trusts its last read of a managed group for a member-only PATCH
(``BRIDGE_GROUP_CACHE_TTL``): the bound on how stale that response's displayName and
meta can be. The cache never feeds a write, and every other read or write reads fresh."""

GROUP_CACHE_SIZE = 4096
"""Groups a replica's cache holds at most (least recently read evicted first)."""


class ManagedGroups(BackendState):
    """The managed tree, its cache and group reads (see the module docstring)."""

    def _root(self) -> str:
        """The managed root's id, resolved on first use and again whenever it is found
        stale (:meth:`_refresh_root`): a root re-created by ``bridge realm apply`` is
        picked up by every running replica, without a restart."""
        if self._root_id is None:
            try:
                root = kc_groups.get_by_path(self.gw, self.realm, self.managed_root)
            except domain.NotFound:
                logger.error("the managed group %s does not exist in realm %s",
                             self.managed_root, self.realm)
                raise errors.BackendUnavailable(
                    "The directory is not set up for SCIM groups", retry_after=self.retry_after
                ) from None
            self._root_id = root["id"]
        return self._root_id

    def _refresh_root(self) -> str:
        """Forget the root's id and resolve it again (one call); 503 when it is gone."""
        self._root_id = None
        return self._root()

    def _under_root(self, call: Callable[[str], T]) -> T:
        """``call(root_id)``; when Keycloak answers 404 for it and the root now has
        another id (deleted and re-created), once more with the new id."""
        root = self._root()
        try:
            return call(root)
        except domain.NotFound:
            if self._refresh_root() == root:
                raise
            return call(self._root_id or root)

    def _managed(self, group: dict[str, Any]) -> bool:
        """Whether ``group`` is a direct child of the managed root. A group whose path
        says it is, under a parent id this replica does not know, means the root was
        re-created: its id is resolved again (one call, on that occasion only)."""
        root = self._root()
        if group.get("id") == root:
            return False
        if group.get("parentId") == root:
            return True
        path = str(group.get("path") or "")
        if path.rsplit("/", 1)[0] != self.managed_root or not group.get("parentId"):
            return False
        return group.get("parentId") == self._refresh_root() != group.get("id")

    def _remember(self, group: dict[str, Any]) -> None:
        if self.group_cache_ttl <= 0:
            return
        with self._lock:
            self._groups[group["id"]] = (time.monotonic(), group)
            self._groups.move_to_end(group["id"])
            while len(self._groups) > GROUP_CACHE_SIZE:
                self._groups.popitem(last=False)

    def _forget(self, group_id: str) -> None:
        with self._lock:
            self._groups.pop(group_id, None)

    def _cached(self, group_id: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._groups.get(group_id)
        if entry is None or time.monotonic() - entry[0] > self.group_cache_ttl:
            return None
        return entry[1]

    def _group_visible(self, subject: Subject, group: dict[str, Any]) -> bool:
        return subject.tenant is None or self.group_mapping.tenant(group) == subject.tenant

    def _group_rep(self, subject: Subject, group_id: str, *, fresh: bool
                   ) -> dict[str, Any] | None:
        """A managed group visible to the subject, or ``None``. A group outside the
        managed tree is refused and logged, never returned."""
        group = None if fresh else self._cached(group_id)
        if group is None:
            try:
                group = kc_groups.get(self.gw, self.realm, group_id)
            except domain.NotFound:
                self._forget(group_id)
                return None
        if not self._managed(group):
            logger.warning(
                "SCIM client %r refused access to group %r outside the managed tree %s",
                subject.client_id, group_id, self.managed_root)
            self._forget(group_id)
            return None
        self._remember(group)
        if not self._group_visible(subject, group):
            return None
        return group

    def _existing_group(self, subject: Subject, group_id: str, *, fresh: bool
                        ) -> dict[str, Any]:
        group = self._group_rep(subject, group_id, fresh=fresh)
        if group is None:
            raise errors.NotFound(f"Group {group_id!r} not found")
        return group

    def _members(self, subject: Subject, group_id: str) -> list[dict[str, Any]]:
        """Every direct user member (paged, ``first``/``max``) as SCIM member entries."""
        entries = []
        for rep in self._pages(lambda first, size: kc_groups.members(
                self.gw, self.realm, group_id, first=first, max=size)):
            if not self._user_visible(subject, rep) or self._hidden(rep):
                continue
            entries.append({"value": rep["id"], "$ref": f"Users/{rep['id']}", "type": "User",
                            "display": self.user_mapping.display(rep)})
        return entries

    def _group_member_reps(self, group_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(lambda first, size: kc_groups.members(
            self.gw, self.realm, group_id, first=first, max=size))

    def _group_resource(self, subject: Subject, group: dict[str, Any],
                        projection: Projection) -> Resource[Any]:
        members = self._members(subject, group["id"]) if projection.includes(
            "members") else None
        return self.group_mapping.from_keycloak(group, members)

    def _find_group_named(self, name: str) -> list[dict[str, Any]]:
        """Managed groups whose name equals ``name`` case-insensitively (any tenant)."""
        wanted = name.casefold()
        return [g for g in self._under_root(lambda root: list(self._pages(
            lambda first, size: kc_groups.children(
                self.gw, self.realm, root, first=first, max=size, search=name))))
            if (g.get("name") or "").casefold() == wanted]
