"""Invitation and lifecycle use-cases over an in-memory directory (no Keycloak)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bridge.catalog.load import load
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment, Catalog
from bridge.invitations import (
    EXPIRES_AT,
    INVITED_BY,
    PENDING,
    AccessAdministration,
    AccessDenied,
    Actor,
    Conflict,
    Facts,
    InvalidRequest,
    InvitationRequest,
    NotFound,
    Profile,
    RuleRefused,
    Unavailable,
)
from bridge.keycloak import errors as kc
from tests.support.logs import audit_events
from tests.unit.invitations_memory import MemoryDirectory

EXAMPLES = Path(__file__).resolve().parents[2] / "realm-config" / "examples"
OPERATOR = Actor.operator("test")
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _catalog(seed: str) -> Catalog:
    return load(next(EXAMPLES.glob(f"{seed}-*")) / "catalog.yaml", {})


def _setup(seed: str) -> tuple[AccessAdministration, MemoryDirectory, Clock]:
    directory, clock = MemoryDirectory(), Clock()
    return AccessAdministration(directory, _catalog(seed), clock=clock), directory, clock


def _person(service: AccessAdministration, name: str, assignment: Assignment,
            **fields: object) -> Actor:
    state = user_state(service.catalog, assignment)
    directory = service.directory
    assert isinstance(directory, MemoryDirectory)
    user_id = directory.add(name, f"{name}@example.com", state.attribute_lists(),
                            set(state.groups), **fields)  # type: ignore[arg-type]
    return service.actor_for_user(user_id)


P1 = {"project": ("p1",)}
"""A client's perimeter (seed 000: a client never goes without one)."""


def _request(email: str, **facts: object) -> InvitationRequest:
    language = str(facts.pop("language", "en"))
    lifespan = int(facts.pop("lifespan", 3600))  # type: ignore[call-overload]
    return InvitationRequest(email=email, facts=Facts(**facts),  # type: ignore[arg-type]
                             language=language, redirect_uri="http://app/", lifespan=lifespan)


def _acme_admin(service: AccessAdministration) -> Actor:
    return _person(service, "anna", Assignment.of("external", "client-user", "administrator",
                                                   tenants=["dossier-acme"]))


def _delivery(tenant: str) -> dict[str, object]:
    return {"status": "client-user", "profiles": ("document-delivery",),
            "tenants": frozenset({tenant})}


# -- invite ------------------------------------------------------------------------------

def test_invite_creates_one_user_with_actions_attributes_groups_then_mails() -> None:
    service, directory, _ = _setup("000")
    result = service.invite(OPERATOR, _request(
        "Claire@Example.com", status="client", language="fr",
        perimeter={"project": ("p1", "p2"), "team": ("t1",)}))
    assert result.outcome == "invited"
    invitation = result.invitation
    assert (invitation.email, invitation.state, invitation.language) == (
        "claire@example.com", "pending", "fr")
    account = directory.accounts[invitation.id]
    assert account.required_actions == ("UPDATE_PASSWORD", "VERIFY_EMAIL")
    assert account.attributes["user_type"] == ("external",)  # from the status
    assert account.attributes["perimeter.project"] == ("p1", "p2")
    assert account.attributes["locale"] == ("fr",)
    assert account.attributes[INVITED_BY] == ("operator:test",)
    assert account.attributes[EXPIRES_AT] == (invitation.expires_at,)
    assert invitation.expires_at == "2027-01-15T09:00:00Z"  # T0 + 3600 s
    assert directory.groups[invitation.id] == {"/bridge/catalog/status/client"}
    [sent] = directory.sent
    assert (sent.actions, sent.client_id, sent.redirect_uri, sent.lifespan) == (
        ["UPDATE_PASSWORD", "VERIFY_EMAIL"], "portal", "http://app/", 3600)


def test_mfa_status_adds_otp_enrolment_to_the_activation() -> None:
    service, directory, _ = _setup("003")
    result = service.invite(OPERATOR, _request(
        "tech@example.com", status="external-technician",
        profiles=("external-technician",)))
    assert directory.sent[0].actions == ["UPDATE_PASSWORD", "VERIFY_EMAIL", "CONFIGURE_TOTP"]
    assert "CONFIGURE_TOTP" in directory.accounts[result.invitation.id].required_actions


@pytest.mark.parametrize(("facts", "rule"), [
    ({"status": "client", "toggles": frozenset({"manage-alerts"})},
     "status.forbidden-permission"),
    ({"status": "partner"}, "unknown.status"),
    ({"status": "client", "perimeter": {"building": ("b1",)}}, "unknown.dimension"),
    ({"status": "client", "user_type": "internal"}, "status.user-type"),
])
def test_operator_writes_still_obey_every_catalog_rule(facts: dict[str, object],
                                                       rule: str) -> None:
    service, directory, _ = _setup("000")
    with pytest.raises(RuleRefused) as refused:
        service.invite(OPERATOR, _request("x@example.com", **facts))
    assert refused.value.code == rule and refused.value.status == 400
    assert directory.accounts == {} and directory.sent == []


@pytest.mark.parametrize(("email", "language", "lifespan"), [
    ("not-an-email", "en", 60), ("a@example.com", "de", 60), ("a@example.com", "en", 0)])
def test_invalid_requests(email: str, language: str, lifespan: int) -> None:
    service, _, _ = _setup("000")
    with pytest.raises(InvalidRequest):
        service.invite(OPERATOR, _request(email, status="client", language=language,
                                          lifespan=lifespan))


def test_existing_email_is_never_duplicated() -> None:
    service, directory, _ = _setup("004")
    admin = _acme_admin(service)
    first = service.invite(admin, _request("new@example.com", **_delivery("dossier-acme")))
    again = service.invite(admin, _request("NEW@example.com", **_delivery("dossier-acme")))
    assert again.outcome == "already-invited"
    assert again.invitation.id == first.invitation.id
    assert len(directory.sent) == 1

    with pytest.raises(Conflict) as active:  # the administrator's own e-mail
        service.invite(admin, _request("anna@example.com", **_delivery("dossier-acme")))
    assert active.value.code == "already-active"
    assert active.value.body == {"id": admin.user_id, "enabled": True}
    assert len(directory.accounts) == 2


def test_existing_account_out_of_reach_is_not_described() -> None:
    service, _, _ = _setup("004")
    _person(service, "olga", Assignment.of("external", "client-user", "document-delivery",
                                           tenants=["dossier-bakery"]))
    admin = _acme_admin(service)
    with pytest.raises(Conflict) as active:
        service.invite(admin, _request("olga@example.com", **_delivery("dossier-acme")))
    assert active.value.code == "already-active" and active.value.body == {}


def test_mail_failure_rolls_the_user_back() -> None:
    service, directory, _ = _setup("000")
    directory.fail["send_actions"] = kc.GatewayError("smtp", status=500, detail="Failed to "
                                                     "send execute actions email")
    with pytest.raises(Unavailable) as failed:
        service.invite(OPERATOR, _request("a@example.com", status="client", perimeter=P1))
    assert failed.value.code == "mail-unavailable" and failed.value.status == 503
    assert directory.accounts == {}

    directory.fail["send_actions"] = kc.GatewayError("bad", status=400,
                                                     detail="Invalid redirect uri.")
    # Keycloak's own text stays in the log: the refusal is in the bridge's words.
    with pytest.raises(InvalidRequest, match="activation link cannot be made") as refused:
        service.invite(OPERATOR, _request("a@example.com", status="client", perimeter=P1))
    assert "Invalid redirect uri" not in refused.value.detail
    assert directory.accounts == {}


# -- delegation --------------------------------------------------------------------------

def test_004_administrator_only_within_its_own_dossier() -> None:
    service, directory, _ = _setup("004")
    admin = _acme_admin(service)
    assert service.invite(admin, _request("a@example.com",
                                          **_delivery("dossier-acme"))).outcome == "invited"
    with pytest.raises(AccessDenied) as other:
        service.invite(admin, _request("b@example.com", **_delivery("dossier-bakery")))
    assert other.value.code == "delegation.tenant" and other.value.status == 403
    full = _person(service, "fred", Assignment.of("external", "client-user", "full-access",
                                                  tenants=["dossier-acme"]))
    with pytest.raises(AccessDenied) as by_full:
        service.invite(full, _request("c@example.com", **_delivery("dossier-acme")))
    assert by_full.value.code == "delegation.not-allowed"
    assert {a.email for a in directory.accounts.values()} == {
        "anna@example.com", "fred@example.com", "a@example.com"}


def test_001_client_access_granters_invite_contacts_only() -> None:
    service, _, _ = _setup("001")
    granter = _person(service, "gus", Assignment.of(
        "internal", "employee", "employee", toggles=["may-grant-client-access"]))
    plain = _person(service, "pia", Assignment.of("internal", "employee", "employee"))
    contact = {"status": "contact", "profiles": ("client-basic",),
               "perimeter": {"company": ("acme",)}}
    assert service.invite(granter, _request("c@example.com", **contact)).outcome == "invited"
    with pytest.raises(AccessDenied, match="may not invite"):
        service.invite(plain, _request("d@example.com", **contact))
    with pytest.raises(AccessDenied) as employee:
        service.invite(granter, _request("e@example.com", status="employee",
                                         profiles=("employee",)))
    assert employee.value.code == "delegation.not-allowed"


def test_000_manager_gives_only_what_it_sees() -> None:
    service, _, _ = _setup("000")
    manager = _person(service, "max", Assignment.of("internal", "manager",
                                                    perimeter={"project": ["p1"]}))
    service.invite(manager, _request("in@example.com", status="client",
                                     perimeter={"position": ("p1/gate-3",)}))
    with pytest.raises(AccessDenied) as outside:
        service.invite(manager, _request("out@example.com", status="client",
                                         perimeter={"project": ("p2",)}))
    assert outside.value.code == "delegation.perimeter"


def test_inactive_or_uncatalogued_actors_are_refused() -> None:
    service, directory, _ = _setup("004")
    disabled = directory.add("dis", "dis@example.com", user_state(
        service.catalog, Assignment.of("external", "client-user", "administrator",
                                       tenants=["dossier-acme"])).attribute_lists(),
        enabled=False)
    with pytest.raises(AccessDenied) as inactive:
        service.actor_for_user(disabled)
    assert inactive.value.code == "actor.inactive"
    plain = directory.add("plain", "plain@example.com", {})
    with pytest.raises(AccessDenied):
        service.actor_for_user(plain)
    with pytest.raises(AccessDenied):
        service.actor_for_user("missing")


# -- pending: list, expiry, resend, revoke -------------------------------------------------

def test_list_expiry_resend_and_revoke() -> None:
    service, directory, clock = _setup("004")
    admin = _acme_admin(service)
    mine = service.invite(admin, _request("a@example.com", **_delivery("dossier-acme")))
    service.invite(OPERATOR, _request("b@example.com", **_delivery("dossier-bakery")))

    assert [i.email for i in service.list_invitations(admin).items] == ["a@example.com"]
    assert len(service.list_invitations(OPERATOR).items) == 2
    clock.now += 3601
    assert [i.state for i in service.list_invitations(admin).items] == ["expired"]
    assert service.list_invitations(admin, include_expired=False).items == []

    resent = service.resend(admin, mine.invitation.id, 600)
    assert resent.state == "pending"
    assert resent.sent_at == "2027-01-15T09:00:01Z"
    assert resent.invited_by == "user:anna"
    assert [s.lifespan for s in directory.sent] == [3600, 3600, 600]

    service.revoke(admin, mine.invitation.id)
    assert mine.invitation.id not in directory.accounts
    with pytest.raises(NotFound):
        service.revoke(admin, mine.invitation.id)


def test_activated_users_are_not_pending() -> None:
    service, directory, _ = _setup("004")
    admin = _acme_admin(service)
    invited = service.invite(admin, _request("a@example.com", **_delivery("dossier-acme")))
    account = directory.accounts[invited.invitation.id]
    directory.accounts[account.id] = type(account)(**{**account.__dict__,
                                                      "required_actions": ()})
    assert service.list_invitations(admin).items == []
    with pytest.raises(Conflict) as resend:
        service.resend(admin, account.id)
    assert resend.value.code == "not-pending"
    with pytest.raises(Conflict):
        service.revoke(admin, account.id)
    with pytest.raises(Conflict) as again:
        service.invite(admin, _request("a@example.com", **_delivery("dossier-acme")))
    assert again.value.code == "already-active"


def test_paging_reports_the_next_offset() -> None:
    service, _, _ = _setup("000")
    for n in range(5):
        service.invite(OPERATOR, _request(f"u{n}@example.com", status="client", perimeter=P1))
    page = service.list_invitations(OPERATOR, 0, 2)
    assert (len(page.items), page.next) == (2, 2)
    last = service.list_invitations(OPERATOR, 4, 2)
    assert (len(last.items), last.next) == (1, None)
    with pytest.raises(InvalidRequest):
        service.list_invitations(OPERATOR, 0, 0)


# -- lifecycle ---------------------------------------------------------------------------

def test_deactivate_ends_sessions_and_reactivate() -> None:
    service, directory, _ = _setup("004")
    admin = _acme_admin(service)
    target = _person(service, "dora", Assignment.of(
        "external", "client-user", "document-processing", tenants=["dossier-acme"]))
    assert target.user_id is not None
    user = service.deactivate(admin, target.user_id)
    assert user.enabled is False and directory.logged_out == [target.user_id]
    assert service.reactivate(admin, target.user_id).enabled is True
    with pytest.raises(Conflict) as itself:
        service.deactivate(admin, admin.user_id or "")
    assert itself.value.code == "lifecycle.self"


def test_update_moves_groups_recomputes_permissions_and_keeps_other_attributes() -> None:
    service, directory, _ = _setup("004")
    admin = _acme_admin(service)
    target = _person(service, "paul", Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-acme"]))
    user_id = target.user_id or ""
    account = directory.accounts[user_id]
    directory.accounts[user_id] = type(account)(**{**account.__dict__, "attributes": {
        **account.attributes, "scim.externalId": ("hr-1",)}})
    directory.groups[user_id].add("/bridge/scim/sales")

    user = service.update(admin, user_id, Profile(facts=Facts(profiles=("full-access",)),
                                                  language="fr"))
    assert user.assignment is not None and user.assignment.profiles == ("full-access",)
    assert "payments.use" in user.permissions and "figures.view" in user.permissions
    stored = directory.accounts[user_id].attributes
    assert stored["scim.externalId"] == ("hr-1",) and stored["locale"] == ("fr",)
    assert directory.groups[user_id] == {
        "/bridge/scim/sales", "/bridge/catalog/profile/full-access",
        "/bridge/catalog/status/client-user"}  # the dossier: an organization, not a group
    assert stored["tenants"] == ("dossier-acme",)

    with pytest.raises(AccessDenied) as moved:
        service.update(admin, user_id, Profile(facts=Facts(tenants=frozenset(
            {"dossier-bakery"}))))
    assert moved.value.code == "delegation.tenant"
    with pytest.raises(RuleRefused) as unknown:
        service.update(admin, user_id, Profile(facts=Facts(profiles=("superuser",))))
    assert unknown.value.code == "unknown.profile"


def test_activated_user_loses_the_pending_marker_on_its_next_write() -> None:
    service, directory, _ = _setup("000")
    invited = service.invite(OPERATOR, _request("a@example.com", status="client", perimeter=P1))
    account = directory.accounts[invited.invitation.id]
    directory.accounts[account.id] = type(account)(**{**account.__dict__,
                                                      "required_actions": ()})
    service.update(OPERATOR, account.id, Profile(first_name="Ann"))
    assert PENDING not in directory.accounts[account.id].attributes


# -- audit -------------------------------------------------------------------------------

def test_every_action_is_one_json_audit_line_without_secrets(
        caplog: pytest.LogCaptureFixture) -> None:
    service, directory, _ = _setup("004")
    admin = _acme_admin(service)
    caplog.set_level(logging.INFO, logger="bridge.audit")
    invited = service.invite(admin, _request("a@example.com", **_delivery("dossier-acme")))
    with pytest.raises(AccessDenied):
        service.invite(admin, _request("b@example.com", **_delivery("dossier-bakery")))
    service.deactivate(admin, invited.invitation.id)
    directory.fail["delete"] = kc.Unavailable("down")
    with pytest.raises(kc.Unavailable):
        service.delete(admin, invited.invitation.id)

    lines = audit_events(caplog.records)
    assert [(x["action"], x["outcome"], x.get("result")) for x in lines] == [
        ("invitation.create", "ok", "invited"), ("invitation.create", "refused", None),
        ("user.deactivate", "ok", "deactivated"), ("user.delete", "failed", None)]
    assert lines[0]["actor"] == "user:anna"
    assert lines[0]["target"] == {"email": "a@example.com", "id": invited.invitation.id}
    assert lines[1]["code"] == lines[1]["rule"] == "delegation.tenant"
    assert all({"time", "actor", "action", "target", "outcome"} <= set(x) for x in lines)
    text = caplog.text.lower()
    assert "password" not in text and "token" not in text and "http" not in text


def test_004_a_change_for_one_dossier_removes_no_other() -> None:
    service, directory, _ = _setup("004")
    two = _person(service, "tom", Assignment.of(
        "external", "client-user", "document-delivery",
        tenants=["dossier-acme", "dossier-bakery"])).user_id
    assert two is not None
    with pytest.raises(RuleRefused) as refused:
        service.update(OPERATOR, two, Profile(Facts(profiles=("full-access",),
                                                    for_tenants=frozenset({"dossier-acme"}))))
    assert refused.value.code == "profile.per-tenant"
    assert directory.accounts[two].attributes["profiles"] == ("document-delivery",)
    # The user's own profile "for one dossier" is no change; a dossier named is added.
    same = service.update(OPERATOR, two, Profile(Facts(
        profiles=("document-delivery",), for_tenants=frozenset({"dossier-carpentry"}))))
    assert same.assignment is not None and same.assignment.tenants == {
        "dossier-acme", "dossier-bakery", "dossier-carpentry"}
    assert directory.logged_out == []  # nothing was removed: the sessions stay
    left = service.update(OPERATOR, two, Profile(Facts(
        remove_tenants=frozenset({"dossier-bakery"}))))
    assert left.assignment is not None and left.assignment.tenants == {
        "dossier-acme", "dossier-carpentry"}
    assert directory.logged_out == [two]  # a dossier left: its sessions end


def test_lifecycle_writes_take_the_scim_backends_user_lock() -> None:
    """A change through /api/v1 and one through SCIM (on any replica) never interleave
    their read-modify-write: both take the user's lock, under the same key."""
    import threading

    from bridge.locks import LocalLocks, user_key
    from bridge.provisioning import KeycloakScimBackend

    service, _, _ = _setup("004")
    admin = _acme_admin(service)
    target = _person(service, "lena", Assignment.of(
        "external", "client-user", "document-processing", tenants=["dossier-acme"]))
    assert target.user_id is not None
    service.locks = LocalLocks(timeout=0.2)
    service.lock_scope = "access"
    scim = KeycloakScimBackend(None, "access", locks=service.locks)  # type: ignore[arg-type]
    assert scim._key("user", target.user_id) == user_key("access", target.user_id)
    held, release = threading.Event(), threading.Event()

    def scim_write_in_progress() -> None:
        with service.locks.hold(user_key("access", target.user_id or "")):
            held.set()
            release.wait(5)

    writer = threading.Thread(target=scim_write_in_progress)
    writer.start()
    held.wait(5)
    with pytest.raises(Unavailable) as busy:
        service.deactivate(admin, target.user_id)
    assert busy.value.code == "busy"
    release.set()
    writer.join()
    assert service.deactivate(admin, target.user_id).enabled is False
