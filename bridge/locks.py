"""Locks that make a SCIM write's read-check-write atomic (``If-Match``, PATCH, uniqueness).

Keycloak's admin API has no conditional write: ``PUT /users/{id}`` replaces the stored
attributes whatever happened since they were read, and group names are unique only
case-sensitively. So the bridge serialises the writes of one resource (keyed by its id)
and the creates and renames of one name (keyed by its casefolded form) itself:

* one replica: :class:`LocalLocks` (in-process, nothing to run);
* several replicas: :class:`PostgresLocks`, PostgreSQL advisory locks
  (``pg_advisory_xact_lock``) on a database server, e.g. the one a production Keycloak
  already needs; configured by ``BRIDGE_LOCK_URL=postgresql://...``. Without it each
  replica only serialises its own requests, and concurrent writes arriving at two
  replicas can overwrite each other.

Every wait is bounded (``timeout`` seconds); past it :class:`LockTimeout` is raised, which
the SCIM layer answers as 503 with ``Retry-After``. Nothing is ever written without the lock:
when the lock server is unreachable, :class:`LockUnavailable` is raised (also a 503).
Locks are held for one SCIM request; a replica that dies mid-request releases its
PostgreSQL locks with its connection.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any, Protocol

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
"""Seconds a write waits for its locks before it is answered 503 (``BRIDGE_LOCK_TIMEOUT``)."""


NO_WAIT_POOL_TIMEOUT = 1.0
"""Seconds ``hold(wait=False)`` waits for a lock-server connection (see :class:`PostgresLocks`)."""


def resource_key(scope: str, kind: str, value: str) -> str:
    """The key of one resource (``kind`` ``user``/``group`` and its id) or one name
    (``group-name`` and the casefolded name) in ``scope`` (the realm). Every writer of a
    resource, SCIM or the lifecycle API, takes the same key."""
    return f"{scope}/{kind}/{value}"


def user_key(scope: str, user_id: str) -> str:
    return resource_key(scope, "user", user_id)


class LockTimeout(Exception):
    """The locks were not granted within the timeout (another write holds them)."""


class LockUnavailable(Exception):
    """The lock server cannot be reached; the write is refused rather than done unlocked."""


class ResourceLocks(Protocol):
    """Mutual exclusion by key, across every thread (and, for some kinds, every replica)."""

    timeout: float

    def hold(self, *keys: str, wait: bool = True) -> AbstractContextManager[None]:
        """Hold every key for the ``with`` block. Keys are taken in sorted order (no
        deadlock between two holders of overlapping sets) within ``timeout`` seconds in
        all, else :class:`LockTimeout`. Holding a key already held by the same thread is
        not supported (the locks are not reentrant).

        ``wait=False``: only if every key is free now, else :class:`LockTimeout` at once
        (nothing held). A holder of other keys may take more this way without breaking
        the sorted order: it never waits, so it never closes a cycle of waiters."""
        ...


class LocalLocks:
    """In-process locks: enough for one replica (any number of threads)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        self._guard = threading.Lock()
        # key → [lock, holders and waiters]; an entry lives only while someone uses it,
        # so memory is bounded by the requests in flight, not by the keys ever seen.
        self._locks: dict[str, list[Any]] = {}

    @contextmanager
    def hold(self, *keys: str, wait: bool = True) -> Iterator[None]:
        deadline = time.monotonic() + self.timeout
        taken: list[str] = []
        try:
            for key in sorted(set(keys)):
                lock = self._enter(key)
                granted = lock.acquire(timeout=max(deadline - time.monotonic(), 0)) \
                    if wait else lock.acquire(blocking=False)
                if not granted:
                    self._leave(key)
                    raise LockTimeout(f"lock {key!r} not granted within {self.timeout:g}s"
                                      if wait else f"lock {key!r} is held")
                taken.append(key)
            yield
        finally:
            for key in reversed(taken):
                self._locks[key][0].release()
                self._leave(key)

    def _enter(self, key: str) -> threading.Lock:
        with self._guard:
            entry = self._locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
            return entry[0]  # type: ignore[no-any-return]

    def _leave(self, key: str) -> None:
        with self._guard:
            entry = self._locks[key]
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]

    def __len__(self) -> int:
        """Keys in use now (held or awaited)."""
        return len(self._locks)


def advisory_key(namespace: str, key: str) -> int:
    """The signed 64-bit advisory-lock key of ``key`` (a stable hash: every replica agrees)."""
    digest = hashlib.blake2b(f"{namespace}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLocks:
    """PostgreSQL transaction-level advisory locks, shared by every replica using ``url``.

    Each :meth:`hold` borrows a pooled connection, opens a transaction, sets
    ``lock_timeout`` for it and takes ``pg_advisory_xact_lock`` per key; the commit at the
    end of the block (or the rollback on an error, or the connection's death) releases
    them. No table is created: any database and any role that may connect will do
    (``CONNECT`` only). ``pool_size`` bounds the connections a replica opens (one per
    write in flight); a write waiting longer than ``timeout`` for one gets
    :class:`LockTimeout` too.
    """

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT, pool_size: int = 16,
                 namespace: str = "saas-access-bridge") -> None:
        from psycopg_pool import ConnectionPool  # optional dependency of this backend only

        self.timeout = timeout
        self.namespace = namespace
        self._pool = ConnectionPool(
            url, min_size=0, max_size=pool_size, open=False, timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": max(int(timeout), 2),
                    "application_name": "bridge-locks"},
            name="bridge-locks")
        self._opened = False
        self._open_lock = threading.Lock()

    def _ensure_open(self) -> None:
        if not self._opened:
            with self._open_lock:
                if not self._opened:
                    self._pool.open(wait=False)
                    self._opened = True

    @contextmanager
    def hold(self, *keys: str, wait: bool = True) -> Iterator[None]:
        import psycopg
        from psycopg_pool import PoolTimeout

        self._ensure_open()
        deadline = time.monotonic() + self.timeout
        stack = ExitStack()
        # Without waiting, the caller may hold another pooled connection already: a short
        # wait for this one, so that callers holding all of them cannot wait on each other.
        pool_wait = self.timeout if wait else min(self.timeout, NO_WAIT_POOL_TIMEOUT)
        try:
            conn = stack.enter_context(self._pool.connection(timeout=pool_wait))
            stack.enter_context(conn.transaction())
            remaining_ms = max(int((deadline - time.monotonic()) * 1000), 1)
            conn.execute("SELECT set_config('lock_timeout', %s, true)", (f"{remaining_ms}ms",))
            for key in sorted(set(keys)):
                if wait:
                    conn.execute("SELECT pg_advisory_xact_lock(%s)",
                                 (advisory_key(self.namespace, key),))
                    continue
                row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)",
                                   (advisory_key(self.namespace, key),)).fetchone()
                if not (row and row[0]):
                    raise LockTimeout(f"lock {key!r} is held")
        except BaseException as exc:
            _close_quietly(stack, exc)
            if isinstance(exc, psycopg.errors.LockNotAvailable):
                raise LockTimeout(f"locks {sorted(set(keys))!r} not granted within "
                                  f"{self.timeout:g}s") from None
            if isinstance(exc, PoolTimeout):
                # No connection within the timeout: the server is down, or every pooled
                # connection is busy holding locks.
                raise LockUnavailable(
                    f"no lock-server connection within {self.timeout:g}s") from None
            if isinstance(exc, psycopg.Error):
                logger.warning("lock server failed: %s", type(exc).__name__)
                raise LockUnavailable("the lock server failed") from None
            raise
        try:
            yield
        except BaseException as exc:
            _close_quietly(stack, exc)  # rollback: releases the locks
            raise
        _close_quietly(stack, None)  # commit: releases the locks

    def close(self) -> None:
        self._pool.close()


def _close_quietly(stack: ExitStack, exc: BaseException | None) -> None:
    """End the lock transaction. An error here (the connection died) loses nothing: the
    locks died with the connection, and the write they guarded is already done."""
    import psycopg

    try:
        if exc is None:
            stack.close()
        else:
            stack.__exit__(type(exc), exc, exc.__traceback__)
    except psycopg.Error as error:
        logger.warning("lock transaction ended with %s", type(error).__name__)


def from_settings(url: str | None, timeout: float = DEFAULT_TIMEOUT) -> ResourceLocks:
    """``BRIDGE_LOCK_URL`` set → :class:`PostgresLocks`, else :class:`LocalLocks`."""
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("BRIDGE_LOCK_URL must be a postgresql:// URL")
        return PostgresLocks(url, timeout=timeout)
    return LocalLocks(timeout)
