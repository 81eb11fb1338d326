"""Seed 004's tenant invariant and default in the invitation and lifecycle use-cases and
the API, over an in-memory directory: the last active Administrator of a dossier stays
(409 ``tenant.invariant``), a dossier's first user is its Administrator, the holders are
counted under the tenant's lock, and writes that take no holder away count nothing."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from bridge.api import create_api_blueprint
from bridge.api.auth import Caller
from bridge.catalog.load import load
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment
from bridge.invitations import (
    AccessAdministration,
    Actor,
    Facts,
    InvariantRefused,
    InvitationRequest,
    Profile,
)
from bridge.locks import LocalLocks, resource_key, user_key
from bridge.reconcile import reconcile
from bridge.tenants.invariants import TenantInvariants, TenantLocksNeeded
from tests.support.logs import audit_events
from tests.unit.invitations_memory import MemoryDirectory

CATALOG = load(Path(__file__).resolve().parents[2] / "realm-config" / "examples"
               / "004-accounting-portal" / "catalog.yaml", {})
OPERATOR = Actor.operator("test")


class Dossiers:
    def __init__(self) -> None:
        self.directory = MemoryDirectory()
        self.locks = LocalLocks(timeout=0.5)
        self.service = AccessAdministration(self.directory, CATALOG, locks=self.locks,
                                            lock_scope="realm")

    def person(self, name: str, profile: str | None, *tenants: str,
               **fields: Any) -> str:
        state = user_state(CATALOG, Assignment.of("external", "client-user", profile,
                                                  tenants=tenants or ["dossier-acme"]))
        return self.directory.add(name, f"{name}@example.com", state.attribute_lists(),
                                  set(state.groups), **fields)

    def profiles(self, user_id: str) -> tuple[str, ...]:
        return tuple(self.directory.accounts[user_id].attributes.get("profiles", ()))


@pytest.fixture
def d() -> Dossiers:
    return Dossiers()


def _refused(caught: pytest.ExceptionInfo[InvariantRefused], tenant: str) -> None:
    error = caught.value
    assert (error.status, error.code) == (409, "tenant.invariant")
    assert error.body == {"invariant": "one-administrator", "tenant": tenant}
    assert error.detail.startswith(f"invariant 'one-administrator': dossier {tenant!r} must "
                                   f"keep at least 1 active holder of profile Administrator")


# -- the last Administrator stays ------------------------------------------------------------

def test_the_last_administrator_may_not_be_deactivated_deleted_demoted_or_removed(
        d: Dossiers) -> None:
    anna = d.person("anna", "administrator", "dossier-acme", "dossier-bakery")
    d.person("bob", "administrator", "dossier-bakery")
    d.person("carl", "full-access", "dossier-acme")
    before = dict(d.directory.accounts)
    with pytest.raises(InvariantRefused) as caught:
        d.service.deactivate(OPERATOR, anna)
    _refused(caught, "dossier-acme")
    with pytest.raises(InvariantRefused) as caught:
        d.service.delete(OPERATOR, anna)
    _refused(caught, "dossier-acme")
    with pytest.raises(InvariantRefused) as caught:
        d.service.update(OPERATOR, anna, Profile(Facts(profiles=("full-access",))))
    _refused(caught, "dossier-acme")
    with pytest.raises(InvariantRefused) as caught:
        d.service.update(OPERATOR, anna, Profile(Facts(
            remove_tenants=frozenset({"dossier-acme"}))))
    _refused(caught, "dossier-acme")
    assert d.directory.accounts == before  # nothing was written
    assert d.directory.writes == [] and d.directory.logged_out == []
    # Leaving dossier-bakery (which keeps bob) is allowed; a rename too.
    left = d.service.update(OPERATOR, anna, Profile(Facts(
        remove_tenants=frozenset({"dossier-bakery"}))))
    assert left.assignment is not None and left.assignment.tenants == {"dossier-acme"}
    assert d.service.update(OPERATOR, anna, Profile(first_name="Anna")).first_name == "Anna"


def test_with_two_administrators_one_may_go(d: Dossiers) -> None:
    anna = d.person("anna", "administrator")
    bob = d.person("bob", "administrator")
    assert d.service.deactivate(OPERATOR, anna).enabled is False
    # Anna is disabled: she holds nothing any more, so Bob is the last one.
    with pytest.raises(InvariantRefused):
        d.service.deactivate(OPERATOR, bob)
    with pytest.raises(InvariantRefused):
        d.service.delete(OPERATOR, bob)
    # Anna, active again, counts again: then Bob may lose the profile.
    d.service.reactivate(OPERATOR, anna)
    changed = d.service.update(OPERATOR, bob, Profile(Facts(profiles=("full-access",))))
    assert changed.assignment is not None and changed.assignment.profiles == ("full-access",)


def test_revoking_the_pending_invitation_of_the_last_administrator_is_refused(
        d: Dossiers, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="bridge.audit")
    invited = d.service.invite(OPERATOR, InvitationRequest(
        email="first@example.com", facts=Facts(status="client-user",
                                                tenants=frozenset({"dossier-bakery"})),
        lifespan=3600))
    with pytest.raises(InvariantRefused) as caught:
        d.service.revoke(OPERATOR, invited.invitation.id)
    _refused(caught, "dossier-bakery")
    assert invited.invitation.id in d.directory.accounts
    (event,) = [e for e in audit_events(caplog.records)
                if e["action"] == "invitation.revoke"]
    assert event["outcome"] != "ok" and event.get("rule") == "tenant.invariant"


def test_an_administrator_acting_for_the_dossier_is_refused_alike(d: Dossiers) -> None:
    """Delegated actors get the same refusal (after the delegation rules allowed it)."""
    anna = d.person("anna", "administrator")
    bob = d.person("bob", "administrator")
    actor = d.service.actor_for_user(anna)
    d.service.deactivate(actor, bob)
    # Anna cannot deactivate herself (lifecycle.self), nor demote herself as the last one.
    with pytest.raises(InvariantRefused):
        d.service.update(actor, anna, Profile(Facts(profiles=("full-access",))))


# -- what is counted, under which lock ---------------------------------------------------------

def test_writes_that_take_no_holder_away_count_nothing(d: Dossiers) -> None:
    anna = d.person("anna", "administrator")
    carl = d.person("carl", "full-access")
    d.service.deactivate(OPERATOR, carl)
    d.service.delete(OPERATOR, carl)
    d.service.update(OPERATOR, anna, Profile(first_name="Anna"))
    d.service.update(OPERATOR, anna, Profile(Facts(
        for_tenants=frozenset({"dossier-bakery"}))))
    d.service.invite(OPERATOR, InvitationRequest(
        email="dana@example.com", facts=Facts(status="client-user",
                                               profiles=("document-delivery",),
                                               tenants=frozenset({"dossier-acme"})),
        lifespan=3600))
    assert d.directory.counted == []


def test_a_holder_is_counted_once_per_dossier_it_leaves_under_the_dossiers_lock(
        d: Dossiers) -> None:
    anna = d.person("anna", "administrator", "dossier-acme", "dossier-bakery")
    d.person("bob", "administrator", "dossier-acme", "dossier-bakery")
    held: list[bool] = []
    counts = d.directory.holders

    def holders(tenant: str, profile: str) -> int:
        # The tenant's lock is held: another replica's write of it would wait.
        probe = LocalLocks(timeout=0.05)
        probe._locks = d.locks._locks  # the same lock table
        try:
            with probe.hold(resource_key("realm", "tenant", tenant)):
                held.append(False)
        except Exception:
            held.append(True)
        return counts(tenant, profile)

    d.directory.holders = holders  # type: ignore[method-assign]
    d.service.deactivate(OPERATOR, anna)
    assert held == [True, True]
    assert [(t, p) for _, t, p in d.directory.counted] == [
        ("dossier-acme", "administrator"), ("dossier-bakery", "administrator")]


def _admin_attributes() -> dict[str, list[str]]:
    return user_state(CATALOG, Assignment.of("external", "client-user", "administrator",
                                             tenants=["dossier-acme"])).attribute_lists()


def test_free_tenant_locks_are_taken_in_the_same_pass() -> None:
    """Uncontended (the usual case): the pass holding the user's lock takes the tenant's
    lock at once, counts and writes: one pass."""
    directory = MemoryDirectory()
    locks = LocalLocks(timeout=0.5)
    invariants = TenantInvariants(CATALOG, directory, locks=locks, scope="realm")
    admin = _admin_attributes()
    directory.add("x", "x@example.com", admin)
    directory.add("y", "y@example.com", admin)
    passes: list[frozenset[str]] = []

    def body(step: Any) -> str:
        passes.append(step.held)
        step.keep(admin, True, admin, False)
        assert len(locks) == 2  # the user's lock and the tenant's, until the write is done
        return "written"

    assert invariants.user_write("u1", body) == "written"
    assert passes == [frozenset()]
    assert len(locks) == 0


def test_a_busy_tenant_lets_the_user_lock_go_and_the_write_starts_again() -> None:
    """Lock order: holding the user's lock, a write never waits for a tenant's (a tenant
    write takes the tenant's, then its members'). The pass that finds the tenant busy
    writes nothing and lets the user's lock go; the next waits for both."""
    directory = MemoryDirectory()
    locks = LocalLocks(timeout=5)
    invariants = TenantInvariants(CATALOG, directory, locks=locks, scope="realm")
    admin = _admin_attributes()
    directory.add("x", "x@example.com", admin)
    directory.add("y", "y@example.com", admin)
    tenant_busy, user_free, done = threading.Event(), threading.Event(), threading.Event()

    def tenant_write() -> None:  # e.g. a cap change: the tenant, then its member u1
        with locks.hold(resource_key("realm", "tenant", "dossier-acme")):
            tenant_busy.set()
            user_free.wait(5)
            with locks.hold(user_key("realm", "u1")):
                done.set()

    passes: list[frozenset[str]] = []
    written: list[str] = []

    def body(step: Any) -> str:
        passes.append(step.held)
        if len(passes) == 1:
            user_free.set()  # the tenant write now waits for u1's lock, which we hold
        step.keep(admin, True, admin, False)
        written.append("write")
        return "written"

    other = threading.Thread(target=tenant_write)
    other.start()
    tenant_busy.wait(5)
    assert invariants.user_write("u1", body) == "written"
    other.join(5)
    assert done.is_set()  # no deadlock: the tenant write got the user's lock
    assert passes == [frozenset(), frozenset({"dossier-acme"})]
    assert written == ["write"]  # the first pass wrote nothing
    # One pass whose tenant lock is held elsewhere raises, having written nothing.
    busy = LocalLocks()
    with busy.hold(resource_key("realm", "tenant", "dossier-acme")), \
            pytest.raises(TenantLocksNeeded):
        _one_pass(busy, directory, admin)


def _one_pass(locks: LocalLocks, directory: MemoryDirectory,
              admin: dict[str, list[str]]) -> None:
    """One pass whose tenant lock is held by someone else: it raises, writing nothing."""
    from contextlib import ExitStack

    from bridge.tenants.invariants import Pass

    invariants = TenantInvariants(CATALOG, directory, locks=locks, scope="realm")
    with ExitStack() as stack:
        invariants.keep(Pass(invariants, frozenset(), stack), admin, True, None, False)


def test_two_concurrent_deactivations_of_the_last_two_administrators_leave_one(
        d: Dossiers) -> None:
    anna = d.person("anna", "administrator")
    bob = d.person("bob", "administrator")
    counts = d.directory.holders
    both_counting = threading.Barrier(2, timeout=0.3)

    def slow_holders(tenant: str, profile: str) -> int:
        try:  # without the tenant lock both would count 2 here, and both would go
            both_counting.wait()
        except threading.BrokenBarrierError:
            pass
        return counts(tenant, profile)

    d.directory.holders = slow_holders  # type: ignore[method-assign]
    d.locks.timeout = 5
    outcomes: list[str] = []

    def deactivate(user_id: str) -> None:
        try:
            d.service.deactivate(OPERATOR, user_id)
            outcomes.append("deactivated")
        except InvariantRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=deactivate, args=(u,)) for u in (anna, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["deactivated", "refused"]
    assert sum(a.enabled for a in d.directory.accounts.values()) == 1


def test_an_empty_lock_table_given_is_the_one_used() -> None:
    """Without BRIDGE_LOCK_URL the app gives the SCIM backend and the API one LocalLocks:
    both must use it (an empty LocalLocks is falsy, and ``locks or LocalLocks()`` gave each
    its own, so a SCIM write and an API write of one user did not exclude each other)."""
    from bridge.provisioning import KeycloakScimBackend

    shared = LocalLocks()
    service = AccessAdministration(MemoryDirectory(), CATALOG, locks=shared)
    scim = KeycloakScimBackend(None, "realm", locks=shared)  # type: ignore[arg-type]
    assert service.locks is shared and scim.locks is shared
    assert service.invariants.locks is shared and scim.invariants.locks is shared


# -- the first user's default profile --------------------------------------------------------

def test_a_dossiers_first_user_without_profile_is_its_administrator(d: Dossiers) -> None:
    d.person("anna", "administrator", "dossier-acme")
    first = d.service.invite(OPERATOR, InvitationRequest(
        email="first@example.com", facts=Facts(status="client-user",
                                                tenants=frozenset({"dossier-bakery"})),
        lifespan=3600))
    assert first.invitation.assignment is not None
    assert first.invitation.assignment.profiles == ("administrator",)
    assert d.profiles(first.invitation.id) == ("administrator",)
    # Asked again (a retried request): the same invitation, not "other access".
    again = d.service.invite(OPERATOR, InvitationRequest(
        email="first@example.com", facts=Facts(status="client-user",
                                                tenants=frozenset({"dossier-bakery"})),
        lifespan=3600))
    assert again.outcome == "already-invited"
    # The dossier has a member now: the next user without profile gets none.
    second = d.service.invite(OPERATOR, InvitationRequest(
        email="second@example.com", facts=Facts(status="client-user",
                                                 tenants=frozenset({"dossier-bakery"})),
        lifespan=3600))
    assert d.profiles(second.invitation.id) == ()
    # Into a dossier with members, no default either; a profile given is kept.
    third = d.service.invite(OPERATOR, InvitationRequest(
        email="third@example.com", facts=Facts(status="client-user",
                                                tenants=frozenset({"dossier-acme"})),
        lifespan=3600))
    assert d.profiles(third.invitation.id) == ()
    given = d.service.invite(OPERATOR, InvitationRequest(
        email="fourth@example.com", facts=Facts(
            status="client-user", profiles=("document-delivery",),
            tenants=frozenset({"dossier-carpentry"})), lifespan=3600))
    assert d.profiles(given.invitation.id) == ("document-delivery",)
    assert [c[1] for c in d.directory.counted] == ["dossier-bakery", "dossier-bakery",
                                                   "dossier-bakery", "dossier-acme"]


# -- reconcile ----------------------------------------------------------------------------

def test_reconcile_never_takes_a_holder_away(d: Dossiers) -> None:
    """It keeps every account's facts: the last Administrator's stale permissions are
    rewritten, and nothing is counted."""
    anna = d.person("anna", "administrator")
    account = d.directory.accounts[anna]
    d.directory.accounts[anna] = account.__class__(**{
        **account.__dict__, "attributes": {**account.attributes, "permissions": ("x",)}})
    report = reconcile(d.directory, CATALOG, OPERATOR, locks=d.locks, lock_scope="realm")
    assert report.changed == 1 and report.violating == 0
    assert d.directory.counted == []


# -- over HTTP ------------------------------------------------------------------------------

def test_the_api_answers_409_naming_the_rule(d: Dossiers) -> None:
    anna = d.person("anna", "administrator")
    staff = d.directory.add("sam", "sam@example.com", user_state(CATALOG, Assignment.of(
        "internal", "firm-staff")).attribute_lists())

    def auth(header: str | None) -> Caller | None:
        return Caller(header.removeprefix("Bearer "), None, "portal") if header else None

    app = Flask(__name__)
    app.register_blueprint(create_api_blueprint(d.service, auth))
    http = app.test_client()
    answer = http.post(f"/api/v1/users/{anna}/deactivate",
                       headers={"Authorization": f"Bearer {staff}"})
    assert answer.status_code == 409
    body = answer.get_json()
    assert body["error"] == "tenant.invariant"
    assert (body["invariant"], body["tenant"]) == ("one-administrator", "dossier-acme")
    assert body["detail"].startswith("invariant 'one-administrator': dossier 'dossier-acme'")
    answer = http.patch(f"/api/v1/users/{anna}", json={"profile": "full-access"},
                        headers={"Authorization": f"Bearer {staff}"})
    assert (answer.status_code, answer.get_json()["error"]) == (409, "tenant.invariant")
    assert d.directory.accounts[anna].enabled
    assert user_key("realm", anna) not in d.locks._locks  # every lock was let go


def test_local_locks_taken_without_waiting() -> None:
    locks = LocalLocks(timeout=5)
    with locks.hold("r/tenant/a"):
        other = threading.Thread(target=lambda: _try(locks, "r/tenant/a", refused))
        refused: list[bool] = []
        other.start()
        other.join(2)
        assert refused == [True]  # at once, not after 5 s
    _try(locks, "r/tenant/a", refused)
    assert refused == [True, False]
    assert len(locks) == 0


def _try(locks: LocalLocks, key: str, refused: list[bool]) -> None:
    from bridge.locks import LockTimeout

    try:
        with locks.hold(key, wait=False):
            refused.append(False)
    except LockTimeout:
        refused.append(True)
