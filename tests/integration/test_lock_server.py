"""PostgreSQL advisory locks (``BRIDGE_LOCK_URL``) on a throwaway server: exclusion across
two lock clients (two replicas), the bounded wait, and a refusal when the server is down."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.local.keycloak import free_port
from bridge.local.postgres import LocalPostgres
from bridge.locks import LockTimeout, LockUnavailable, PostgresLocks


def test_two_replicas_exclude_each_other_within_a_bounded_wait(
        lock_server: LocalPostgres) -> None:
    a = PostgresLocks(lock_server.dsn, timeout=0.5)
    b = PostgresLocks(lock_server.dsn, timeout=0.5)
    try:
        with a.hold("r/user/1", "r/group-name/team-x"):
            started = time.monotonic()
            with pytest.raises(LockTimeout), b.hold("r/group-name/team-x"):
                pass
            assert 0.4 <= time.monotonic() - started < 5
            with b.hold("r/user/2"):  # another key is free
                pass
        with b.hold("r/group-name/team-x"):  # released by a's commit
            pass
    finally:
        a.close()
        b.close()


def test_increments_from_two_replicas_are_never_lost(lock_server: LocalPostgres) -> None:
    replicas = [PostgresLocks(lock_server.dsn, timeout=10, pool_size=4) for _ in range(2)]
    state = {"n": 0}

    def bump(locks: PostgresLocks) -> None:
        for _ in range(50):
            with locks.hold("r/user/counter"):
                value = state["n"]
                time.sleep(0.001)
                state["n"] = value + 1

    threads = [threading.Thread(target=bump, args=(replicas[i % 2],)) for i in range(6)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert state["n"] == 300
    finally:
        for locks in replicas:
            locks.close()


def test_an_error_in_the_block_releases_the_lock(lock_server: LocalPostgres) -> None:
    locks = PostgresLocks(lock_server.dsn, timeout=0.5, pool_size=1)
    try:
        with pytest.raises(RuntimeError), locks.hold("r/user/3"):
            raise RuntimeError("the write failed")
        with locks.hold("r/user/3"):  # the one pooled connection was given back, unlocked
            pass
    finally:
        locks.close()


def test_an_unreachable_lock_server_refuses_the_write() -> None:
    port = free_port()
    locks = PostgresLocks(f"postgresql://u:p@127.0.0.1:{port}/db", timeout=1)
    try:
        with pytest.raises(LockUnavailable), locks.hold("r/user/1"):
            raise AssertionError("nothing may run without its lock")
    finally:
        locks.close()
