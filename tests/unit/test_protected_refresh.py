"""The protected set (about 50 admin calls to read) is read again ahead of its bound in the
background: a request past ``REFRESH_AHEAD`` of ``protected_cache_ttl`` does not wait for
that read, a request past the bound does, and a failed background read leaves the bound
to the next request."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from bridge.keycloak import protected as kc_protected
from bridge.provisioning import backend as module
from bridge.provisioning import protected_accounts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Holders:
    """``kc_protected.holders`` standing in for Keycloak: each read returns the set of ids
    given at that moment; ``gate`` (when set) holds a read until it is opened."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.reads = 0
        self.gate: threading.Event | None = None
        self.started = threading.Event()
        self.fail = False

    def __call__(self, _gw: Any, _realm: str, admin_client: str) -> kc_protected.ProtectedSet:
        self.reads += 1
        ids = set(self.ids)
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail:
            raise RuntimeError("Keycloak unreachable")
        found = kc_protected.ProtectedSet(admin_client)
        found.ids = ids
        return found


@pytest.fixture
def scim(monkeypatch: pytest.MonkeyPatch) -> tuple[module.KeycloakScimBackend, Holders, Clock]:
    holders, clock = Holders(), Clock()
    monkeypatch.setattr(kc_protected, "holders", holders)
    monkeypatch.setattr(protected_accounts.time, "monotonic", clock)
    backend = module.KeycloakScimBackend(None, "r", protected_cache_ttl=30)  # type: ignore[arg-type]
    backend._admin_client = "realm-management-id"
    return backend, holders, clock


def _wait_idle(backend: module.KeycloakScimBackend) -> None:
    with backend._protected_lock:  # the background read holds it until it is done
        pass


def test_past_the_refresh_point_a_request_uses_the_set_it_has_and_one_read_starts(
        scim: tuple[module.KeycloakScimBackend, Holders, Clock]) -> None:
    backend, holders, clock = scim
    assert not backend._hidden({"id": "u1", "username": "ann"})
    assert holders.reads == 1
    holders.ids = {"u1"}  # made administrator
    clock.now += 30 * protected_accounts.REFRESH_AHEAD - 1  # before the refresh point
    assert not backend._hidden({"id": "u1"}) and holders.reads == 1
    clock.now += 2  # past it: answered from the set it has, while a read starts
    holders.gate = threading.Event()
    assert not backend._hidden({"id": "u1"})
    assert holders.started.wait(10)
    assert not backend._hidden({"id": "u1"})  # still answered while the read runs...
    assert holders.reads == 2  # ...and no second read started
    holders.gate.set()
    _wait_idle(backend)
    assert backend._hidden({"id": "u1"})  # the new set, well within the bound
    assert holders.reads == 2


def test_a_set_at_its_bound_is_read_by_the_request_and_a_failed_background_read_waits_for_it(
        scim: tuple[module.KeycloakScimBackend, Holders, Clock]) -> None:
    backend, holders, clock = scim
    assert not backend._hidden({"id": "u1"})
    holders.fail = True
    clock.now += 25
    assert not backend._hidden({"id": "u1"})  # the background read starts, and fails
    _wait_idle(backend)
    holders.fail = False
    holders.ids = {"u1"}
    clock.now += 5.5  # past the bound: this request reads, whatever happened before
    assert backend._hidden({"id": "u1"})
    assert holders.reads == 3


def test_the_age_of_a_set_counts_from_when_its_read_began(
        scim: tuple[module.KeycloakScimBackend, Holders, Clock],
        monkeypatch: pytest.MonkeyPatch) -> None:
    backend, _holders, clock = scim

    def slow(_gw: Any, _realm: str, admin_client: str) -> kc_protected.ProtectedSet:
        clock.now += 10  # a read that took 10 s
        return kc_protected.ProtectedSet(admin_client)

    monkeypatch.setattr(kc_protected, "holders", slow)
    backend._protected_set()
    assert backend._protected is not None and backend._protected[0] == 1000.0
