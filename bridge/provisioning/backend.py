"""The :class:`scim.backend.ScimBackend` over Keycloak: SCIM Users and Groups as Keycloak
users and groups, through the admin gateway only.

This module is the backend's face (the protocol's methods); each job has its module:

* :mod:`bridge.provisioning.users`: user reads and writes (tenant binding, shared users,
  the operator's lock on ``active``, the catalog state through :mod:`bridge.catalog.apply`);
* :mod:`bridge.provisioning.groups`: the managed group tree, its cache and group reads;
* :mod:`bridge.provisioning.group_writes`: group writes and members;
* :mod:`bridge.provisioning.queries`: filters, pages and totals over Keycloak's listings;
* :mod:`bridge.provisioning.protected_accounts`: accounts SCIM never reaches;
* :mod:`bridge.provisioning.scim_errors`: Keycloak failures as SCIM errors, once;
* :mod:`bridge.provisioning.state`: what the parts share.

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
* the protected set (:mod:`bridge.provisioning.protected_accounts`): about 50 calls, at
  most once every ``protected_cache_ttl`` seconds (30), whatever the number of users.
* with a catalog whose tenancy declares invariants (seed 004): a write that takes an
  invariant's holder away (deactivating, deleting, changing the profile of, or removing
  from a tenant one of its active Administrators) costs one ``GET /users/count`` per
  tenant it leaves, under the tenant's lock (:mod:`bridge.tenants.invariants`): a holder's
  deactivation in one dossier is 3 + 1 = 4 (+2, its first pass again, when another write
  of the dossier held the lock). Every other write is unchanged; a create without profile
  into tenants costs one ``GET /users/count`` per tenant (is it the tenant's first user?).

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
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from scim2_models import PatchOp, Resource

from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.locks import LocalLocks, ResourceLocks
from bridge.provisioning.access import AccessAttributes
from bridge.provisioning.access_schema import ACCESS_RESOURCES
from bridge.provisioning.group_writes import GroupWrites
from bridge.provisioning.groups import GROUP_CACHE_SIZE, GROUP_CACHE_TTL, ManagedGroups
from bridge.provisioning.mapping import DomainMapping, GroupMapping, UserMapping
from bridge.provisioning.protected_accounts import ProtectedAccounts
from bridge.provisioning.queries import Queries
from bridge.provisioning.scim_errors import translated
from bridge.provisioning.users import UserStore
from bridge.tenants.invariants import KeycloakTenantCounts, TenantInvariants
from scim.backend import (
    ALL_ATTRIBUTES,
    Precondition,
    Projection,
    Query,
    QueryResult,
    Subject,
)
from scim.resources import Kind

__all__ = ["GROUP_CACHE_SIZE", "GROUP_CACHE_TTL", "KeycloakScimBackend"]


class KeycloakScimBackend(UserStore, GroupWrites, Queries, ManagedGroups, ProtectedAccounts):
    """SCIM storage in one Keycloak realm (see the module docstring)."""

    resources = ACCESS_RESOURCES
    """What it serves (the backend contract): the User with the access extension, Group."""

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
        self.locks = locks if locks is not None else LocalLocks()
        self.invariants = TenantInvariants(
            getattr(domain, "catalog", None), KeycloakTenantCounts(gateway, realm),
            locks=self.locks, scope=realm)
        self._lock = threading.Lock()
        # group id → (read at, representation); least recently read first, at most
        # GROUP_CACHE_SIZE entries, so the cache is bounded whatever the realm's size.
        self._groups: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self.protected_cache_ttl = protected_cache_ttl
        self._protected = None
        self._protected_lock = threading.Lock()
        self._admin_client: str | None = None

    # -- the ScimBackend protocol ------------------------------------------------------

    @translated
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

    @translated
    def query(self, subject: Subject, kind: Kind, query: Query) -> QueryResult:
        if kind is Kind.USER:
            return self._query_users(subject, query)
        return self._query_groups(subject, query)

    @translated
    def create(self, subject: Subject, kind: Kind, resource: Resource[Any]) -> Resource[Any]:
        if kind is Kind.USER:
            return self._create_user(subject, resource)
        return self._create_group(subject, resource)

    @translated
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
            return self._replace_user(subject, resource_id, resource, if_match)
        return self._replace_group(subject, resource_id, resource, if_match)

    @translated
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

    @translated
    def delete(
        self,
        subject: Subject,
        kind: Kind,
        resource_id: str,
        *,
        if_match: Precondition | None = None,
    ) -> None:
        if kind is Kind.USER:
            self._delete_user(subject, resource_id, if_match)
        else:
            self._delete_group(subject, resource_id, if_match)
