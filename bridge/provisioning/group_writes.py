"""Writes of SCIM Groups: create, rename, PUT, PATCH, DELETE and their members.

* add one member to a group: ``PUT /users/{uid}/groups/{gid}`` = 1 — the group's place in
  the managed tree comes from the short-lived cache of managed groups (a cold cache costs
  one ``GET /groups/{gid}``), members are never listed for it;
* member changes are validated before any write: a PATCH adding several members or a PUT
  naming an absent one changes nothing;
* group creates and renames also hold the casefolded name's lock: Keycloak's sibling
  names are unique only case-sensitively.

A group deleted through any replica is a 404: Keycloak's 404 on a membership call is
checked against the group (one read, on that path only).
"""

from __future__ import annotations

import logging
from typing import Any

from scim2_models import PatchOp, Resource

from bridge import errors as domain
from bridge.keycloak import groups as kc_groups
from bridge.provisioning.mapping import (
    CREATED,
)
from bridge.provisioning.state import NO_MEMBERS, BackendState, gone_is_done, made_by, same
from scim import errors
from scim.backend import (
    ALL_ATTRIBUTES,
    MemberChanges,
    Precondition,
    Projection,
    Subject,
    apply_patch,
    check_precondition,
    split_member_operations,
)

logger = logging.getLogger(__name__)


class GroupWrites(BackendState):
    """The group writes (see the module docstring)."""

    def _replace_group(self, subject: Subject, group_id: str, resource: Resource[Any],
                       if_match: Precondition | None) -> Resource[Any]:
        with self.locks.hold(self._key("group", group_id)):
            current = self._existing_group(subject, group_id, fresh=True)
            check_precondition(self.group_mapping.from_keycloak(current), if_match)
            wanted = {m.value for m in resource.members or [] if m.value}
            member_changes = self._member_changes(subject, group_id, wanted)
            stored = self._write_group(subject, current, resource)
            self._set_members(group_id, member_changes, subject)
        return self._group_resource(subject, stored, ALL_ATTRIBUTES)

    def _delete_group(self, subject: Subject, group_id: str,
                      if_match: Precondition | None) -> None:
        with self.locks.hold(self._key("group", group_id)):
            group = self._existing_group(subject, group_id, fresh=True)
            check_precondition(self.group_mapping.from_keycloak(group), if_match)
            self._forget(group_id)
            with gone_is_done():
                kc_groups.delete(self.gw, self.realm, group_id)

    def _check_display_name_free(self, name: str | None, own_id: str | None) -> None:
        if not name:
            raise errors.InvalidValue("displayName is required")
        if "/" in name:
            raise errors.InvalidValue("displayName may not contain '/'")
        for other in self._find_group_named(name):
            if other["id"] != own_id:
                raise errors.Uniqueness(f"displayName {name!r} is already taken")

    def _name_key(self, name: str | None) -> str:
        return self._key("group-name", (name or "").casefold())

    def _create_group(self, subject: Subject, group: Resource[Any]) -> Resource[Any]:
        wanted = [m.value for m in group.members or [] if m.value]
        for member in wanted:  # validate before any write
            self._require_member(subject, member, check_exists=False)
        # Keycloak's sibling names are unique case-sensitively only: the check and the
        # create of one casefolded name are serialised, so `Team-x` and `team-x` sent at
        # the same moment give one 201 and one 409.
        with self.locks.hold(self._name_key(group.display_name)):
            self._check_display_name_free(group.display_name, None)
            rep = self.group_mapping.to_keycloak(group, tenant=subject.tenant, created=None)
            try:
                group_id, root = self._under_root(
                    lambda root: (kc_groups.create_child(self.gw, self.realm, root, rep), root))
            except (domain.Unavailable, domain.Duplicate) as failure:
                found = self._created_group(rep, failure)
                group_id, root = found["id"], found["parentId"]
        stored = {**rep, "id": group_id, "parentId": root,
                  "path": f"{self.managed_root}/{rep['name']}"}
        self._remember(stored)
        try:
            for member in wanted:
                self._add_member(subject, group_id, member)
        except Exception:
            # No half-written group: a POST that fails leaves nothing behind to retry into.
            kc_groups.delete(self.gw, self.realm, group_id)
            self._forget(group_id)
            raise
        return self._group_resource(subject, stored,
                                    ALL_ATTRIBUTES if wanted else NO_MEMBERS)

    def _created_group(self, rep: dict[str, Any], failure: domain.DirectoryError
                       ) -> dict[str, Any]:
        """The group a create whose outcome is unknown made (see :meth:`_created_user`):
        under the name's lock, a managed group of that name carrying every attribute sent
        (``scim.created`` to the millisecond) is this request's; else ``failure``."""
        try:
            candidates = self._find_group_named(rep["name"])
        except (domain.DirectoryError, errors.ScimError):
            raise failure from None
        for group in candidates:
            if group.get("name") == rep["name"] and made_by(group, rep):
                logger.info("a group create whose response was lost had succeeded: %s",
                            group.get("id"))
                return group
        raise failure

    def _write_group(self, subject: Subject, current: dict[str, Any],
                     group: Resource[Any]) -> dict[str, Any]:
        """Write name and attributes over ``current``, read fresh under the group's lock
        (never from the cache: a cached state written back would revert a change made
        meanwhile, e.g. a rename through another replica)."""
        if (group.display_name or "") != current.get("name"):
            if (group.display_name or "").casefold() == (current.get("name") or "").casefold():
                return self._write_group_state(current, group)
            with self.locks.hold(self._name_key(group.display_name)):
                self._check_display_name_free(group.display_name, current["id"])
                return self._write_group_state(current, group)
        return self._write_group_state(current, group)

    def _write_group_state(self, current: dict[str, Any],
                           group: Resource[Any]) -> dict[str, Any]:
        attributes = current.get("attributes") or {}
        created = (attributes.get(CREATED) or [None])[0]
        rep = self.group_mapping.to_keycloak(
            group, tenant=self.group_mapping.tenant(current), created=created, keep=attributes)
        if same({"name": current.get("name"), "attributes": attributes}, rep):
            return current
        kc_groups.update(self.gw, self.realm, current["id"], rep)
        stored = {**current, **rep}
        self._remember(stored)
        return stored

    def _require_member(self, subject: Subject, user_id: str, *, check_exists: bool) -> None:
        """A tenant-bound client may only name its tenant's users (one read each); nobody
        names a protected account (hidden through the protected set: a managed group grants
        no Keycloak role, so membership is not re-checked per call)."""
        if subject.tenant is None and not check_exists:
            if user_id in self._protected_set().ids:
                raise errors.InvalidValue(f"member {user_id!r} does not exist")
            return
        if self._user_rep(subject, user_id) is None:
            raise errors.InvalidValue(f"member {user_id!r} does not exist")

    def _add_member(self, subject: Subject, group_id: str, user_id: str) -> None:
        try:
            kc_groups.add_member(self.gw, self.realm, group_id, user_id)
        except domain.NotFound:
            self._require_group_exists(group_id)
            raise errors.InvalidValue(
                f"member {user_id!r} does not exist (members are Users)") from None

    def _remove_member(self, group_id: str, user_id: str) -> None:
        try:
            kc_groups.remove_member(self.gw, self.realm, group_id, user_id)
        except domain.NotFound:
            self._require_group_exists(group_id)
            # an absent member is not an error (RFC 7644 §3.5.2.2)

    def _require_group_exists(self, group_id: str) -> None:
        """After Keycloak's 404 on a membership call (the user's or the group's): a
        group gone (deleted through any replica) is a 404 for the group, whatever this
        replica's cache says. One read, on that failure path only."""
        try:
            kc_groups.get(self.gw, self.realm, group_id)
        except domain.NotFound:
            self._forget(group_id)
            raise errors.NotFound(f"Group {group_id!r} not found") from None

    def _member_changes(self, subject: Subject, group_id: str, wanted: set[str]
                        ) -> tuple[set[str], set[str]]:
        """What makes the members exactly ``wanted`` (PUT, or a PATCH replacing members):
        (to add, to remove). Read before any write of the request, and every member to add
        is read once, so that an absent one refuses the request before anything changes."""
        present = {m["value"] for m in self._members(subject, group_id)}
        to_add = wanted - present
        for member in sorted(to_add):
            self._require_member(subject, member, check_exists=True)
        return to_add, present - wanted

    def _set_members(self, group_id: str, changes: tuple[set[str], set[str]],
                     subject: Subject) -> None:
        to_add, to_remove = changes
        for member in sorted(to_add):
            self._add_member(subject, group_id, member)
        for member in sorted(to_remove):
            self._remove_member(group_id, member)

    def _patch_group(self, subject: Subject, group_id: str, patch: PatchOp[Any],
                     if_match: Precondition | None, projection: Projection) -> Resource[Any]:
        changes, rest = split_member_operations(patch)
        if if_match is None and not rest:
            # Member additions and removals only: each is one partial write in Keycloak
            # (PUT/DELETE /users/{uid}/groups/{gid}), nothing is read back and written, so
            # no lock is needed and a recent read of the group will do: it proves the group
            # is managed, and gives the response its displayName and meta, at most
            # ``group_cache_ttl`` seconds old (a group deleted meanwhile is a 404).
            current = self._existing_group(subject, group_id, fresh=False)
            self._validate_added(subject, changes)
            return self._patch_members(subject, current, changes, projection)
        with self.locks.hold(self._key("group", group_id)):
            return self._patch_group_locked(subject, group_id, changes, rest, if_match,
                                            projection)

    def _validate_added(self, subject: Subject, changes: MemberChanges) -> None:
        """Before any write. One added member is one partial write whose 404 says the
        member is absent: the request fails whole, in one call. Several are several writes:
        each member is read first, so that an absent one refuses the request before
        anything is written (no half-applied PATCH), at one read per member of such
        requests only."""
        several = len(changes.add) > 1
        for member in changes.add:
            assert member.value is not None
            self._require_member(subject, member.value, check_exists=several)

    def _patch_members(self, subject: Subject, current: dict[str, Any],
                       changes: MemberChanges, projection: Projection) -> Resource[Any]:
        """The member additions and removals, validated by :meth:`_validate_added`."""
        for member in changes.add:
            assert member.value is not None
            self._add_member(subject, current["id"], member.value)
        for member_id in changes.remove:
            self._remove_member(current["id"], member_id)
        return self._group_resource(subject, current, projection)

    def _patch_group_locked(self, subject: Subject, group_id: str,
                            changes: MemberChanges, rest: list[Any],
                            if_match: Precondition | None,
                            projection: Projection) -> Resource[Any]:
        current = self._existing_group(subject, group_id, fresh=True)
        check_precondition(self.group_mapping.from_keycloak(current), if_match)
        self._validate_added(subject, changes)
        stored = current
        if rest:
            touches_members = any(_touches_members(op) for op in rest)
            working = self._group_resource(
                subject, current, ALL_ATTRIBUTES if touches_members else NO_MEMBERS)
            before = {m.value for m in working.members or []}
            if apply_patch(working, rest):
                after = {m.value for m in working.members or [] if m.value}
                member_changes = self._member_changes(subject, group_id, after) \
                    if touches_members and after != before else None
                stored = self._write_group(subject, current, working)
                if member_changes is not None:
                    self._set_members(group_id, member_changes, subject)
        return self._patch_members(subject, stored, changes, projection)


def _touches_members(operation: Any) -> bool:
    if operation.path is None:
        return isinstance(operation.value, dict) and any(
            key.casefold() == "members" for key in operation.value)
    return bool(operation.path.parts) and operation.path.parts[0].casefold() == "members"
