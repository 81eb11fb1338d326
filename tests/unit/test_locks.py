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


def test_a_lock_timeout_is_a_scim_503_with_retry_after() -> None:
    import json
    from contextlib import AbstractContextManager

    import responses
    from flask import Flask

    from bridge.keycloak.client import AdminGateway
    from bridge.locks import LockUnavailable
    from bridge.provisioning import KeycloakScimBackend
    from scim.backend import Subject
    from scim.blueprint import create_scim_blueprint

    class Refusing:
        timeout = 0.0

        def __init__(self, error: Exception) -> None:
            self.error = error

        def hold(self, *keys: str) -> AbstractContextManager[None]:
            raise self.error

    kc = "http://kc.test"
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "title", "value": "x"}]}
    for error, retry_after, detail in [
            (LockTimeout("lock 'r/user/1' not granted within 10s"), "1", "in progress"),
            (LockUnavailable("the lock server failed"), "30", "lock service")]:
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            mock.post(f"{kc}/realms/master/protocol/openid-connect/token",
                      json={"access_token": "t", "expires_in": 300, "refresh_token": "r",
                            "token_type": "Bearer"})
            backend = KeycloakScimBackend(AdminGateway.with_password(kc, "admin", "pw"), "r",
                                          locks=Refusing(error))
            app = Flask(__name__)
            app.register_blueprint(create_scim_blueprint(
                backend, lambda header: Subject("test-client")))
            response = app.test_client().patch(
                "/scim/v2/Users/1", data=json.dumps(patch),
                headers={"Authorization": "Bearer t"}, content_type="application/scim+json")
            assert response.status_code == 503
            assert response.headers["Retry-After"] == retry_after
            body = response.get_json()
            assert body["status"] == "503" and detail in body["detail"]
            assert "r/user/1" not in body["detail"]  # no lock internals on the wire

