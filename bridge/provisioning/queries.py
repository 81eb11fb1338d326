"""SCIM queries (``GET /Users``, ``GET /Groups``, ``.search``) over Keycloak's listings.

* ``userName eq``: one ``GET /users?username=…&exact=true`` = 1 (list results carry
  ``groups`` only when ``attributes`` names it: one call per listed user otherwise);
* what Keycloak answers exactly (:mod:`bridge.provisioning.filters`) is one page and a
  count; anything else is a scan, bounded by ``max_scan`` (``tooMany`` beyond it), whose
  first page answers the bound when it is short (so a pushed-down eq that is not exact,
  such as ``userName eq``, case-insensitive, is one call);
* protected accounts are left out of pages and totals (the page shifted past them).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from scim2_models import Resource

from bridge.keycloak import groups as kc_groups
from bridge.keycloak import users as kc_users
from bridge.provisioning import filters
from bridge.provisioning.state import NO_MEMBERS, BackendState, asks_for
from scim import errors
from scim.backend import (
    ALL_ATTRIBUTES,
    Query,
    QueryResult,
    Subject,
)


class Queries(BackendState):
    """The queries of the backend (see the module docstring)."""

    def _memberships(self, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        """User id → the managed groups (visible to the subject) the user belongs to, read
        from the groups' side: one listing of the managed groups and one page of members per
        500 members of each, so O(groups) admin calls however many users are listed."""
        root = self._root()
        index: dict[str, list[dict[str, Any]]] = {}
        for group in self._pages(lambda first, size: kc_groups.children(
                self.gw, self.realm, root, first=first, max=size)):
            self._remember(group)
            if self._group_visible(subject, group):
                for member in self._group_member_reps(group["id"]):
                    index.setdefault(member["id"], []).append(group)
        return index

    def _too_many(self, query: Query, scanned: str) -> errors.TooMany:
        why = "sorting" if query.sort_by is not None else "this filter"
        return errors.TooMany(
            f"Answering {why} would examine {scanned} users, more than this server examines "
            f"for one request ({self.max_scan}). Filter with eq on "
            f"{', '.join(filters.PUSHED_DOWN)} (the directory answers those directly; "
            "and-ed with other terms, or with active eq, they narrow the users examined), "
            "or leave sortBy out.")

    def _query_users(self, subject: Subject, query: Query) -> QueryResult:
        pushdown = filters.users(query.filter)
        tenant_attribute = self.user_mapping.domain.tenant_attribute
        params = pushdown.keycloak_params(tenant_attribute, subject.tenant)
        with_groups = asks_for(query.projection, "groups") or filters.mentions(
            query.filter, query.sort_by, "groups")
        memberships: dict[str, list[dict[str, Any]]] | None = None

        def resource(rep: dict[str, Any]) -> Resource[Any]:
            nonlocal memberships
            if not with_groups:
                return self.user_mapping.from_keycloak(rep)
            if memberships is None:
                memberships = self._memberships(subject)
            return self.user_mapping.from_keycloak(rep, memberships.get(rep["id"], []))

        if pushdown.by_id is not None:
            rep = self._user_rep(subject, pushdown.by_id)
            groups = self._user_groups(subject, rep["id"]) if rep and with_groups else None
            candidates = [self.user_mapping.from_keycloak(rep, groups)] if rep else []
            matching = [r for r in candidates if query.matches(r)]
            return QueryResult(query.page(query.sort(matching)), len(matching))
        if pushdown.member_of is not None or pushdown.member_of_named is not None:
            # The members of the managed group(s) named, visible to the subject: the whole
            # filter is still tested on each (paged reads of the groups, never a scan).
            if pushdown.member_of is not None:
                group = self._group_rep(subject, pushdown.member_of, fresh=False)
                groups = [] if group is None else [group]
            else:
                groups = [g for g in self._find_group_named(pushdown.member_of_named or "")
                          if self._group_visible(subject, g)]
            unique = {rep["id"]: rep for group in groups
                      for rep in self._group_member_reps(group["id"])}
            reps = [rep for rep in unique.values()
                    if self._user_visible(subject, rep) and not self._hidden(rep)]
            matching = [r for r in map(resource, reps) if query.matches(r)]
            ordered = query.sort(matching)
            return QueryResult(query.page(ordered), len(ordered))
        if pushdown.complete and query.sort_by is None:
            # Keycloak answers exactly: one page and a count, ordered by username.
            # Protected users are left out of both (the page shifted past them).
            total = kc_users.count(self.gw, self.realm, **params) - len(
                self._hidden_listed(subject, params))
            if query.count == 0 or query.start_index > total:
                return QueryResult([], total)
            page = self._visible_page(subject, query.start_index, query.count, params)
            return QueryResult([resource(rep) for rep in page], total)
        matching = []
        scanned = 0
        for rep in self._bounded_scan(query, params):
            scanned += 1
            if self.max_scan is not None and scanned > self.max_scan:
                raise self._too_many(query, f"more than {self.max_scan}")  # grew meanwhile
            if self._hidden(rep):
                continue
            candidate = resource(rep)
            if query.matches(candidate):
                matching.append(candidate)
        ordered = query.sort(matching)
        return QueryResult(query.page(ordered), len(ordered))

    def _bounded_scan(self, query: Query, params: dict[str, str]
                      ) -> Iterator[dict[str, Any]]:
        """The candidates of a scan, refused (``tooMany``) before the scan goes on when
        there are more than ``max_scan`` of them.

        The first page asked for is at most ``max_scan + 1`` long, so it answers the bound
        by itself when it is short (a pushed-down ``userName``/``externalId``/e-mail eq:
        one call, no count). Only a full first page, when more may follow, asks for the
        count before reading further; the loop's own count still catches a listing that
        grew meanwhile."""
        def fetch(first: int, size: int) -> list[dict[str, Any]]:
            return kc_users.search(self.gw, self.realm, first=first, max=size, **params)

        if self.max_scan is None:
            yield from self._pages(fetch)
            return
        size = min(self.page_size, self.max_scan + 1)
        page = fetch(0, size)
        if len(page) > self.max_scan:
            raise self._too_many(query, f"more than {self.max_scan}")
        if len(page) == size:
            candidates = kc_users.count(self.gw, self.realm, **params)
            if candidates > self.max_scan:
                raise self._too_many(query, str(candidates))
        yield from page
        if len(page) < size:
            return
        yield from self._pages(lambda first, size: fetch(first + len(page), size))

    def _visible_page(self, subject: Subject, start_index: int, count: int,
                      params: dict[str, str]) -> list[dict[str, Any]]:
        """One page of Keycloak's listing (ordered by username) without the protected users.
        Usually one call; with
        protected users before the page, the window is shifted by their number (Keycloak
        sorts by username: they are counted by comparing usernames) — a few calls at most."""
        hidden = self._hidden_listed(subject, params)
        if not hidden:
            return kc_users.search(self.gw, self.realm, first=start_index - 1, max=count,
                                   **params)
        hidden_ids = {rep["id"] for rep in hidden}
        names = sorted((rep.get("username") or "").lower() for rep in hidden)
        shift = 0
        for _ in range(len(names) + 2):
            window = kc_users.search(self.gw, self.realm, first=start_index - 1 + shift,
                                     max=count + len(names), **params)
            if not window:
                return []
            first_name = (window[0].get("username") or "").lower()
            before = sum(1 for name in names if name < first_name)
            if before == shift:
                return [rep for rep in window if rep["id"] not in hidden_ids
                        and not self._hidden(rep)][:count]
            shift = before
        raise errors.BackendUnavailable("The directory's listing kept moving; retry",
                                        retry_after=self.retry_after)

    def _query_groups(self, subject: Subject, query: Query) -> QueryResult:
        name = filters.group_display_name(query.filter)
        needs_members = filters.mentions(query.filter, query.sort_by, "members")
        matching: list[tuple[Resource[Any], dict[str, Any]]] = []
        # The first page is read through _under_root (a re-created root is found again);
        # later pages use the id that first page was read with.
        first_page = self._under_root(lambda root: (root, kc_groups.children(
            self.gw, self.realm, root, first=0, max=self.page_size, search=name)))
        root, page = first_page

        def pages(first: int, size: int) -> list[dict[str, Any]]:
            if first == 0:
                return page
            return kc_groups.children(self.gw, self.realm, root, first=first, max=size,
                                      search=name)

        for group in self._pages(pages):
            self._remember(group)
            if not self._group_visible(subject, group):
                continue
            candidate = self._group_resource(
                subject, group, ALL_ATTRIBUTES if needs_members else NO_MEMBERS)
            if query.matches(candidate):
                matching.append((candidate, group))
        by_id = {id(resource): group for resource, group in matching}
        ordered = query.sort([resource for resource, _ in matching])
        page = query.page(ordered)
        if query.projection.includes("members") and not needs_members:
            page = [self._group_resource(subject, by_id[id(r)], ALL_ATTRIBUTES) for r in page]
        return QueryResult(page, len(ordered))
