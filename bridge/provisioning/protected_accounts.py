"""Protected accounts are out of SCIM's reach (issue 9): service accounts (username prefix
``service-account-``, which SCIM may not create either) and users holding a
``realm-management`` role or an admin realm role, however held (see
:mod:`bridge.keycloak.protected`). They answer 404 by id and are absent from every filter,
list, total, sort, group member list and Bulk operation.

Reads hide them through the protected set, read from the role side and cached
``protected_cache_ttl`` seconds (so a user made administrator disappears from reads within
that bound); that cache only ever hides: every write to a user re-checks it freshly and
answers 404 for a protected one (:meth:`ProtectedAccounts._protected_for_write`).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from bridge.keycloak import protected as kc_protected
from bridge.provisioning.state import BackendState
from scim import errors
from scim.backend import (
    Subject,
)

logger = logging.getLogger(__name__)

REFRESH_AHEAD = 0.8
"""Past this fraction of ``protected_cache_ttl``, the protected set is read again in the
background (24 s of the default 30 s: a read takes well under a second)."""


class ProtectedAccounts(BackendState):
    """The protected set and the checks that keep SCIM away from protected accounts."""

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
        """The protected users, read from the role side, never older than
        ``protected_cache_ttl`` seconds. It only ever HIDES: a user made administrator is
        hidden from reads within that bound, and every write re-checks the user freshly
        (:meth:`_protected_for_write`).

        A read is about 50 admin calls (:func:`bridge.keycloak.protected.holders`): past
        :data:`REFRESH_AHEAD` of the bound, one background thread reads it again while
        requests go on with the set they have, so a request waits for that read only when
        there is no set yet or the set reached the bound (the background read failed or is
        late); then it reads it itself, one refresh at a time, as before. A set's age counts
        from the moment its read began, so nothing granted during the read is counted as
        seen."""
        cached = self._protected
        if cached is not None:
            age = time.monotonic() - cached[0]
            if age <= self.protected_cache_ttl:
                if age > self.protected_cache_ttl * REFRESH_AHEAD:
                    self._refresh_protected_ahead()
                return cached[1]
        with self._protected_lock:
            cached = self._protected
            if cached is None or time.monotonic() - cached[0] > self.protected_cache_ttl:
                cached = self._read_protected()
            return cached[1]

    def _read_protected(self) -> tuple[float, kc_protected.ProtectedSet]:
        began = time.monotonic()
        found = kc_protected.holders(self.gw, self.realm, self._admin_client_id())
        newest = self._protected
        if newest is None or newest[0] < began:  # a concurrent, later read is kept
            self._protected = (began, found)
        return self._protected  # type: ignore[return-value]

    def _refresh_protected_ahead(self) -> None:
        """Start the background read unless one is running (or a request is reading)."""
        if not self._protected_lock.acquire(blocking=False):
            return

        def refresh() -> None:
            try:
                self._read_protected()
            except Exception:  # the next request past the bound reads it and answers why
                logger.warning("background read of the protected accounts failed; the "
                               "next request past %ss reads them itself",
                               self.protected_cache_ttl, exc_info=True)
            finally:
                self._protected_lock.release()

        try:
            threading.Thread(target=refresh, name="protected-accounts", daemon=True).start()
        except RuntimeError:  # no thread to be had (interpreter exiting): the bound still holds
            self._protected_lock.release()

    def _hidden(self, rep: dict[str, Any]) -> bool:
        return kc_protected.is_service_account_name(rep.get("username")) or \
            rep.get("id") in self._protected_set().ids

    def _protected_for_write(self, subject: Subject, rep: dict[str, Any]) -> bool:
        """Whether a write must leave the user alone (answered 404, and logged): checked
        freshly, never through the protected set (1 call, 2 when the realm defines an
        admin realm role)."""
        if kc_protected.is_service_account_name(rep.get("username")) or kc_protected.is_admin(
                self.gw, self.realm, rep["id"], self._admin_client_id(),
                self._admin_realm_roles()):
            logger.warning("SCIM client %r refused a write to protected account %r (a service "
                           "account or an administrator); answered 404", subject.client_id,
                           rep["id"])
            return True
        return False

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


def check_not_reserved(user_name: str | None) -> None:
    if kc_protected.is_service_account_name(user_name):
        raise errors.InvalidValue(
            f"userName may not start with {kc_protected.SERVICE_ACCOUNT_PREFIX!r}: Keycloak "
            "names its service accounts so, and SCIM never reaches them")
