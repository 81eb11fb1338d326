"""The access-request use-cases (bridge/access_requests/service.py) over the memory directory:
who may ask, who is mailed, who may decide, caps, expiry, and nothing half-written."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from bridge.access_requests.mail import Outbox
from bridge.access_requests.service import (
    MAX_PENDING,
    AccessRequests,
    NewRequest,
    Person,
    RequestTenant,
)
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment
from bridge.invitations import (
    AccessAdministration,
    AccessDenied,
    Actor,
    Conflict,
    InvalidRequest,
    NotFound,
    RuleRefused,
    Unavailable,
)
from tests.support.logs import audit_events
from tests.unit.invitations_memory import MemoryDirectory
from tests.unit.test_invitations_usecases import OPERATOR, T0, Clock, _catalog


@dataclass
class Tenants:
    known: dict[str, RequestTenant] = field(default_factory=dict)

    def find(self, alias: str) -> RequestTenant | None:
        return self.known.get(alias)


@dataclass
class People:
    directory: MemoryDirectory
    roles: dict[str, set[str]] = field(default_factory=dict)  # role -> user ids

    def _person(self, user_id: str) -> Person | None:
        a = self.directory.get(user_id)
        return Person(a.id, a.username, a.email, a.username, a.first("locale")) if a else None

    def get(self, user_id: str) -> Person | None:
        return self._person(user_id)

    def by_username(self, username: str) -> Person | None:
        found = [a for a in self.directory.accounts.values() if a.username == username]
        return self._person(found[0].id) if found else None

    def holders(self, role: str, max: int) -> list[Person]:
        return [p for i in sorted(self.roles.get(role, ()))[:max]
                if (p := self._person(i)) is not None]

    def holds(self, user_id: str, role: str) -> bool:
        return user_id in self.roles.get(role, set())


@dataclass
class World:
    requests: AccessRequests
    directory: MemoryDirectory
    outbox: Outbox
    clock: Clock
    tenants: Tenants
    people: People

    def person(self, name: str, assignment: Assignment, locale: str = "en") -> Actor:
        admin = self.requests.administration
        state = user_state(admin.catalog, assignment)
        user_id = self.directory.add(name, f"{name}@example.com",
                                     {**state.attribute_lists(), "locale": [locale]},
                                     set(state.groups))
        return admin.actor_for_user(user_id)


def _world() -> World:
    directory, clock, outbox = MemoryDirectory(), Clock(), Outbox()
    admin = AccessAdministration(directory, _catalog("004"), clock=clock)
    tenants = Tenants({"dossier-acme": RequestTenant("dossier-acme", "ACME SPRL",
                                                     "user:fiona")})
    people = People(directory)
    requests = AccessRequests(admin, tenants, people, outbox,
                              review_url=lambda i: f"https://bridge.example/r/{i}",
                              clock=clock)
    return World(requests, directory, outbox, clock, tenants, people)


def _client(world: World, name: str = "carl", profile: str = "document-delivery") -> Actor:
    return world.person(name, Assignment.of("external", "client-user", profile,
                                            tenants=["dossier-acme"]))


def _staff(world: World, name: str, locale: str = "fr") -> Actor:
    return world.person(name, Assignment.of("internal", "firm-staff"), locale)


def _ask(email: str = "nina@example.com", profile: str = "full-access",
         tenant: str = "dossier-acme") -> NewRequest:
    return NewRequest(tenant=tenant, email=email, first_name="Nina", last_name="New",
                      profile=profile)


def test_a_request_is_mailed_to_the_responsible_in_its_language_and_audited(
        caplog: pytest.LogCaptureFixture) -> None:
    world = _world()
    fiona = _staff(world, "fiona", "ro")
    carl = _client(world)
    with caplog.at_level(logging.INFO, logger="bridge.audit"):
        made = world.requests.submit(carl, _ask())
    [mail] = world.outbox.sent
    assert mail.to == "fiona@example.com" and mail.language == "ro"
    assert mail.subject == "SaaS access: cerere de acces pentru dossier ACME SPRL"
    assert mail.links[0][1] == f"https://bridge.example/r/{made.id}"
    assert mail.links[1][1].endswith("?decision=decline")
    assert made.expires_at > made.created_at and made.status == "client-user"
    assert world.requests.review(made.id, fiona.user_id or "").grantable[0] == (
        "full-access", "Full access")
    [event] = [e for e in audit_events(caplog.records)
               if e["action"] == "access-request.create"]
    assert event["outcome"] == "ok" and event["target"]["tenant"] == "dossier-acme"


def test_only_members_ask_and_only_for_a_tenant_with_a_responsible() -> None:
    world = _world()
    _staff(world, "fiona")
    carl = _client(world)
    with pytest.raises(AccessDenied, match="not a member") as refused:
        world.requests.submit(carl, _ask(tenant="dossier-bakery"))
    assert refused.value.code == "request.not-member"
    world.tenants.known["dossier-acme"] = RequestTenant("dossier-acme", "ACME", None)
    with pytest.raises(Conflict) as none:
        world.requests.submit(carl, _ask())
    assert none.value.code == "request.no-responsible"
    with pytest.raises(InvalidRequest):
        world.requests.submit(OPERATOR, _ask())
    with pytest.raises(RuleRefused):  # not a profile of the catalog
        world.tenants.known["dossier-acme"] = RequestTenant("dossier-acme", "ACME",
                                                            "user:fiona")
        world.requests.submit(carl, _ask(profile="superuser"))
    assert not world.outbox.sent
    assert not any(k.startswith("bridge.request.") for a in world.directory.accounts.values()
                   for k in a.attributes)


def test_a_role_mails_every_holder_and_any_holder_decides() -> None:
    world = _world()
    a, b, c = (_staff(world, n) for n in ("ana", "bob", "cid"))
    world.people.roles["dossier-owners"] = {a.user_id or "", b.user_id or ""}
    world.tenants.known["dossier-acme"] = RequestTenant("dossier-acme", "ACME",
                                                        "role:dossier-owners")
    made = world.requests.submit(_client(world), _ask())
    assert sorted(m.to for m in world.outbox.sent) == ["ana@example.com", "bob@example.com"]
    with pytest.raises(AccessDenied):
        world.requests.approve(c, made.id, reviewer_id=c.user_id)
    done = world.requests.approve(b, made.id, "full-feedback", reviewer_id=b.user_id)
    assert done.request.granted_profile == "full-feedback"
    assert done.invitation.invitation.assignment is not None
    assert done.invitation.invitation.assignment.profiles == ("full-feedback",)


def test_approve_once_never_higher_and_forged_ids_name_nothing() -> None:
    world = _world()
    fiona = _staff(world, "fiona")
    made = world.requests.submit(_client(world), _ask(profile="document-processing"))
    with pytest.raises(RuleRefused) as higher:
        world.requests.approve(fiona, made.id, "full-access", reviewer_id=fiona.user_id)
    assert higher.value.code == "request.profile"
    world.requests.approve(fiona, made.id, reviewer_id=fiona.user_id)
    with pytest.raises(Conflict) as twice:
        world.requests.approve(fiona, made.id, reviewer_id=fiona.user_id)
    assert twice.value.code == "request.decided"
    other = made.id[:-1] + ("0" if made.id[-1] != "0" else "1")
    for forged in (other, "x", "u999.0123456789abcdef"):
        with pytest.raises(NotFound):
            world.requests.approve(fiona, forged, reviewer_id=fiona.user_id)
    assert len(world.directory.find_by_email("nina@example.com")) == 1


def test_expired_requests_are_refused_and_make_room() -> None:
    world = _world()
    fiona = _staff(world, "fiona")
    carl = _client(world)
    made = world.requests.submit(carl, _ask())
    world.clock.now = T0 + world.requests.lifespan + 1
    with pytest.raises(Conflict) as late:
        world.requests.approve(fiona, made.id, reviewer_id=fiona.user_id)
    assert late.value.code == "request.expired"
    assert world.requests.state(world.requests.get(made.id)) == "expired"
    # Expired ones no longer count: the cap applies to pending requests.
    for n in range(MAX_PENDING):
        world.requests.submit(carl, _ask(email=f"p{n}@example.com"))
    with pytest.raises(Conflict) as full:
        world.requests.submit(carl, _ask(email="one-more@example.com"))
    assert full.value.code == "request.too-many"
    with pytest.raises(Conflict) as duplicate:
        world.requests.submit(carl, _ask(email="p0@example.com"))
    assert duplicate.value.code in ("request.duplicate", "request.too-many")


def test_decline_mails_the_requester_the_reason_and_makes_no_account() -> None:
    world = _world()
    fiona = _staff(world, "fiona")
    carl = _client(world)
    made = world.requests.submit(carl, _ask())
    with pytest.raises(InvalidRequest):
        world.requests.decline(fiona, made.id, "   ", reviewer_id=fiona.user_id)
    world.requests.decline(fiona, made.id, "Left the company.", reviewer_id=fiona.user_id)
    told = world.outbox.sent[-1]
    assert told.to == "carl@example.com" and told.language == "en"
    assert "Reason: Left the company." in told.paragraphs
    assert world.directory.find_by_email("nina@example.com") == []
    with pytest.raises(Conflict):
        world.requests.approve(OPERATOR, made.id)


def test_a_request_nobody_could_be_told_of_is_taken_back() -> None:
    world = _world()
    _staff(world, "fiona")
    carl = _client(world)
    world.outbox.fail = True
    with pytest.raises(Unavailable) as failed:
        world.requests.submit(carl, _ask())
    assert failed.value.code == "mail-unavailable"
    assert world.requests.mine(carl) == []


def test_operators_list_and_approve_without_the_responsible_check() -> None:
    world = _world()
    _staff(world, "fiona")
    made = world.requests.submit(_client(world), _ask())
    found, following = world.requests.list(state="pending")
    assert [r.id for r in found] == [made.id] and following is None
    assert world.requests.list(tenant="dossier-bakery")[0] == []
    done = world.requests.approve(OPERATOR, made.id)
    assert done.request.decided_by == OPERATOR.name
    assert world.requests.list(state="pending")[0] == []
