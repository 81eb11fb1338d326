"""The :class:`scim.backend.ScimBackend` over Keycloak: SCIM Users and Groups as Keycloak
users and groups, through the admin gateway only.

Budgets (admin calls per SCIM operation, counted by ``gateway.calls``):

* create user: ``POST /users`` with every attribute (one write: a retry cannot find a
  half-written user) = 1; the response is built from what was written;
* get user: ``GET /users/{id}`` + ``GET /users/{id}/groups`` = 2;
* ``userName eq``: one ``GET /users?username=…&exact=true`` = 1 (list results carry
  ``groups`` only when ``attributes`` names it: one call per listed user otherwise);
* add one member to a group: ``PUT /users/{uid}/groups/{gid}`` = 1 — the group's place in
  the managed tree comes from a short-lived cache of managed groups (``group_cache_ttl``,
  a cold cache costs one ``GET /groups/{gid}``), members are never listed for it;
* deactivate (PATCH ``active`` false): ``GET`` + the fresh admin-role check + ``PUT
  /users/{id}`` = 3 — Keycloak refuses every use of a disabled user's sessions, so no
  logout call is needed; the GET gives the state ``If-Match`` and the 200 response need;
  every PUT, PATCH and DELETE of a user makes the same check;
* the protected set (below): about 50 calls, at most once every ``protected_cache_ttl``
  seconds (30), whatever the number of users.

Protected accounts are out of SCIM's reach (issue 9): service accounts (username prefix
``service-account-``, which SCIM may not create either) and users holding a
``realm-management`` role or an admin realm role, however held (see
:mod:`bridge.keycloak.protected`). They answer 404 by id and are absent from every filter,
list, total, sort, group member list and Bulk operation. Reads hide them through the
protected set, read from the role side and cached ``protected_cache_ttl`` seconds (so a user
made administrator disappears from reads within that bound); that cache only ever hides:
every write to a user re-checks it freshly (``GET /users/{id}/role-mappings/clients/
{realm-management}/composite``, 1 call) and answers 404 for a protected one. Adding a
member to a managed group is refused for ids in the protected set (a managed group grants
no Keycloak role, so that path is not re-checked per call).

Several replicas (issue 10). No state a write depends on lives in a replica:

* Every write of a user or group reads it fresh and writes it under the resource's lock
  (:mod:`bridge.locks`: in-process, or PostgreSQL advisory locks shared by the replicas),
  so an ``If-Match`` admits exactly one of concurrent writers of a version, and PATCHes
  without it each apply to the state the previous one wrote. Group creates and renames
  also hold the casefolded name's lock: Keycloak's sibling names are unique only
  case-sensitively. Locks cost no admin call.
* The group cache feeds no write. It only lets a member-only PATCH (one partial write
  per member) answer without a read: that reply's ``displayName`` and ``meta`` are at
  most ``group_cache_ttl`` seconds old. A group deleted through any replica is a 404:
  Keycloak's 404 on a membership call is checked against the group (one read, on that
  path only).
* The managed root's id, and the catalog groups' ids, are resolved again when found
  stale (a 404, or a managed group under an unknown parent id).
* A create whose response was lost is resolved by one lookup (the user or group carrying
  every attribute sent, ``scim.created`` included): 201 for it, 409 only for a real
  duplicate. The gateway never retries a POST by itself.

Groups live as direct children of the managed root (``/bridge/scim``). Any other group id
is answered as not found and logged with the client id: a SCIM client can never put a user
in a group outside that tree (e.g. one mapping realm-admin).

``active`` belongs to an operator once an operator used it: leaving ``active`` out (a PUT
without it, a PATCH removing it) never changes whether a user is enabled; a user disabled
outside SCIM (no ``scim.disabledBySCIM`` mark: the admin console, the bridge's API or CLI,
a brute-force lockout) stays disabled until an operator enables it, and a SCIM
``active: true`` is refused with 403 ``scim.operator-lock`` and a ``bridge.audit`` line.

Keycloak errors are translated at this edge: unreachable or 5xx → 503 with
``Retry-After``, 409 → ``uniqueness``, 400 (a value Keycloak's user profile refuses) →
``invalidValue``, each in the bridge's words (Keycloak's text is logged, never returned).
Values Keycloak would refuse or fail on (a 256-character group name is a Keycloak 500) are
found before the write by :mod:`bridge.keycloak.limits` → ``invalidValue``, never a 503.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from scim2_models import Context, PatchOp, Resource

from bridge.audit import with_rule
from bridge.catalog.apply import StatePlan, apply_user_state, plan_user_state
from bridge.keycloak import errors as kc
from bridge.keycloak import groups as kc_groups
from bridge.keycloak import protected as kc_protected
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.locks import (
    LocalLocks,
    LockTimeout,
    LockUnavailable,
    ResourceLocks,
    resource_key,
)
from bridge.provisioning import filters
from bridge.provisioning.access import AccessAttributes
from bridge.provisioning.catalog_access import CatalogAccess
from bridge.provisioning.mapping import (
    CREATED,
    LAST_MODIFIED,
    SCIM_DISABLED,
    DomainMapping,
    GroupMapping,
    UserMapping,
    same_content,
    scim_name,
)
from bridge.provisioning.tenancy import AccessTenancy
from scim import errors
from scim.backend import (
    ALL_ATTRIBUTES,
    MemberChanges,
    Precondition,
    Projection,
    Query,
    QueryResult,
    Subject,
    apply_patch,
    check_precondition,
    split_member_operations,
)
from scim.resources import AccessExtension, Kind

_EXTENSION_KEYS = {"user_type": "userType"}
"""Python field names of the access extension whose SCIM name differs."""

logger = logging.getLogger(__name__)
_TENANCY = AccessTenancy()

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

GROUP_CACHE_TTL = 10.0
"""Seconds a replica trusts its last read of a managed group for a member-only PATCH
(``BRIDGE_GROUP_CACHE_TTL``): the bound on how stale that response's displayName and
meta can be. The cache never feeds a write, and every other read or write reads fresh."""

GROUP_CACHE_SIZE = 4096
"""Groups a replica's cache holds at most (least recently read evicted first)."""


def _translated(method: F) -> F:
    """Keycloak failures → SCIM errors, at the edge of every backend method."""

    @functools.wraps(method)
    def wrapper(self: KeycloakScimBackend, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except LockTimeout as exc:
            logger.info("write refused: %s", exc)
            raise errors.BackendUnavailable(
                "Another write to this resource is in progress, retry", retry_after=1
            ) from None
        except LockUnavailable as exc:
            logger.warning("lock service unavailable: %s", exc)
            raise errors.BackendUnavailable(
                "The lock service is unreachable, retry later", retry_after=self.retry_after
            ) from None
        except kc.Unavailable as exc:
            logger.warning("Keycloak unavailable: %s", exc)
            raise errors.BackendUnavailable(
                "The directory is unreachable, retry later", retry_after=self.retry_after
            ) from None
        except kc.Refused as exc:
            # Found before any write: the value would be refused, or make Keycloak fail.
            raise errors.InvalidValue(f"{scim_name(exc.field)} {exc.reason}") from None
        except kc.Conflict as exc:
            logger.info("Keycloak refused a duplicate: %s", exc.detail)
            raise errors.Uniqueness(kc.describe_duplicate(exc)) from None
        except kc.NotFound:
            raise errors.NotFound("Resource not found") from None
        except kc.GatewayError as exc:
            if exc.status == 400:
                # Keycloak's own text stays in the log; the client reads the bridge's words.
                logger.info("Keycloak refused a value: %s", exc.detail)
                raise errors.InvalidValue(kc.describe_refusal(exc)) from None
            if exc.status == 413:
                raise errors.PayloadTooLarge(
                    "The resource is larger than the directory stores") from None
            logger.warning("Keycloak admin call failed: %s", exc)
            raise errors.BackendUnavailable(
                "The directory failed, retry later", retry_after=self.retry_after
            ) from None

    return wrapper  # type: ignore[return-value]


class KeycloakScimBackend:
    """SCIM storage in one Keycloak realm (see the module docstring)."""

    def __init__(
        self,
        gateway: AdminGateway,
        realm: str,
        *,
        managed_root: str = "/bridge/scim",
        domain: DomainMapping | None = None,
        retry_after: int = 30,
        group_cache_ttl: float = GROUP_CACHE_TTL,
        page_size: int = kc_users.PAGE,
        max_scan: int | None = None,
        locks: ResourceLocks | None = None,
        protected_cache_ttl: float = 30.0,
    ) -> None:
        self.gw = gateway
        self.realm = realm
        self.managed_root = "/" + managed_root.strip("/")
        self.user_mapping = UserMapping(domain or AccessAttributes())
        self._domain_group_ids: dict[str, str] = {}  # path → id; catalog groups are stable
        self.group_mapping = GroupMapping()
        self.retry_after = retry_after
        self.group_cache_ttl = group_cache_ttl
        self.page_size = page_size
        self.max_scan = max_scan
        self._root_id: str | None = None
        self.locks = locks or LocalLocks()
        self._lock = threading.Lock()
        # group id → (read at, representation); least recently read first, at most
        # GROUP_CACHE_SIZE entries, so the cache is bounded whatever the realm's size.
        self._groups: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self.protected_cache_ttl = protected_cache_ttl
        self._protected: tuple[float, kc_protected.ProtectedSet] | None = None
        self._protected_lock = threading.Lock()
        self._admin_client: str | None = None

    # -- the ScimBackend protocol ------------------------------------------------------

    @_translated
    def get(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        projection: Projection = ALL_ATTRIBUTES,
    ) -> Resource[Any] | None:
        if kind is Kind.USER:
            rep = self._user_rep(subject, resource_id)
            if rep is None:
                return None
            groups = self._user_groups(subject, resource_id) if projection.includes(
                "groups") else None
            return self.user_mapping.from_keycloak(rep, groups)
        group = self._group_rep(subject, resource_id, fresh=True)
        if group is None:
            return None
        return self._group_resource(subject, group, projection)

    @_translated
    def query(self, subject: Subject, kind: Kind, query: Query) -> QueryResult:
        if kind is Kind.USER:
            return self._query_users(subject, query)
        return self._query_groups(subject, query)

    @_translated
    def create(self, subject: Subject, kind: Kind, resource: Resource[Any]) -> Resource[Any]:
        if kind is Kind.USER:
            _check_not_reserved(resource.user_name)
            user = resource
            if subject.tenant is not None:
                # Binding the tenant edits the user: edit a copy, never the caller's object.
                # Without a tenant nothing writes to it (to_keycloak only reads), so the
                # deep copy (~50 us per create) is skipped.
                user = resource.model_copy(deep=True)
                self._bind_tenant(subject, user)
            self._authorize_user_write(subject, user, None)
            rep = self.user_mapping.to_keycloak(user)
            rep["attributes"][CREATED] = list(rep["attributes"][LAST_MODIFIED])
            if not rep["enabled"]:
                rep["attributes"][SCIM_DISABLED] = ["true"]
            try:
                user_id = kc_users.create(self.gw, self.realm, rep)
            except (kc.Unavailable, kc.Conflict) as failure:
                found = self._created_user(rep, failure)
                return self.user_mapping.from_keycloak(found)
            # One write and no read back: the response is what Keycloak now stores, in the
            # canonical form the ETag hashes (ids and lowercasing are all Keycloak adds).
            stored = {**rep, "id": user_id, "username": rep["username"].lower(),
                      "email": (rep.get("email") or "").lower() or None}
            return self.user_mapping.from_keycloak(stored)
        return self._create_group(subject, resource)

    @_translated
    def replace(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        resource: Resource[Any],
        *,
        if_match: Precondition | None = None,
    ) -> Resource[Any]:
        if kind is Kind.USER:
            with self.locks.hold(self._key("user", resource_id)):
                current = self._writable_user(subject, resource_id)
                check_precondition(self.user_mapping.from_keycloak(current), if_match)
                user = resource.model_copy(deep=True)
                self._bind_tenant(subject, user)
                self._authorize_user_write(subject, user, current)
                stored = self._write_user(subject, current, user)
            return self.user_mapping.from_keycloak(
                stored, self._user_groups(subject, resource_id))
        with self.locks.hold(self._key("group", resource_id)):
            current_group = self._existing_group(subject, resource_id, fresh=True)
            check_precondition(self.group_mapping.from_keycloak(current_group), if_match)
            wanted = {m.value for m in resource.members or [] if m.value}
            member_changes = self._member_changes(subject, resource_id, wanted)
            stored_group = self._write_group(subject, current_group, resource)
            self._set_members(resource_id, member_changes, subject)
        return self._group_resource(subject, stored_group, ALL_ATTRIBUTES)

    @_translated
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
        if kind is Kind.USER:
            return self._patch_user(subject, resource_id, patch, if_match, projection)
        return self._patch_group(subject, resource_id, patch, if_match, projection)

    @_translated
    def delete(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        if_match: Precondition | None = None,
    ) -> None:
        if kind is Kind.USER:
            with self.locks.hold(self._key("user", resource_id)):
                current = self._writable_user(subject, resource_id)
                check_precondition(self.user_mapping.from_keycloak(current), if_match)
                self._authorize_user_write(subject, None, current)
                with _gone_is_done():  # a retried DELETE meets the first one's result
                    kc_users.delete(self.gw, self.realm, resource_id)
            return
        with self.locks.hold(self._key("group", resource_id)):
            group = self._existing_group(subject, resource_id, fresh=True)
            check_precondition(self.group_mapping.from_keycloak(group), if_match)
            self._forget(resource_id)
            with _gone_is_done():
                kc_groups.delete(self.gw, self.realm, resource_id)

    def _key(self, kind: str, value: str) -> str:
        """A lock key: one per resource id, or per casefolded name (uniqueness)."""
        return resource_key(self.realm, kind, value)

    # -- users -------------------------------------------------------------------------

    def _user_rep(self, subject: Subject, user_id: str, *, for_write: bool = False
                  ) -> dict[str, Any] | None:
        """The user, if the subject may see it: never a protected account (404 alike).
        A read hides through the protected set (cached); a write re-checks freshly."""
        try:
            rep = kc_users.get(self.gw, self.realm, user_id)
        except kc.NotFound:
            return None
        if not self._user_visible(subject, rep):
            return None
        if for_write:
            if kc_protected.is_service_account_name(rep.get("username")) or \
                    kc_protected.is_admin(self.gw, self.realm, user_id, self._admin_client_id(),
                                          self._admin_realm_roles()):
                self._refused_protected(subject, user_id)
                return None
        elif self._hidden(rep):
            return None
        return rep

    def _existing_user(self, subject: Subject, user_id: str, *, for_write: bool = False
                       ) -> dict[str, Any]:
        rep = self._user_rep(subject, user_id, for_write=for_write)
        if rep is None:
            raise errors.NotFound(f"User {user_id!r} not found")
        return rep

    # -- protected accounts: out of SCIM's reach (see bridge.keycloak.protected) ---------

    def _admin_client_id(self) -> str:
        if self._admin_client is None:  # the id of realm-management never changes
            self._admin_client = kc_protected.admin_client_id(self.gw, self.realm)
        return self._admin_client

    def _admin_realm_roles(self) -> tuple[str, ...]:
        """The admin realm roles this realm defines, as last read with the protected set
        (roles are configuration; a realm without one costs a write no second check)."""
        cached = self._protected
        return cached[1].admin_realm_roles if cached is not None else ()

    def _protected_set(self) -> kc_protected.ProtectedSet:
        """The protected users, read from the role side at most every
        ``protected_cache_ttl`` seconds (one refresh at a time). It only ever HIDES: a user
        made administrator is hidden from reads within that bound, and every write re-checks
        the user freshly (:meth:`_user_rep` with ``for_write``)."""
        with self._protected_lock:
            cached = self._protected
            if cached is None or time.monotonic() - cached[0] > self.protected_cache_ttl:
                found = kc_protected.holders(self.gw, self.realm, self._admin_client_id())
                cached = self._protected = (time.monotonic(), found)
            return cached[1]

    def _hidden(self, rep: dict[str, Any]) -> bool:
        return kc_protected.is_service_account_name(rep.get("username")) or \
            rep.get("id") in self._protected_set().ids

    def _refused_protected(self, subject: Subject, user_id: str) -> None:
        logger.warning("SCIM client %r refused a write to protected account %r (a service "
                       "account or an administrator); answered 404", subject.client_id, user_id)

    def _hidden_listed(self, subject: Subject, params: dict[str, str]) -> list[dict[str, Any]]:
        """The protected users that Keycloak's listing with ``params`` (``enabled``, the
        tenant ``q``) would show and count (Keycloak shows service accounts only to a
        filtered listing; see :mod:`bridge.keycloak.protected`)."""
        enabled = params.get("enabled")
        protected = self._protected_set()
        candidates = list(protected.listed.values())
        if set(params) - {"exact"}:  # a filtered listing shows service accounts too
            candidates += protected.service_accounts.values()
        return [rep for rep in candidates
                if self._user_visible(subject, rep)
                and (enabled is None or str(bool(rep.get("enabled", True))).lower() == enabled)]

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

    def _writable_user(self, subject: Subject, user_id: str) -> dict[str, Any]:
        """The user a write (PUT, PATCH, DELETE) may change, or a SCIM error.

        A tenant-bound client never changes, deactivates or deletes a user another tenant
        still holds: 403, the account stays as it is (issue 9: a DELETE by the client of
        one dossier removed a user of two). Only an unbound client or an operator does."""
        current = self._existing_user(subject, user_id, for_write=True)
        if subject.tenant is not None:
            others = sorted(set(self.user_mapping.tenants(current)) - {subject.tenant})
            if others:
                raise errors.Forbidden(
                    f"scim-client.shared-user: user {user_id!r} also belongs to "
                    f"{', '.join(repr(t) for t in others)}; a client bound to "
                    f"{subject.tenant!r} may not change, deactivate or delete it")
        return current

    def _authorize_user_write(self, subject: Subject, user: Resource[Any] | None,
                              current: dict[str, Any] | None) -> None:
        """The catalog's SCIM client rules (403 naming the rule), when the domain has any."""
        authorize = getattr(self.user_mapping.domain, "authorize", None)
        if authorize is None:
            return
        access = user[AccessExtension] if user is not None else None
        extension = access.model_dump(scim_ctx=Context.DEFAULT, mode="json",
                                      exclude_none=True) if access is not None else None
        authorize(subject.client_id, subject.tenant, extension,
                  (current or {}).get("attributes") if current is not None else None)

    def _user_visible(self, subject: Subject, rep: dict[str, Any]) -> bool:
        return subject.tenant is None or subject.tenant in self.user_mapping.tenants(rep)

    def _bind_tenant(self, subject: Subject, user: Resource[Any]) -> None:
        """A tenant-bound client's users belong to its tenant, and to no other it names
        (the one tenancy rule, :class:`bridge.provisioning.tenancy.AccessTenancy`)."""
        if subject.tenant is not None:
            _TENANCY.bind(subject.tenant, user)

    def _write_user(self, subject: Subject, current: dict[str, Any], user: Resource[Any]
                    ) -> dict[str, Any]:
        """PUT the new state (one write) unless nothing changes; returns the stored state.

        With a catalog, the user's catalog state is planned and written by
        :mod:`bridge.catalog.apply` (as the API and the reconcile do): facts the request
        does not name are kept, groups under ``/bridge/catalog`` follow, and a change that
        raises MFA or removes rights ends the user's sessions (one more call, only then).
        """
        stored_attributes = current.get("attributes") or {}
        rep = self.user_mapping.to_keycloak(user, keep=stored_attributes)
        self._keep_operator_lock(subject, current, user.active, rep)
        rep.pop("groups", None)
        rep.pop("requiredActions", None)
        domain = self.user_mapping.domain
        plan: StatePlan | None = None
        if isinstance(domain, CatalogAccess):
            access = user[AccessExtension]
            named = None if access is None else {
                _EXTENSION_KEYS.get(f, f) for f in access.model_fields_set}
            extension = None if access is None else access.model_dump(mode="json",
                                                                        by_alias=True)
            state = domain.change(extension, named, stored_attributes)
            plan = plan_user_state(domain.catalog, stored_attributes,
                                   current.get("requiredActions") or (), state,
                                   attributes=rep["attributes"])
            rep["attributes"] = plan.attribute_lists()
            actions = set(current.get("requiredActions") or ())
            if not set(plan.required_actions) <= actions:
                # Added, never dropped: a pending UPDATE_PASSWORD of an invitation stays.
                rep["requiredActions"] = list(plan.required_actions)
        if _same(current, rep):
            return current
        renamed = (rep["username"] or "").lower() != (current.get("username") or "").lower()
        if renamed:
            _check_not_reserved(rep["username"])
            self._check_user_name_free(rep["username"], current["id"])
        # Keycloak stores usernames lowercased: a change of case only is a change of
        # scim.userName, and sending the username would trip editUsernameAllowed=false.
        body = rep if renamed else {**rep, "username": current.get("username")}
        writer = _ScimWriter(self, body, renamed)
        if plan is not None:
            apply_user_state(writer, current["id"], plan)
        else:
            writer.write_user(current["id"], body["attributes"],
                              body.get("requiredActions") or [])
        # active=false needs no logout call: Keycloak refuses every use of a disabled
        # user's sessions (refresh: invalid_grant "User disabled", userinfo 403,
        # introspection inactive), which the integration test checks.
        stored = {**current, **rep}
        stored["username"] = rep["username"].lower()
        stored["email"] = (rep.get("email") or "").lower() or None
        return stored

    def _keep_operator_lock(self, subject: Subject, current: dict[str, Any],
                            active: bool | None, rep: dict[str, Any]) -> None:
        """Whether the user is enabled, as SCIM may change it (issue 9):

        - ``active`` left out (a PUT without it, a PATCH removing it) never changes it;
        - a user disabled outside SCIM (no :data:`SCIM_DISABLED` mark) stays disabled until
          an operator re-enables it: a SCIM ``active: true`` is refused (403) and audited;
        - a user a SCIM client disabled, SCIM may enable again."""
        enabled = bool(current.get("enabled", True))
        attributes = rep["attributes"]
        by_scim = bool((current.get("attributes") or {}).get(SCIM_DISABLED))
        if active is None:
            rep["enabled"] = enabled
        elif active and not enabled and not by_scim:
            detail = (f"scim.operator-lock: user {current['id']!r} was disabled by an operator "
                      "outside SCIM; only an operator can enable it again")
            # Its audit event (the SCIM write refused) names the rule.
            raise with_rule(errors.Forbidden(detail), "scim.operator-lock")
        if rep["enabled"] or not (enabled or by_scim):
            # Enabled, or already disabled by an operator (whose lock it stays).
            attributes.pop(SCIM_DISABLED, None)
        else:
            attributes[SCIM_DISABLED] = ["true"]

    def _created_user(self, rep: dict[str, Any], failure: kc.GatewayError) -> dict[str, Any]:
        """After a create whose outcome is unknown (the response was lost: 503/timeout, or a
        409 met after a retry somewhere on the way), the user this very request created;
        else ``failure`` is raised. One lookup by username; the user is ours when it
        carries every attribute sent, ``scim.created`` (to the millisecond) included, so a
        real duplicate is never mistaken for ours. Costs a call only on that failure path;
        when the lookup fails too, the original failure stands."""
        sent = rep.get("attributes") or {}
        try:
            candidates = kc_users.search(self.gw, self.realm, username=rep["username"],
                                         exact="true", max=2)
        except kc.GatewayError:
            raise failure from None
        for other in candidates:
            stored = other.get("attributes") or {}
            if all(stored.get(key) == value for key, value in sent.items()):
                logger.info("a create whose response was lost had succeeded: user %s",
                            other.get("id"))
                return other
        raise failure

    def _check_user_name_free(self, user_name: str, own_id: str) -> None:
        for other in kc_users.search(self.gw, self.realm, username=user_name, exact="true",
                                     max=2):
            if other["id"] != own_id:
                raise errors.Uniqueness(f"userName {user_name!r} is already taken")

    def _patch_user(self, subject: Subject, user_id: str, patch: PatchOp[Any],
                    if_match: Precondition | None, projection: Projection) -> Resource[Any]:
        # Read, check, apply and write under the user's lock: with If-Match one writer of a
        # version wins and the others see the new version (412); without it, concurrent
        # PATCHes of different attributes each apply to the state the previous one wrote.
        with self.locks.hold(self._key("user", user_id)):
            current = self._writable_user(subject, user_id)
            resource = self.user_mapping.from_keycloak(current)
            check_precondition(resource, if_match)
            working = resource.model_copy(deep=True)
            stored = current
            if apply_patch(working, patch):
                working.groups = None
                self._bind_tenant(subject, working)
                self._authorize_user_write(subject, working, current)
                stored = self._write_user(subject, current, working)
        groups = self._user_groups(subject, user_id) if _asks_for(projection, "groups") \
            else None
        return self.user_mapping.from_keycloak(stored, groups)

    def _user_groups(self, subject: Subject, user_id: str) -> list[dict[str, Any]]:
        """The managed groups (of the subject's tenant) the user belongs to."""
        found: list[dict[str, Any]] = []
        for group in self._pages(lambda first, size: kc_users.groups(
                self.gw, self.realm, user_id, first=first, max=size)):
            if self._managed(group) and self._group_visible(subject, group):
                self._remember(group)
                found.append(group)
        return found

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

    def _group_member_reps(self, group_id: str) -> Iterator[dict[str, Any]]:
        return self._pages(lambda first, size: kc_groups.members(
            self.gw, self.realm, group_id, first=first, max=size))

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
        with_groups = _asks_for(query.projection, "groups") or filters.mentions(
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
        if self.max_scan is not None:
            # One count first: a scan that would go over the bound is refused before it starts.
            candidates = kc_users.count(self.gw, self.realm, **params)
            if candidates > self.max_scan:
                raise self._too_many(query, str(candidates))
        matching = []
        scanned = 0
        for rep in self._pages(lambda first, size: kc_users.search(
                self.gw, self.realm, first=first, max=size, **params)):
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

    # -- groups ------------------------------------------------------------------------

    def _root(self) -> str:
        """The managed root's id, resolved on first use and again whenever it is found
        stale (:meth:`_refresh_root`): a root re-created by ``bridge realm apply`` is
        picked up by every running replica, without a restart."""
        if self._root_id is None:
            try:
                root = kc_groups.get_by_path(self.gw, self.realm, self.managed_root)
            except kc.NotFound:
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
        except kc.NotFound:
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
            except kc.NotFound:
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
            except (kc.Unavailable, kc.Conflict) as failure:
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
                                    ALL_ATTRIBUTES if wanted else _NO_MEMBERS)

    def _created_group(self, rep: dict[str, Any], failure: kc.GatewayError) -> dict[str, Any]:
        """The group a create whose outcome is unknown made (see :meth:`_created_user`):
        under the name's lock, a managed group of that name carrying every attribute sent
        (``scim.created`` to the millisecond) is this request's; else ``failure``."""
        sent = rep.get("attributes") or {}
        try:
            candidates = self._find_group_named(rep["name"])
        except (kc.GatewayError, errors.ScimError):
            raise failure from None
        for group in candidates:
            stored = group.get("attributes") or {}
            if group.get("name") == rep["name"] and all(
                    stored.get(key) == value for key, value in sent.items()):
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
        if _same({"name": current.get("name"), "attributes": attributes}, rep):
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
        except kc.NotFound:
            self._require_group_exists(group_id)
            raise errors.InvalidValue(
                f"member {user_id!r} does not exist (members are Users)") from None

    def _remove_member(self, group_id: str, user_id: str) -> None:
        try:
            kc_groups.remove_member(self.gw, self.realm, group_id, user_id)
        except kc.NotFound:
            self._require_group_exists(group_id)
            # an absent member is not an error (RFC 7644 §3.5.2.2)

    def _require_group_exists(self, group_id: str) -> None:
        """After Keycloak's 404 on a membership call (the user's or the group's): a
        group gone (deleted through any replica) is a 404 for the group, whatever this
        replica's cache says. One read, on that failure path only."""
        try:
            kc_groups.get(self.gw, self.realm, group_id)
        except kc.NotFound:
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
                subject, current, ALL_ATTRIBUTES if touches_members else _NO_MEMBERS)
            before = {m.value for m in working.members or []}
            if apply_patch(working, rest):
                after = {m.value for m in working.members or [] if m.value}
                member_changes = self._member_changes(subject, group_id, after) \
                    if touches_members and after != before else None
                stored = self._write_group(subject, current, working)
                if member_changes is not None:
                    self._set_members(group_id, member_changes, subject)
        return self._patch_members(subject, stored, changes, projection)

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
                subject, group, ALL_ATTRIBUTES if needs_members else _NO_MEMBERS)
            if query.matches(candidate):
                matching.append((candidate, group))
        by_id = {id(resource): group for resource, group in matching}
        ordered = query.sort([resource for resource, _ in matching])
        page = query.page(ordered)
        if query.projection.includes("members") and not needs_members:
            page = [self._group_resource(subject, by_id[id(r)], ALL_ATTRIBUTES) for r in page]
        return QueryResult(page, len(ordered))

    # -- helpers -----------------------------------------------------------------------

    def _pages(self, fetch: Callable[[int, int], list[dict[str, Any]]]
               ) -> Iterator[dict[str, Any]]:
        """Every item of a Keycloak listing, page by page (``first``/``max``)."""
        first = 0
        while True:
            page = fetch(first, self.page_size)
            yield from page
            if len(page) < self.page_size:
                return
            first += len(page)


_NO_MEMBERS = Projection(excluded_attributes=("members",))


class _ScimWriter:
    """:class:`bridge.catalog.apply.AccountWriter` for a SCIM write: the account's update
    is the whole SCIM body (names, e-mail, enabled, attributes) in one PUT."""

    def __init__(self, backend: KeycloakScimBackend, body: dict[str, Any],
                 renamed: bool) -> None:
        self.backend = backend
        self.body = body
        self.renamed = renamed

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        body = {**self.body, "attributes": attributes}
        if "requiredActions" in self.body:  # else Keycloak keeps the stored ones
            body["requiredActions"] = required_actions
        try:
            kc_users.update(self.backend.gw, self.backend.realm, user_id, body)
        except kc.GatewayError as exc:
            if self.renamed and exc.status == 400 and "read-only" in exc.detail:
                raise errors.Mutability(
                    "userName cannot change in this realm (Keycloak's editUsernameAllowed "
                    "is off)") from None
            raise

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        kc_users.set_groups_under(self.backend.gw, self.backend.realm, user_id, root, wanted,
                                  self.backend._domain_group_ids)

    def logout(self, user_id: str) -> None:
        kc_users.logout(self.backend.gw, self.backend.realm, user_id)


def _check_not_reserved(user_name: str | None) -> None:
    if kc_protected.is_service_account_name(user_name):
        raise errors.InvalidValue(
            f"userName may not start with {kc_protected.SERVICE_ACCOUNT_PREFIX!r}: Keycloak "
            "names its service accounts so, and SCIM never reaches them")


@contextlib.contextmanager
def _gone_is_done() -> Iterator[None]:
    """A DELETE of a resource just read (under its lock) that answers 404 was done: the
    gateway retried it after a lost response (DELETE is idempotent), or it raced a
    delete that did not take the lock (an administrator's)."""
    try:
        yield
    except kc.NotFound:
        pass

def _same(current: dict[str, Any], rep: dict[str, Any]) -> bool:
    merged = {**current, **rep}
    return same_content(current, merged)


def _asks_for(projection: Projection, attribute: str) -> bool:
    """Whether the client named ``attribute`` in ``attributes`` (not merely left it in)."""
    return bool(projection.attributes) and projection.includes(attribute)


def _touches_members(operation: Any) -> bool:
    if operation.path is None:
        return isinstance(operation.value, dict) and any(
            key.casefold() == "members" for key in operation.value)
    return bool(operation.path.parts) and operation.path.parts[0].casefold() == "members"
