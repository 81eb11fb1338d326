"""Invitations and lifecycle: the use-cases behind ``/api/v1`` and ``bridge invite``/``user``.

An **invitation** is a Keycloak user that has not activated its account yet. Inviting:

1. the catalog checks the facts (:func:`bridge.catalog.rules.check_assignment`) and, when a
   user of the product acts, whether it may give them (``check_delegation``: seed 004's
   dossier Administrators within their own dossiers, seed 001's "may grant client access",
   never a profile above the actor's own nor a perimeter outside it);
2. one ``POST /users`` creates the user, enabled, with its e-mail, ``locale``, the catalog's
   attributes and groups (``mapping.user_state``), the invitation's own attributes
   (``invitation.*``, below) and the required actions UPDATE_PASSWORD and VERIFY_EMAIL
   (+ CONFIGURE_TOTP where the catalog requires MFA, seed 003);
3. Keycloak mails the activation link (``execute-actions-email`` with a lifespan) in the
   invitee's language: the ``locale`` attribute chooses the template (en, fr). If the mail
   cannot be sent, the user is deleted again: there is never an invitation nobody received.

An e-mail that already has an account never gets a second one: the outcome says whether it
is ``already-invited`` (pending) or ``already-active``.

**Pending** = UPDATE_PASSWORD still required and ``invitation.sentAt`` present; it is
**expired** once ``invitation.expiresAt`` is past (Keycloak refuses the link by then). Revoking
deletes the pending user, so its link leads nowhere. Resending mails a new link with a new
expiry (the previous link stays valid until its own expiry: Keycloak's action tokens cannot be
revoked one by one).

**Lifecycle**: deactivate (disabled + every session ended: refresh tokens fail), reactivate,
delete, change profile, toggles, perimeter or tenants, through the same catalog path as SCIM
(attributes the catalog owns replaced, groups under ``/bridge/catalog`` reconciled, others
untouched).

**Actors**: an :class:`Actor` is either an operator (CLI, the bridge's service account: no
delegation check, every catalog rule still checked) or a user of the product whose facts
are read from its Keycloak user at each request (not from its token's claims, which may be
up to one token lifetime stale; a deactivated actor is refused at once).

**Audit**: every use-case writes one JSON line to the ``bridge.audit`` logger (time, actor,
action, target, outcome, and the rule of a refusal); never a token, password or link.

Keycloak is reached only through :class:`Directory`, whose Keycloak implementation
(:class:`KeycloakDirectory`) calls the gateway functions of :mod:`bridge.keycloak.users` and
:mod:`bridge.keycloak.groups`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bridge.catalog.apply import apply_user_state, plan_user_state
from bridge.catalog.mapping import assignment_from_attributes, user_state
from bridge.catalog.model import Assignment, Catalog, PerimeterEntry
from bridge.catalog.rules import (
    RuleViolation,
    check_assignment,
    check_delegation,
    effective_permissions,
)
from bridge.keycloak import errors as kc
from bridge.keycloak import users as kc_users
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.limits import email_problem
from bridge.locks import LocalLocks, LockTimeout, LockUnavailable, ResourceLocks, user_key

audit_log = logging.getLogger("bridge.audit")
logger = logging.getLogger(__name__)

UPDATE_PASSWORD = "UPDATE_PASSWORD"  # noqa: S105 - a required action, not a secret
VERIFY_EMAIL = "VERIFY_EMAIL"
LOCALE = "locale"
INVITED_BY = "invitation.invitedBy"
SENT_AT = "invitation.sentAt"
EXPIRES_AT = "invitation.expiresAt"
CLIENT_ID = "invitation.clientId"
REDIRECT_URI = "invitation.redirectUri"
PENDING = "invitation.pending"
INVITATION_ATTRIBUTES = (INVITED_BY, SENT_AT, EXPIRES_AT, CLIENT_ID, REDIRECT_URI, PENDING)

DEFAULT_LIFESPAN = 259_200
"""Seconds an activation link lives by default: 3 days (the realm's
``actionTokenGeneratedByAdminLifespan``); always passed explicitly, so ``expiresAt`` is exact."""
MAX_LIFESPAN = 30 * 86_400
LANGUAGES = ("en", "fr")


# -- errors: one base, each with its wire identity (the API renders them, the CLI prints) --

class LifecycleError(Exception):
    """A refused or failed invitation or lifecycle action. ``code`` is stable (a catalog
    rule's name for rule violations), ``detail`` is for people; no secret in either."""

    status = 400
    code = "invalid-request"

    def __init__(self, detail: str, *, code: str | None = None,
                 body: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code or self.code}: {detail}")
        self.detail = detail
        if code is not None:
            self.code = code
        self.body = dict(body or {})


class InvalidRequest(LifecycleError):
    status, code = 400, "invalid-request"


class RuleRefused(LifecycleError):
    """A catalog rule refuses the facts (``code`` = the rule, e.g. ``status.profile``)."""

    status = 400


class AccessDenied(LifecycleError):
    """The actor may not do this (``delegation.*``, or not a user of the product)."""

    status, code = 403, "delegation.not-allowed"


class NotFound(LifecycleError):
    status, code = 404, "not-found"


class Conflict(LifecycleError):
    """The state forbids it (``already-active``, ``not-pending``...)."""

    status, code = 409, "conflict"


class Unavailable(LifecycleError):
    """Keycloak (or the mail server behind it) cannot do it now; retry later."""

    status, code = 503, "unavailable"


def _refusal(exc: RuleViolation) -> LifecycleError:
    if exc.rule.startswith("delegation."):
        return AccessDenied(exc.message, code=exc.rule)
    return RuleRefused(exc.message, code=exc.rule)


# -- values ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Account:
    """A user as the directory holds it (the bridge's view of a Keycloak user)."""

    id: str
    username: str
    email: str
    enabled: bool = True
    email_verified: bool = False
    first_name: str | None = None
    last_name: str | None = None
    attributes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    required_actions: tuple[str, ...] = ()

    def first(self, name: str) -> str | None:
        values = self.attributes.get(name) or ()
        return values[0] if values else None


@dataclass(frozen=True)
class NewAccount:
    """What one create call writes."""

    email: str
    first_name: str | None
    last_name: str | None
    attributes: Mapping[str, tuple[str, ...]]
    groups: frozenset[str]
    required_actions: tuple[str, ...]


class Directory(Protocol):
    """Where accounts live (Keycloak in production, memory in unit tests).

    Every method is one admin call unless said otherwise; errors are
    :mod:`bridge.keycloak.errors` (``NotFound``, ``Conflict``, ``Unavailable``,
    ``GatewayError`` with ``status``)."""

    def get(self, user_id: str) -> Account | None:
        """The account, or None when it does not exist."""

    def find_by_email(self, email: str) -> list[Account]:
        """Accounts with this e-mail (case-insensitive, exact)."""

    def invited(self, first: int, max: int) -> list[Account]:
        """One page of accounts carrying the ``invitation.pending`` marker, by username."""

    def with_attribute(self, name: str, value: str, first: int, max: int) -> list[Account]:
        """One page of accounts whose attribute ``name`` holds ``value`` (whole value,
        case-insensitive, as Keycloak compares), by username."""

    def count_with_attribute(self, name: str, value: str) -> int:
        """How many accounts :meth:`with_attribute` would list (bounds its pages)."""

    def groups_under(self, user_id: str, root: str) -> frozenset[str]:
        """The account's group paths under ``root`` (read only; usually one call)."""

    def create(self, account: NewAccount) -> str:
        """Create it in one write (groups and required actions included); return its id."""

    def update(self, account: Account) -> None:
        """Write names, enabled, attributes (replacing them all) and required actions."""

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        """Make the account's groups under ``root`` exactly ``wanted`` (paths); others are
        never touched. One read, then one call per change."""

    def delete(self, user_id: str) -> None: ...

    def send_actions(self, user_id: str, actions: list[str], client_id: str | None,
                     redirect_uri: str | None, lifespan: int) -> None:
        """Have Keycloak mail the account a link performing ``actions``."""

    def logout(self, user_id: str) -> None:
        """End every session of the account (refresh tokens stop working)."""


class DirectoryWriter:
    """:class:`bridge.catalog.apply.AccountWriter` over a :class:`Directory`: the update
    writes ``account`` (names, enabled... as given) with the planned attributes and
    required actions."""

    def __init__(self, directory: Directory, account: Account) -> None:
        self.directory = directory
        self.account = account

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        assert user_id == self.account.id
        self.directory.update(replace(
            self.account, attributes={k: tuple(v) for k, v in attributes.items()},
            required_actions=tuple(required_actions)))

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        self.directory.set_groups(user_id, root, wanted)

    def logout(self, user_id: str) -> None:
        self.directory.logout(user_id)


@dataclass(frozen=True)
class Actor:
    """Who acts. ``assignment`` None: an operator (no delegation check)."""

    name: str
    user_id: str | None = None
    assignment: Assignment | None = None

    @classmethod
    def operator(cls, name: str) -> Actor:
        return cls(f"operator:{name}")

    @property
    def delegated(self) -> bool:
        return self.user_id is not None


@dataclass(frozen=True)
class Facts:
    """The catalog facts of a request (``None``: not given, keep the current value)."""

    user_type: str | None = None
    status: str | None = None
    profiles: tuple[str, ...] | None = None
    toggles: frozenset[str] | None = None
    perimeter: Mapping[str, tuple[str, ...]] | None = None
    tenants: frozenset[str] | None = None
    """The user's tenants, replacing the current ones (every one is named)."""
    for_tenants: frozenset[str] | None = None
    """The tenants this change is for (the CLI's ``--tenant``, the API's ``tenant``): added
    to the user's, none removed. A profile given with them is still per user, for all its
    tenants (seed 004): when the user keeps tenants they do not name, a different profile
    is refused (``profile.per-tenant``) rather than changed in those too, silently."""
    remove_tenants: frozenset[str] | None = None
    """Tenants to leave (the CLI's ``--remove-tenant``): removal is always said."""

    def over(self, current: Assignment | None) -> Assignment:
        """These facts laid over ``current`` (a new user: over nothing)."""
        base = current or Assignment("", "")
        perimeter = base.perimeter if self.perimeter is None else frozenset(
            PerimeterEntry(d, v) for d, values in self.perimeter.items() for v in values)
        named = self.for_tenants or frozenset()
        tenants = base.tenants if self.tenants is None else self.tenants
        tenants = (tenants | named) - (self.remove_tenants or frozenset())
        profiles = base.profiles if self.profiles is None else self.profiles
        tenant_profiles: tuple[tuple[str, str], ...] = ()
        if named and self.profiles is not None and tenants - named:
            # "For these tenants" while others stay: the rule decides (same profile: fine).
            profiles = base.profiles
            tenant_profiles = tuple((t, p) for t in sorted(named) for p in self.profiles)
        return Assignment(
            user_type=base.user_type if self.user_type is None else self.user_type,
            status=base.status if self.status is None else self.status,
            profiles=profiles,
            toggles=base.toggles if self.toggles is None else self.toggles,
            perimeter=perimeter, tenants=tenants, tenant_profiles=tenant_profiles)


@dataclass(frozen=True)
class InvitationRequest:
    email: str
    facts: Facts
    language: str = "en"
    first_name: str | None = None
    last_name: str | None = None
    client_id: str | None = None
    """The client to return to after activation (default: the catalog's client)."""
    redirect_uri: str | None = None
    lifespan: int = DEFAULT_LIFESPAN


@dataclass(frozen=True)
class Profile:
    """A change of a user's profile data (PATCH): names, language and catalog facts."""

    facts: Facts = Facts()
    first_name: str | None = None
    last_name: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class User:
    """A user as the use-cases answer it (rendered by :class:`bridge.api.models.UserOut`)."""

    id: str
    username: str
    email: str
    enabled: bool
    activated: bool
    language: str | None
    first_name: str | None
    last_name: str | None
    assignment: Assignment | None
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class Invitation:
    """A pending (or expired) invitation (rendered by
    :class:`bridge.api.models.InvitationOut`)."""

    id: str
    email: str
    state: str  # pending | expired | activated
    language: str | None
    invited_by: str | None
    sent_at: str | None
    expires_at: str | None
    client_id: str | None
    redirect_uri: str | None
    assignment: Assignment | None


@dataclass(frozen=True)
class InviteResult:
    """``invited`` (a new invitation, mail sent) or ``already-invited`` (the pending one)."""

    outcome: str
    invitation: Invitation


@dataclass(frozen=True)
class Page:
    items: list[Invitation]
    first: int
    max: int
    next: int | None
    """Offset of the next page, None at the end. A page may hold fewer than ``max`` items
    (activated users and users outside the actor's reach are skipped)."""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_iso(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


# -- the use-cases ---------------------------------------------------------------------

class AccessAdministration:
    """Invitations and lifecycle over one directory, enforcing one catalog."""

    def __init__(self, directory: Directory, catalog: Catalog, *,
                 languages: Iterable[str] = LANGUAGES,
                 clock: Callable[[], float] = time.time,
                 locks: ResourceLocks | None = None, lock_scope: str = "") -> None:
        self.directory = directory
        self.catalog = catalog
        self.languages = tuple(languages)
        self.clock = clock
        # The SCIM backend's locks and scope (the realm): a user's read-modify-write here
        # and through SCIM, on any replica, never interleave (one lost the other's change).
        self.locks = locks or LocalLocks()
        self.lock_scope = lock_scope

    @contextlib.contextmanager
    def _user_lock(self, user_id: str) -> Iterator[None]:
        try:
            with self.locks.hold(user_key(self.lock_scope, user_id)):
                yield
        except LockTimeout:
            raise Unavailable("another change of this user is in progress; retry",
                              code="busy") from None
        except LockUnavailable:
            raise Unavailable("the lock service is unreachable; retry later",
                              code="lock-unavailable") from None

    # -- actors

    def actor_for_user(self, user_id: str, name: str | None = None) -> Actor:
        """The acting user's facts, read now from its account. Raises AccessDenied when it
        is gone, disabled, or holds no catalog status (it then cannot delegate)."""
        account = self.directory.get(user_id)
        if account is None or not account.enabled:
            raise AccessDenied("the acting user does not exist or is deactivated",
                               code="actor.inactive")
        assignment = self._assignment(account)
        if assignment is None:
            raise AccessDenied("the acting user has no status in the catalog: it may not "
                               "invite or change users")
        return Actor(f"user:{name or account.username}", account.id, assignment)

    # -- invitations

    def invite(self, actor: Actor, request: InvitationRequest) -> InviteResult:
        email = request.email.strip().lower()
        target = {"email": email}
        with _Audited(actor, "invitation.create", target) as audit:
            self._check_request(request, email)
            facts = request.facts
            if facts.status is None:
                raise InvalidRequest("status is required")
            if facts.user_type is None:
                # The status belongs to one user type (seed 000): it may be left out. (An
                # unknown status keeps any known type, so the refusal names the status.)
                status = self.catalog.status_by_name.get(facts.status)
                facts = replace(facts, user_type=status.user_type if status
                                else self.catalog.user_types[0])
            assignment = facts.over(None)
            self._check(actor, assignment)
            existing = self.directory.find_by_email(email)
            if existing:
                return audit.done(self._existing(actor, existing[0]))
            state = user_state(self.catalog, assignment)
            now = self.clock()
            client_id = request.client_id or self.catalog.client
            attributes = {**state.attributes, LOCALE: (request.language,),
                          **self._invitation_attributes(actor, now, request.lifespan,
                                                        client_id, request.redirect_uri)}
            actions = tuple(dict.fromkeys(
                [UPDATE_PASSWORD, VERIFY_EMAIL, *sorted(state.required_actions)]))
            try:
                user_id = self.directory.create(NewAccount(
                    email, request.first_name, request.last_name, attributes, state.groups,
                    actions))
            except kc.Conflict:
                raise Conflict("an account with this e-mail was created meanwhile",
                               code="already-exists") from None
            target["id"] = user_id
            self._send(user_id, list(actions), client_id, request.redirect_uri,
                       request.lifespan, rollback=True)
            invitation = self._invitation(self._must_get(user_id))
            return audit.done(InviteResult("invited", invitation))

    def list_invitations(self, actor: Actor, first: int = 0, max: int = 50,
                         include_expired: bool = True) -> Page:
        """Pending (and expired) invitations the actor may manage, one page."""
        if first < 0 or not 1 <= max <= 200:
            raise InvalidRequest("first must be >= 0 and max between 1 and 200")
        accounts = self.directory.invited(first, max)
        items = []
        for account in accounts:
            if not self._is_pending(account) or not self._may_manage(actor, account):
                continue
            invitation = self._invitation(account)
            if include_expired or invitation.state == "pending":
                items.append(invitation)
        return Page(items, first, max, first + max if len(accounts) == max else None)

    def get_invitation(self, actor: Actor, user_id: str) -> Invitation:
        return self._invitation(self._pending(actor, user_id, {"id": user_id}))

    def resend(self, actor: Actor, user_id: str, lifespan: int | None = None) -> Invitation:
        target = {"id": user_id}
        with _Audited(actor, "invitation.resend", target) as audit, self._user_lock(user_id):
            account = self._pending(actor, user_id, target)
            lifespan = DEFAULT_LIFESPAN if lifespan is None else lifespan
            self._check_lifespan(lifespan)
            client_id = account.first(CLIENT_ID) or self.catalog.client
            redirect_uri = account.first(REDIRECT_URI)
            now = self.clock()
            attributes = {**account.attributes, **self._invitation_attributes(
                actor, now, lifespan, client_id, redirect_uri)}
            attributes[INVITED_BY] = account.attributes.get(INVITED_BY) or (actor.name,)
            account = replace(account, attributes=attributes)
            self.directory.update(account)
            actions = [a for a in account.required_actions] or [UPDATE_PASSWORD]
            self._send(user_id, actions, client_id, redirect_uri, lifespan, rollback=False)
            return audit.done(self._invitation(account), outcome="resent")

    def revoke(self, actor: Actor, user_id: str) -> None:
        """Delete a pending invitee: its link then leads nowhere."""
        target = {"id": user_id}
        with _Audited(actor, "invitation.revoke", target) as audit, self._user_lock(user_id):
            self._pending(actor, user_id, target)
            self.directory.delete(user_id)
            audit.done(None, outcome="revoked")

    # -- lifecycle

    def get_user(self, actor: Actor, user_id: str) -> User:
        account = self._manageable(actor, user_id, {"id": user_id})
        return self._user(account)

    def deactivate(self, actor: Actor, user_id: str) -> User:
        """Disable, then end every session (refresh tokens fail at once)."""
        target = {"id": user_id}
        with _Audited(actor, "user.deactivate", target) as audit, self._user_lock(user_id):
            account = self._manageable(actor, user_id, target, not_self=True)
            if account.enabled:
                account = replace(account, enabled=False)
                self.directory.update(account)
            self.directory.logout(user_id)
            return audit.done(self._user(account), outcome="deactivated")

    def reactivate(self, actor: Actor, user_id: str) -> User:
        target = {"id": user_id}
        with _Audited(actor, "user.reactivate", target) as audit, self._user_lock(user_id):
            account = self._manageable(actor, user_id, target)
            if not account.enabled:
                account = replace(account, enabled=True)
                self.directory.update(account)
            return audit.done(self._user(account), outcome="reactivated")

    def delete(self, actor: Actor, user_id: str) -> None:
        target = {"id": user_id}
        with _Audited(actor, "user.delete", target) as audit, self._user_lock(user_id):
            self._manageable(actor, user_id, target, not_self=True)
            self.directory.delete(user_id)
            audit.done(None, outcome="deleted")

    def update(self, actor: Actor, user_id: str, change: Profile) -> User:
        """Change names, language, status, profile, toggles, perimeter or tenants: the
        facts are checked as they will be (and, for a delegated actor, as they are)."""
        target = {"id": user_id}
        with _Audited(actor, "user.update", target) as audit, self._user_lock(user_id):
            account = self._manageable(actor, user_id, target)
            current = self._assignment(account)
            if change.language is not None and change.language not in self.languages:
                raise InvalidRequest(f"language {change.language!r} is not offered "
                                     f"(offered: {', '.join(self.languages)})")
            facts = change.facts
            if facts.status is not None and facts.user_type is None:
                # The status belongs to one user type (seed 000), as for an invitation.
                status = self.catalog.status_by_name.get(facts.status)
                if status is not None:
                    facts = replace(facts, user_type=status.user_type)
            wanted = facts.over(current)
            state = None
            if facts != Facts():
                self._check(actor, wanted, current)
                state = user_state(self.catalog, wanted)
            attributes = dict(account.attributes)
            if change.language is not None:
                attributes[LOCALE] = (change.language,)
            plan = plan_user_state(self.catalog, account.attributes, account.required_actions,
                                   state, attributes=attributes)
            attributes = dict(plan.attributes)
            if UPDATE_PASSWORD not in plan.required_actions:
                attributes.pop(PENDING, None)
            plan = replace(plan, attributes=attributes)
            account = replace(
                account, attributes=attributes, required_actions=plan.required_actions,
                first_name=account.first_name if change.first_name is None
                else change.first_name,
                last_name=account.last_name if change.last_name is None else change.last_name)
            apply_user_state(DirectoryWriter(self.directory, account), user_id, plan)
            return audit.done(self._user(account), outcome="updated")

    # -- helpers

    def _check_request(self, request: InvitationRequest, email: str) -> None:
        problem = email_problem(email)
        if problem:
            # Keycloak's own rule, checked before any write (special-use domains such as
            # .local, .test or .internal are accepted, as Keycloak accepts them).
            raise InvalidRequest(f"email {problem}")
        if request.language not in self.languages:
            raise InvalidRequest(f"language {request.language!r} is not offered (offered: "
                                 f"{', '.join(self.languages)})")
        if request.redirect_uri and not (request.client_id or self.catalog.client):
            raise InvalidRequest("redirect_uri needs client_id")
        self._check_lifespan(request.lifespan)

    @staticmethod
    def _check_lifespan(lifespan: int) -> None:
        if not 1 <= lifespan <= MAX_LIFESPAN:
            raise InvalidRequest(f"lifespan must be between 1 and {MAX_LIFESPAN} seconds")

    def _check(self, actor: Actor, wanted: Assignment,
               current: Assignment | None = None) -> None:
        """Every catalog rule on ``wanted``; then, for a delegated actor, delegation on the
        user as it will be and as it is."""
        try:
            check_assignment(self.catalog, wanted)
            if actor.delegated:
                assert actor.assignment is not None
                check_delegation(self.catalog, actor.assignment, wanted, current)
        except RuleViolation as exc:
            raise _refusal(exc) from None

    def _assignment(self, account: Account) -> Assignment | None:
        """The account's catalog facts, None when it holds no known status."""
        a = assignment_from_attributes(self.catalog, account.attributes)
        if a.status not in self.catalog.status_by_name:
            return None
        return a

    def _may_manage(self, actor: Actor, account: Account) -> bool:
        try:
            self._check_manage(actor, account)
        except LifecycleError:
            return False
        return True

    def _check_manage(self, actor: Actor, account: Account) -> None:
        if not actor.delegated:
            return
        current = self._assignment(account)
        if current is None:
            raise AccessDenied("the user is not managed by the catalog: only an operator "
                               "may act on it")
        try:
            assert actor.assignment is not None
            check_delegation(self.catalog, actor.assignment, current)
        except (RuleViolation, KeyError) as exc:
            if isinstance(exc, RuleViolation):
                raise _refusal(exc) from None
            raise AccessDenied("the user holds facts the catalog no longer knows") from None

    def _get(self, user_id: str, target: dict[str, Any]) -> Account:
        account = self.directory.get(user_id)
        if account is None:
            raise NotFound(f"no user {user_id!r}")
        target["email"] = account.email
        return account

    def _must_get(self, user_id: str) -> Account:
        account = self.directory.get(user_id)
        if account is None:
            raise NotFound(f"no user {user_id!r}")
        return account

    def _manageable(self, actor: Actor, user_id: str, target: dict[str, Any], *,
                    not_self: bool = False) -> Account:
        account = self._get(user_id, target)
        if not_self and actor.user_id == user_id:
            raise Conflict("an actor cannot deactivate or delete itself", code="lifecycle.self")
        self._check_manage(actor, account)
        return account

    def _is_pending(self, account: Account) -> bool:
        return UPDATE_PASSWORD in account.required_actions and bool(account.first(SENT_AT))

    def _pending(self, actor: Actor, user_id: str, target: dict[str, Any]) -> Account:
        account = self._manageable(actor, user_id, target)
        if not self._is_pending(account):
            raise Conflict("the user has no pending invitation (already activated, or not "
                           "invited)", code="not-pending")
        return account

    def _existing(self, actor: Actor, account: Account) -> InviteResult:
        """The answer for an e-mail that already has an account: never a second one."""
        visible = self._may_manage(actor, account)
        if self._is_pending(account) and visible:
            return InviteResult("already-invited", self._invitation(account))
        if self._is_pending(account):
            raise Conflict("this e-mail has already been invited", code="already-invited")
        body = {"id": account.id, "enabled": account.enabled} if visible else {}
        raise Conflict("this e-mail already has an activated account"
                       + ("" if account.enabled or not visible else " (deactivated)"),
                       code="already-active", body=body)

    def _invitation_attributes(self, actor: Actor, now: float, lifespan: int,
                               client_id: str, redirect_uri: str | None
                               ) -> dict[str, tuple[str, ...]]:
        attributes = {INVITED_BY: (actor.name,), SENT_AT: (_iso(now),),
                      EXPIRES_AT: (_iso(now + lifespan),), CLIENT_ID: (client_id,),
                      PENDING: ("true",)}
        if redirect_uri:
            attributes[REDIRECT_URI] = (redirect_uri,)
        return attributes

    def _send(self, user_id: str, actions: list[str], client_id: str,
              redirect_uri: str | None, lifespan: int, *, rollback: bool) -> None:
        try:
            self.directory.send_actions(user_id, actions, client_id, redirect_uri, lifespan)
        except kc.GatewayError as exc:
            if rollback:
                self._delete_quietly(user_id)
            if exc.status == 400:
                logger.info("activation link refused by Keycloak: %s", exc.detail)
                raise InvalidRequest("the activation link cannot be made for this client: "
                                     "check that the client exists and allows the redirect "
                                     f"(client_id {client_id!r}, redirect_uri "
                                     f"{redirect_uri!r})") from None
            if isinstance(exc, kc.Unavailable):
                raise
            logger.warning("activation e-mail not sent: %s", exc)
            raise Unavailable("the activation e-mail could not be sent; retry later",
                              code="mail-unavailable") from None

    def _delete_quietly(self, user_id: str) -> None:
        try:
            self.directory.delete(user_id)
        except kc.GatewayError as exc:  # pragma: no cover - logged for the operator
            logger.error("could not roll back invited user %s: %s", user_id, exc)

    def _state(self, account: Account) -> str:
        if not self._is_pending(account):
            return "activated"
        expires = _parse_iso(account.first(EXPIRES_AT))
        return "expired" if expires is not None and self.clock() >= expires else "pending"

    def _invitation(self, account: Account) -> Invitation:
        return Invitation(
            id=account.id, email=account.email, state=self._state(account),
            language=account.first(LOCALE), invited_by=account.first(INVITED_BY),
            sent_at=account.first(SENT_AT), expires_at=account.first(EXPIRES_AT),
            client_id=account.first(CLIENT_ID), redirect_uri=account.first(REDIRECT_URI),
            assignment=self._assignment(account))

    def _user(self, account: Account) -> User:
        a = self._assignment(account)
        permissions: tuple[str, ...] = ()
        if a is not None:
            try:
                permissions = tuple(account.attributes.get("permissions") or sorted(
                    set().union(*effective_permissions(self.catalog, a).values())))
            except KeyError:
                permissions = ()
        return User(id=account.id, username=account.username, email=account.email,
                    enabled=account.enabled,
                    activated=UPDATE_PASSWORD not in account.required_actions,
                    language=account.first(LOCALE), first_name=account.first_name,
                    last_name=account.last_name, assignment=a, permissions=permissions)


# -- audit -----------------------------------------------------------------------------

class _Audited:
    """One JSON line per use-case on ``bridge.audit``: what was done, or why not."""

    def __init__(self, actor: Actor, action: str, target: dict[str, Any]) -> None:
        self.actor = actor
        self.action = action
        self.target = target
        self.logged = False

    def __enter__(self) -> _Audited:
        return self

    def done(self, result: Any, outcome: str | None = None) -> Any:
        outcome = outcome or getattr(result, "outcome", None) or "done"
        self._write(outcome)
        return result

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        if exc is None or self.logged:
            return
        if isinstance(exc, LifecycleError):
            outcome = "refused" if exc.status in (400, 403, 404, 409) else "failed"
            self._write(outcome, code=exc.code, detail=exc.detail)
        elif isinstance(exc, kc.GatewayError):
            self._write("failed", code="keycloak", detail=type(exc).__name__)
        else:
            self._write("failed", code="internal", detail=type(exc).__name__)

    def _write(self, outcome: str, **extra: str) -> None:
        self.logged = True
        line = {"time": _iso(time.time()), "actor": self.actor.name, "action": self.action,
                "target": dict(self.target), "outcome": outcome, **extra}
        audit_log.info(json.dumps(line, sort_keys=True, ensure_ascii=False))


# -- Keycloak --------------------------------------------------------------------------

class KeycloakDirectory:
    """:class:`Directory` over one realm, through the admin gateway's functions only."""

    def __init__(self, gateway: AdminGateway, realm: str) -> None:
        self.gw = gateway
        self.realm = realm
        self._group_ids: dict[str, str] = {}  # catalog groups are stable: path → id

    def get(self, user_id: str) -> Account | None:
        try:
            return _account(kc_users.get(self.gw, self.realm, user_id))
        except kc.NotFound:
            return None

    def find_by_email(self, email: str) -> list[Account]:
        return [_account(rep) for rep in kc_users.find_by_email(self.gw, self.realm, email)
                if str(rep.get("email") or "").lower() == email.lower()]

    def invited(self, first: int, max: int) -> list[Account]:
        return [_account(rep) for rep in kc_users.search(
            self.gw, self.realm, first=first, max=max, q=f"{PENDING}:true")]

    def with_attribute(self, name: str, value: str, first: int, max: int) -> list[Account]:
        return [_account(rep) for rep in kc_users.search(
            self.gw, self.realm, first=first, max=max, q=_attribute_query(name, value))]

    def count_with_attribute(self, name: str, value: str) -> int:
        return kc_users.count(self.gw, self.realm, q=_attribute_query(name, value))

    def groups_under(self, user_id: str, root: str) -> frozenset[str]:
        return frozenset(kc_users.groups_under(self.gw, self.realm, user_id, root))

    def create(self, account: NewAccount) -> str:
        rep: dict[str, Any] = {
            "username": account.email, "email": account.email, "enabled": True,
            "emailVerified": False,
            "attributes": {k: list(v) for k, v in account.attributes.items()},
            "groups": sorted(account.groups),
            "requiredActions": list(account.required_actions)}
        if account.first_name:
            rep["firstName"] = account.first_name
        if account.last_name:
            rep["lastName"] = account.last_name
        return kc_users.create(self.gw, self.realm, rep)

    def update(self, account: Account) -> None:
        kc_users.update(self.gw, self.realm, account.id, {
            "username": account.username, "email": account.email,
            "firstName": account.first_name, "lastName": account.last_name,
            "enabled": account.enabled, "emailVerified": account.email_verified,
            "attributes": {k: list(v) for k, v in account.attributes.items()},
            "requiredActions": list(account.required_actions)})

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        kc_users.set_groups_under(self.gw, self.realm, user_id, root, wanted, self._group_ids)

    def delete(self, user_id: str) -> None:
        kc_users.delete(self.gw, self.realm, user_id)

    def send_actions(self, user_id: str, actions: list[str], client_id: str | None,
                     redirect_uri: str | None, lifespan: int) -> None:
        kc_users.execute_actions_email(self.gw, self.realm, user_id, actions,
                                       client_id=client_id, redirect_uri=redirect_uri,
                                       lifespan=lifespan)

    def logout(self, user_id: str) -> None:
        kc_users.logout(self.gw, self.realm, user_id)


_QUERY_TERM = re.compile(r"^[^\s:\"]+$")


def _attribute_query(name: str, value: str) -> str:
    """Keycloak's ``q`` (``name:value``, terms split on spaces). A name or value that could
    not be expressed exactly would silently search something else: refused instead."""
    if not (_QUERY_TERM.match(name) and _QUERY_TERM.match(value)):
        raise ValueError(f"cannot search attribute {name!r} for {value!r}")
    return f"{name}:{value}"


def _account(rep: Mapping[str, Any]) -> Account:
    return Account(
        id=str(rep["id"]), username=str(rep.get("username") or ""),
        email=str(rep.get("email") or ""), enabled=bool(rep.get("enabled", True)),
        email_verified=bool(rep.get("emailVerified", False)),
        first_name=rep.get("firstName"), last_name=rep.get("lastName"),
        attributes={k: tuple(v) for k, v in (rep.get("attributes") or {}).items()},
        required_actions=tuple(rep.get("requiredActions") or ()))
