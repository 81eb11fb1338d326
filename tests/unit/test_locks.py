"""The in-process lock seam (one replica): mutual exclusion by key, a bounded wait, and
memory bounded by the requests in flight."""

from __future__ import annotations

import threading
import time

import pytest

from bridge.locks import LocalLocks, LockTimeout, PostgresLocks, from_settings


def test_one_holder_per_key_and_other_keys_are_free() -> None:
    locks = LocalLocks(timeout=0.2)
    with locks.hold("realm/user/1"):
        with locks.hold("realm/user/2"):
            pass
        started = time.monotonic()
        errors: list[Exception] = []

        def contender() -> None:
            try:
                with locks.hold("realm/user/1"):
                    pass
            except LockTimeout as exc:
                errors.append(exc)

        thread = threading.Thread(target=contender)
        thread.start()
        thread.join()
        assert len(errors) == 1 and "realm/user/1" in str(errors[0])
        assert time.monotonic() - started >= 0.2
    with locks.hold("realm/user/1"):  # released at the end of the block
        pass
    assert len(locks) == 0  # no key outlives its use


def test_an_error_in_the_block_releases_the_lock() -> None:
    locks = LocalLocks(timeout=0.1)
    with pytest.raises(RuntimeError), locks.hold("k"):
        raise RuntimeError("write failed")
    with locks.hold("k"):
        pass
    assert len(locks) == 0


def test_increments_under_the_lock_are_never_lost() -> None:
    locks = LocalLocks(timeout=5)
    state = {"n": 0}

    def bump() -> None:
        for _ in range(200):
            with locks.hold("counter", "other"):
                value = state["n"]
                time.sleep(0)
                state["n"] = value + 1

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state["n"] == 1600
    assert len(locks) == 0


def test_overlapping_key_sets_do_not_deadlock() -> None:
    locks = LocalLocks(timeout=5)

    def take(keys: tuple[str, str]) -> None:
        for _ in range(200):
            with locks.hold(*keys):
                pass

    threads = [threading.Thread(target=take, args=(keys,))
               for keys in [("a", "b"), ("b", "a")] * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
        assert not thread.is_alive()


def test_settings_choose_the_backend() -> None:
    assert isinstance(from_settings(None), LocalLocks)
    assert isinstance(from_settings("postgresql://u:p@127.0.0.1:1/db", 3), PostgresLocks)
    with pytest.raises(ValueError, match="postgresql://"):
        from_settings("redis://127.0.0.1")
