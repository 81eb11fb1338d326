"""The access-request use-cases (:class:`AccessRequests`): a user of the product asks for a
new user of one of its tenants; the tenant's responsible (a person, or every holder of a
realm role) is mailed, signs in, and approves (the invitation is sent, the responsible
being the inviter, every catalog and delegation rule checked) or declines (the requester is
mailed the reason). Every step is one audit event."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Protocol

from bridge.access_requests import model, words
from bridge.access_requests.mail import Mail, Mailer, MailUnavailable
from bridge.access_requests.model import (
    APPROVED,
    DECLINED,
    EXPIRED,
    MAX_EMAIL,
    MAX_NAME,
    MAX_REASON,
    PENDING,
    AccessRequest,
)
from bridge.catalog.model import Assignment
from bridge.catalog.rules import RuleViolation, check_assignment
from bridge.invitations import (
    AccessAdministration,
    AccessDenied,
    Actor,
    Conflict,
    Facts,
    InvalidRequest,
    InvitationRequest,
    NotFound,
    RuleRefused,
    Unavailable,
)
from bridge.invitations.audit import Audited
from bridge.invitations.errors import refusal
from bridge.invitations.values import LOCALE, Account, InviteResult, iso_utc
from bridge.keycloak.limits import email_problem
from bridge.locks import LockTimeout, LockUnavailable, user_key

logger = logging.getLogger("bridge.access_requests")

LIFESPAN = 7 * 24 * 3600
"""Seconds a request waits for its responsible before it expires (7 days; advertised in the
API's answers as ``expires_at`` and in docs/access-catalog.md)."""
MAX_PENDING = 10
"""Pending requests one requester may have at once (409 ``request.too-many`` beyond)."""
MAX_KEPT = 20
"""Requests kept on one requester, decided ones included; the oldest decided or expired
one is dropped to make room."""
MAX_RESPONSIBLES = 20
"""The most holders of a responsible role one request is mailed to."""


@dataclass(frozen=True)
class RequestTenant:
    """What a request needs of its tenant (from the live tenant store)."""

    alias: str
    label: str
    responsible: str | None = None
    """``user:<username>`` or ``role:<realm role>`` (the org attribute
    ``bridge.responsible``)."""
    suspended: bool = False


class Tenants(Protocol):
    def find(self, alias: str) -> RequestTenant | None:
        """The tenant, read fresh; None when it does not exist."""


@dataclass(frozen=True)
class Person:
    id: str
    username: str
    email: str
    name: str
    locale: str | None = None


class People(Protocol):
    """Who the responsibles are (Keycloak in production)."""

    def get(self, user_id: str) -> Person | None: ...

    def by_username(self, username: str) -> Person | None: ...

    def holders(self, role: str, max: int) -> list[Person]:
        """Up to ``max`` users holding realm role ``role`` (directly), by username."""

    def holds(self, user_id: str, role: str) -> bool:
        """Whether the user holds realm role ``role`` (directly, by group or composite)."""


@dataclass(frozen=True)
class NewRequest:
    tenant: str
    email: str
    first_name: str
    last_name: str
    profile: str
    language: str | None = None
    """The invitee's language (default: the requester's)."""


@dataclass(frozen=True)
class Review:
    """What the review page shows: the request, its tenant's label and the profiles the
    responsible may grant (the one asked and every lower one of the same status)."""

    request: AccessRequest
    state: str
    tenant_label: str
    requester_name: str
    grantable: tuple[tuple[str, str], ...]
    """``(name, label)``, highest first."""


@dataclass(frozen=True)
class Approval:
    request: AccessRequest
    invitation: InviteResult


def person_of(account: Account) -> Person:
    name = " ".join(n for n in (account.first_name, account.last_name) if n)
    return Person(account.id, account.username, account.email, name or account.username,
                  account.first(LOCALE))


class AccessRequests:
    """Access requests over the invitation use-cases (their directory, catalog and locks)."""

    def __init__(self, administration: AccessAdministration, tenants: Tenants,
                 people: People, mailer: Mailer, *, review_url: Callable[[str], str],
                 product: Callable[[], str] = lambda: "SaaS access",
                 clock: Callable[[], float] = time.time, lifespan: int = LIFESPAN) -> None:
        self.administration = administration
        self.directory = administration.directory
        self.catalog = administration.catalog
        self.tenants = tenants
        self.people = people
        self.mailer = mailer
        self.review_url = review_url
        self.product = product
        self.clock = clock
        self.lifespan = lifespan

    # -- locks: the requester's user lock (the same as every writer of that user takes)

    @contextlib.contextmanager
    def _lock(self, user_id: str) -> Iterator[None]:
        admin = self.administration
        try:
            with admin.locks.hold(user_key(admin.lock_scope, user_id)):
                yield
        except LockTimeout:
            raise Unavailable("another change of this request is in progress; retry",
                              code="busy") from None
        except LockUnavailable:
            raise Unavailable("the lock service is unreachable; retry later",
                              code="lock-unavailable") from None

    def _now(self) -> str:
        return iso_utc(self.clock())

    # -- asking

    def submit(self, actor: Actor, new: NewRequest) -> AccessRequest:
        email = new.email.strip().lower()
        target = {"email": email, "tenant": new.tenant}
        with Audited(actor, "access-request.create", target) as audit:
            if not actor.delegated or actor.assignment is None or actor.user_id is None:
                raise InvalidRequest("only a user of the product requests access; an "
                                     "operator invites directly (`bridge invite`)")
            self._check_new(new, email)
            if new.tenant not in actor.assignment.tenants:
                raise AccessDenied(f"the requester is not a member of {new.tenant!r}",
                                   code="request.not-member")
            tenant = self._tenant(new.tenant)
            status = actor.assignment.status
            try:
                check_assignment(self.catalog, Assignment.of(
                    actor.assignment.user_type, status, new.profile, tenants=[new.tenant]))
            except RuleViolation as exc:
                raise refusal(exc) from None
            recipients = self._responsibles(tenant)
            requester = self.directory.get(actor.user_id)
            if requester is None:
                raise AccessDenied("the requester no longer exists", code="actor.inactive")
            now = self.clock()
            request = AccessRequest(
                id=model.new_id(actor.user_id), requester_id=actor.user_id,
                requester=actor.name, tenant=new.tenant, email=email,
                first_name=new.first_name.strip(), last_name=new.last_name.strip(),
                profile=new.profile, status=status,
                language=words.language(new.language or requester.first(LOCALE)),
                created_at=iso_utc(now), expires_at=iso_utc(now + self.lifespan))
            target["id"] = request.id
            self._store_new(request)
            sent = 0
            for person in recipients:
                try:
                    self.mailer.send(self._ask_mail(request, tenant, person, actor))
                    sent += 1
                except MailUnavailable:
                    continue
            if not sent:
                self._forget(request)
                raise Unavailable("the request could not be mailed to its responsible; "
                                  "retry later", code="mail-unavailable")
            return audit.done(request, result="requested")

    def _check_new(self, new: NewRequest, email: str) -> None:
        problem = email_problem(email)
        if problem:
            raise InvalidRequest(f"email {problem}")
        if len(email) > MAX_EMAIL:
            raise InvalidRequest(f"email is longer than {MAX_EMAIL} characters")
        for name, value in (("first_name", new.first_name), ("last_name", new.last_name)):
            if not value.strip() or len(value) > MAX_NAME or "\n" in value:
                raise InvalidRequest(f"{name} must be 1 to {MAX_NAME} characters on one line")
        if new.language is not None and new.language not in words.LANGUAGES:
            raise InvalidRequest(f"language {new.language!r} is not offered (offered: "
                                 f"{', '.join(words.LANGUAGES)})")

    def _tenant(self, alias: str) -> RequestTenant:
        tenant = self.tenants.find(alias)
        if tenant is None:
            raise RuleRefused(f"no tenant {alias!r}", code="unknown.tenant")
        if tenant.suspended:
            raise Conflict(f"tenant {alias!r} is suspended", code="tenant.suspended")
        return tenant

    def _responsibles(self, tenant: RequestTenant) -> list[Person]:
        kind, _, name = (tenant.responsible or "").partition(":")
        found: list[Person] = []
        if kind == "user" and name:
            person = self.people.by_username(name)
            found = [person] if person is not None else []
        elif kind == "role" and name:
            found = self.people.holders(name, MAX_RESPONSIBLES)
        found = [p for p in found if p.email]
        if not found:
            raise Conflict(f"tenant {tenant.alias!r} names no responsible who can be mailed "
                           "(its attribute bridge.responsible)", code="request.no-responsible")
        return found

    def _store_new(self, request: AccessRequest) -> None:
        with self._lock(request.requester_id):
            account = self._requester(request.requester_id)
            kept = model.requests_of(account.id, account.attributes)
            now = self._now()
            pending = [r for r in kept if r.state_at(now) == PENDING]
            for other in pending:
                if (other.email, other.tenant) == (request.email, request.tenant):
                    raise Conflict("a pending request already asks for this person in this "
                                   "tenant", code="request.duplicate", body={"id": other.id})
            if len(pending) >= MAX_PENDING:
                raise Conflict(f"at most {MAX_PENDING} requests may be pending at once",
                               code="request.too-many")
            attributes = dict(account.attributes)
            done = [r for r in kept if r.state_at(now) != PENDING]
            while len(kept) >= MAX_KEPT and done:
                oldest = done.pop(0)
                kept.remove(oldest)
                attributes.pop(oldest.attribute, None)
            try:
                attributes[request.attribute] = model.to_values(request)
            except ValueError as exc:
                raise InvalidRequest(str(exc)) from None
            attributes[model.REQUESTER] = ("true",)
            self.directory.update(replace(account, attributes=attributes))

    def _forget(self, request: AccessRequest) -> None:
        """Take back a request nobody was told of."""
        with self._lock(request.requester_id):
            account = self.directory.get(request.requester_id)
            if account is not None and request.attribute in account.attributes:
                attributes = dict(account.attributes)
                attributes.pop(request.attribute)
                self.directory.update(replace(account, attributes=attributes))

    def _requester(self, user_id: str) -> Account:
        account = self.directory.get(user_id)
        if account is None:
            raise NotFound("no such access request")
        return account

    # -- reading

    def get(self, request_id: str) -> AccessRequest:
        """The request (forged or unknown id: :class:`NotFound`)."""
        parts = model.split_id(request_id)
        if parts is None:
            raise NotFound("no such access request")
        account = self.directory.get(parts[0])
        values = account.attributes.get(model.PREFIX + parts[1]) if account else None
        request = model.from_values(parts[0], parts[1], values) if values else None
        if request is None:
            raise NotFound("no such access request")
        return request

    def state(self, request: AccessRequest) -> str:
        return request.state_at(self._now())

    def mine(self, actor: Actor) -> list[AccessRequest]:
        """The actor's own requests (what ``GET /api/v1/access-requests`` lists)."""
        if actor.user_id is None:
            return []
        account = self.directory.get(actor.user_id)
        return model.requests_of(actor.user_id, account.attributes) if account else []

    def list(self, *, state: str | None = None, tenant: str | None = None, first: int = 0,
             max: int = 50) -> tuple[list[AccessRequest], int | None]:
        """Operators: the requests of one page of requesters (``max`` users) and the
        ``first`` of the next page (None at the end)."""
        if first < 0 or not 1 <= max <= 200:
            raise InvalidRequest("first must be >= 0 and max between 1 and 200")
        if state is not None and state not in model.STATES:
            raise InvalidRequest(f"state is one of {', '.join(model.STATES)}")
        accounts = self.directory.with_attribute(model.REQUESTER, "true", first, max)
        now = self._now()
        found = [r for a in accounts for r in model.requests_of(a.id, a.attributes)
                 if (state is None or r.state_at(now) == state)
                 and (tenant is None or r.tenant == tenant)]
        return found, first + max if len(accounts) == max else None

    # -- deciding

    def is_responsible(self, request: AccessRequest, user_id: str) -> bool:
        tenant = self.tenants.find(request.tenant)
        kind, _, name = ((tenant.responsible if tenant else None) or "").partition(":")
        if kind == "user" and name:
            person = self.people.get(user_id)
            return person is not None and person.username.lower() == name.lower()
        if kind == "role" and name:
            return self.people.holds(user_id, name)
        return False

    def review(self, request_id: str, reviewer_id: str) -> Review:
        """The request as its responsible sees it (another person: AccessDenied)."""
        request = self.get(request_id)
        self._check_reviewer(request, reviewer_id)
        tenant = self.tenants.find(request.tenant)
        requester = self.directory.get(request.requester_id)
        return Review(request, self.state(request),
                      tenant.label if tenant and tenant.label else request.tenant,
                      person_of(requester).name if requester else request.requester,
                      self._grantable(request))

    def _check_reviewer(self, request: AccessRequest, reviewer_id: str | None) -> None:
        if reviewer_id is not None and not self.is_responsible(request, reviewer_id):
            raise AccessDenied("only the responsible of this request's tenant may decide on "
                               "it", code="request.not-responsible")

    def _grantable(self, request: AccessRequest) -> tuple[tuple[str, str], ...]:
        profiles = self.catalog.profile_by_name
        asked = profiles.get(request.profile)
        status = self.catalog.status_by_name.get(request.status)
        if asked is None or status is None:
            return ()
        names = [p for p in status.profiles if p in profiles
                 and profiles[p].rank <= asked.rank]
        ordered = sorted(names, key=lambda p: -profiles[p].rank)
        return tuple((p, profiles[p].label or p) for p in ordered)

    def _pending(self, request_id: str, actor: Actor, reviewer_id: str | None,
                 target: dict[str, str]) -> AccessRequest:
        request = self.get(request_id)
        target.update(email=request.email, tenant=request.tenant)
        self._check_reviewer(request, reviewer_id)
        state = self.state(request)
        if state == EXPIRED:
            raise Conflict(f"this request expired at {request.expires_at}",
                           code="request.expired")
        if state != PENDING:
            raise Conflict(f"this request was already {state} by {request.decided_by}",
                           code="request.decided")
        return request

    def approve(self, actor: Actor, request_id: str, profile: str | None = None, *,
                reviewer_id: str | None = None) -> Approval:
        """Invite the person asked for, with ``profile`` (default: the one asked; never a
        higher one), ``actor`` inviting. ``reviewer_id``: the signed-in person, who must be
        the responsible (None: an operator through the CLI)."""
        target = {"id": request_id}
        with Audited(actor, "access-request.approve", target) as audit:
            parts = model.split_id(request_id)
            if parts is None:
                raise NotFound("no such access request")
            with self._lock(parts[0]):
                request = self._pending(request_id, actor, reviewer_id, target)
                granted = profile or request.profile
                if granted not in dict(self._grantable(request)):
                    raise RuleRefused(f"profile {granted!r} is not the one asked "
                                      f"({request.profile!r}) nor a lower one",
                                      code="request.profile")
                invited = self.administration.invite(actor, InvitationRequest(
                    email=request.email, facts=Facts(
                        status=request.status, profiles=(granted,),
                        tenants=frozenset({request.tenant})),
                    language=request.language, first_name=request.first_name,
                    last_name=request.last_name))
                decided = request.decided(
                    state=APPROVED, decided_by=actor.name, decided_at=self._now(),
                    granted_profile=granted, invitee_id=invited.invitation.id)
                self._write(decided)
            return audit.done(Approval(decided, invited), result="approved")

    def decline(self, actor: Actor, request_id: str, reason: str, *,
                reviewer_id: str | None = None) -> AccessRequest:
        """Decline: no account is made; the requester is mailed ``reason``."""
        target = {"id": request_id}
        with Audited(actor, "access-request.decline", target) as audit:
            reason = " ".join(reason.split())
            if not reason or len(reason) > MAX_REASON:
                raise InvalidRequest(f"a reason of 1 to {MAX_REASON} characters is required")
            parts = model.split_id(request_id)
            if parts is None:
                raise NotFound("no such access request")
            with self._lock(parts[0]):
                request = self._pending(request_id, actor, reviewer_id, target)
                decided = request.decided(state=DECLINED, decided_by=actor.name,
                                          decided_at=self._now(), reason=reason)
                self._write(decided)
            told = self._tell_declined(decided, actor)
            return audit.done(decided, result="declined" if told else "declined-unmailed")

    def _write(self, request: AccessRequest) -> None:
        account = self._requester(request.requester_id)
        attributes = dict(account.attributes)
        attributes[request.attribute] = model.to_values(request)
        self.directory.update(replace(account, attributes=attributes))

    # -- mails

    def _tenant_words(self, alias: str, label: str | None = None) -> str:
        kind = self.catalog.tenancy.label if self.catalog.tenancy else "tenant"
        return f"{kind} {label or alias}"

    def _profile_label(self, name: str) -> str:
        profile = self.catalog.profile_by_name.get(name)
        return (profile.label if profile and profile.label else name)

    def _ask_mail(self, request: AccessRequest, tenant: RequestTenant, person: Person,
                  actor: Actor) -> Mail:
        lang = words.language(person.locale)
        url = self.review_url(request.id)
        values = {"product": self.product(), "tenant": self._tenant_words(tenant.alias,
                                                                         tenant.label),
                  "requester": actor.shown_name,
                  "person": f"{request.first_name} {request.last_name}",
                  "email": request.email, "profile": self._profile_label(request.profile),
                  "date": words.date(request.expires_at, lang)}
        return Mail(to=person.email, language=lang,
                    subject=words.say(lang, "ask.subject", **values),
                    paragraphs=[words.say(lang, "ask.body", **values),
                                words.say(lang, "ask.who", **values),
                                words.say(lang, "ask.expires", **values)],
                    links=[(words.say(lang, "ask.approve"), url),
                           (words.say(lang, "ask.decline"), f"{url}?decision=decline")])

    def _tell_declined(self, request: AccessRequest, actor: Actor) -> bool:
        requester = self.directory.get(request.requester_id)
        if requester is None or not requester.email:
            return False
        lang = words.language(requester.first(LOCALE))
        tenant = self.tenants.find(request.tenant)
        values = {"product": self.product(), "decider": actor.shown_name,
                  "person": f"{request.first_name} {request.last_name}",
                  "email": request.email, "reason": request.reason or "",
                  "tenant": self._tenant_words(request.tenant,
                                               tenant.label if tenant else None)}
        try:
            self.mailer.send(Mail(
                to=requester.email, language=lang,
                subject=words.say(lang, "declined.subject", **values),
                paragraphs=[words.say(lang, "declined.body", **values),
                            words.say(lang, "declined.reason", **values)]))
        except MailUnavailable:
            logger.warning("the requester of %s could not be mailed the decline", request.id)
            return False
        return True
