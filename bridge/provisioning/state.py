"""What every part of :class:`bridge.provisioning.backend.KeycloakScimBackend` shares: the
realm it serves, its settings and caches (set by the backend's ``__init__``), paging, lock
keys, and the small rules several parts apply."""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from bridge import errors as domain
from bridge.keycloak import protected as kc_protected
from bridge.keycloak.client import AdminGateway
from bridge.locks import ResourceLocks, resource_key
from bridge.provisioning.mapping import GroupMapping, UserMapping, same_content
from bridge.tenants.invariants import TenantInvariants
from scim.backend import Projection


class BackendState:
    """The attributes the backend's parts read (all set in the backend's ``__init__``)."""

    gw: AdminGateway
    realm: str
    managed_root: str
    user_mapping: UserMapping
    group_mapping: GroupMapping
    retry_after: int
    group_cache_ttl: float
    page_size: int
    max_scan: int | None
    locks: ResourceLocks
    invariants: TenantInvariants
    """The tenants' invariants and defaults (a catalog's); every user write runs through
    its ``user_write`` (the user's lock, and the tenants' when a holder goes)."""
    protected_cache_ttl: float
    _domain_group_ids: dict[str, str]
    _root_id: str | None
    _lock: threading.Lock
    _groups: OrderedDict[str, tuple[float, dict[str, Any]]]
    _protected: tuple[float, kc_protected.ProtectedSet] | None
    _protected_lock: threading.Lock
    _admin_client: str | None

    def _key(self, kind: str, value: str) -> str:
        """A lock key: one per resource id, or per casefolded name (uniqueness)."""
        return resource_key(self.realm, kind, value)

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


NO_MEMBERS = Projection(excluded_attributes=("members",))


@contextlib.contextmanager
def gone_is_done() -> Iterator[None]:
    """A DELETE of a resource just read (under its lock) that answers 404 was done: the
    gateway retried it after a lost response (DELETE is idempotent), or it raced a
    delete that did not take the lock (an administrator's)."""
    try:
        yield
    except domain.NotFound:
        pass


def same(current: dict[str, Any], rep: dict[str, Any]) -> bool:
    """Whether writing ``rep`` over ``current`` would change nothing (no write then)."""
    merged = {**current, **rep}
    return same_content(current, merged)


def asks_for(projection: Projection, attribute: str) -> bool:
    """Whether the client named ``attribute`` in ``attributes`` (not merely left it in)."""
    return bool(projection.attributes) and projection.includes(attribute)


def made_by(found: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Whether ``found`` (a user or group read after a create whose response was lost) is
    the one the create of ``sent`` made: it carries every attribute sent, ``scim.created``
    (to the millisecond) included, so a real duplicate is never mistaken for it."""
    stored = found.get("attributes") or {}
    return all(stored.get(key) == value for key, value in (sent.get("attributes") or {}).items())
