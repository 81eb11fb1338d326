"""The invitation and lifecycle use-cases (:class:`AccessAdministration`) over one
:class:`~bridge.invitations.directory.Directory`, enforcing one catalog (see the package's
documentation for what inviting, pending and the lifecycle mean)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, TypeVar

from bridge import errors as domain
from bridge.catalog.apply import apply_user_state, plan_user_state
from bridge.catalog.mapping import (
    ACCESS_REF,
    assignment_from_attributes,
    stored_access,
    user_state,
)
from bridge.catalog.model import Assignment, Catalog
from bridge.catalog.rules import (
    RuleViolation,
    check_assignment,
    check_delegation,
    default_profile,
    effective_permissions,
)
from bridge.invitations.audit import Audited
from bridge.invitations.directory import Directory, DirectoryWriter
from bridge.invitations.errors import (
    AccessDenied,
    CatalogNotApplied,
    Conflict,
    InvalidRequest,
    LifecycleError,
    NotFound,
    Unavailable,
    refusal,
)
from bridge.invitations.mailwords import invitation_scope
from bridge.invitations.values import (
    CLIENT_ID,
    DEFAULT_LIFESPAN,
    EXPIRES_AT,
    INVITED_BY,
    INVITER_NAME,
    LANGUAGES,
    LOCALE,
    MAX_LIFESPAN,
    PENDING,
    REDIRECT_URI,
    SCOPE,
    SENT_AT,
    UPDATE_PASSWORD,
    VERIFY_EMAIL,
    Account,
    Actor,
    Facts,
    Invitation,
    InvitationRequest,
    InviteResult,
    NewAccount,
    Page,
    Profile,
    User,
    iso_utc,
    parse_iso_utc,
)
from bridge.keycloak.limits import email_problem
from bridge.locks import LocalLocks, LockTimeout, LockUnavailable, ResourceLocks
from bridge.tenants.invariants import Pass, TenantCounts, TenantInvariants
from bridge.tenants.membership import TenantView

# The name the log had before the package was split (operators filter on it).
logger = logging.getLogger("bridge.invitations")
R = TypeVar("R")

class AccessAdministration:
    """Invitations and lifecycle over one directory, enforcing one catalog."""

    def __init__(self, directory: Directory, catalog: Catalog, *,
                 languages: Iterable[str] = LANGUAGES,
                 clock: Callable[[], float] = time.time,
                 locks: ResourceLocks | None = None, lock_scope: str = "",
                 tenant_counts: TenantCounts | None = None) -> None:
        self.directory = directory
        self.catalog = catalog
        self.languages = tuple(languages)
        self.clock = clock
        # The SCIM backend's locks and scope (the realm): a user's read-modify-write here
        # and through SCIM, on any replica, never interleave (one lost the other's change).
        self.locks = locks if locks is not None else LocalLocks()
        self.lock_scope = lock_scope
        # The tenants' invariants and defaults (seed 004) are counted in the directory
        # (or ``tenant_counts``, when given).
        self.tenant_counts: TenantCounts = tenant_counts or directory

    @property
    def invariants(self) -> TenantInvariants:
        """The catalog's tenant invariants over this service's locks (built per use: no
        state of its own)."""
        return TenantInvariants(self.catalog, self.tenant_counts, locks=self.locks,
                                scope=self.lock_scope)

    def _user_write(self, user_id: str, body: Callable[[Pass], R]) -> R:
        """``body`` (read, check, write) under the user's lock, and the tenants' locks when
        it takes a holder of an invariant away (:mod:`bridge.tenants.invariants`)."""
        try:
            return self.invariants.user_write(user_id, body)
        except RuleViolation as exc:  # a tenant's invariant, found by ``Pass.keep``
            raise refusal(exc) from None
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
        full_name = " ".join(n for n in (account.first_name, account.last_name) if n)
        ref = account.attributes.get(ACCESS_REF) or ()
        return Actor(f"user:{name or account.username}", account.id, assignment,
                     display_name=full_name or None,
                     permissions=tuple(stored_access(account.attributes)[1]),
                     access_ref=next(iter(ref), None))

    def user_id_by_email(self, email: str) -> str | None:
        """The id of the account with this e-mail (case-insensitive), None when there is
        none. Operators name users by e-mail; no actor check: the use-case then called with
        the id checks who may act on it."""
        found = self.directory.find_by_email(email.strip().lower())
        return str(found[0].id) if found else None

    # -- invitations

    def invite(self, actor: Actor, request: InvitationRequest) -> InviteResult:
        email = request.email.strip().lower()
        target = {"email": email}
        with Audited(actor, "invitation.create", target) as audit:
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
            asked = facts.over(None)
            # A dossier's first user without profile gets the tenancy's default (seed 004):
            # counted and created under the tenants' locks; other invitations count nothing.
            with self.invariants.first_user(asked) as assignment:
                created = self._create(actor, request, email, asked, assignment)
            if isinstance(created, InviteResult):
                return audit.done(created)
            user_id, actions, client_id = created
            target["id"] = user_id
            self._send(user_id, actions, client_id, request.redirect_uri,
                       request.lifespan, rollback=True)
            invitation = self._invitation(self._must_get(user_id))
            return audit.done(InviteResult("invited", invitation))

    def _create(self, actor: Actor, request: InvitationRequest, email: str,
                asked: Assignment, assignment: Assignment
                ) -> tuple[str, list[str], str] | InviteResult:
        """The invited account created (its id, the actions its link performs, the client
        it is for), or the answer for an e-mail that already has one."""
        # The tenants as they are now (Keycloak's organizations), not as YAML says.
        view = self.directory.tenant_view(self.catalog)
        try:
            live = view.live_catalog(self.catalog, assignment.tenants | _actor_tenants(actor))
        except domain.MissingGroups as exc:
            raise CatalogNotApplied.of_error(exc) from None
        self._check(actor, assignment, catalog=live)
        existing = self.directory.find_by_email(email)
        if existing:
            return self._existing(actor, existing[0], asked)
        state = user_state(live, assignment)
        now = self.clock()
        client_id = request.client_id or self.catalog.client
        attributes = {**state.attributes, LOCALE: (request.language,),
                      **self._invitation_attributes(actor, now, request.lifespan,
                                                    client_id, request.redirect_uri),
                      **self._mail_words(actor, assignment, live)}
        actions = tuple(dict.fromkeys(
            [UPDATE_PASSWORD, VERIFY_EMAIL, *sorted(state.required_actions)]))
        try:
            user_id = self.directory.create(NewAccount(
                email, request.first_name, request.last_name, attributes, state.groups,
                actions))
        except domain.Duplicate:
            raise Conflict("an account with this e-mail was created meanwhile",
                           code="already-exists") from None
        except domain.MissingGroups as exc:
            raise CatalogNotApplied.of_error(exc) from None
        self._join_new(user_id, assignment, live, view)
        return user_id, list(actions), client_id

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
        with Audited(actor, "invitation.resend", target) as audit:
            return audit.done(self._user_write(user_id, lambda _: self._resend(
                actor, user_id, target, lifespan)), result="resent")

    def _resend(self, actor: Actor, user_id: str, target: dict[str, Any],
                lifespan: int | None) -> Invitation:
        account = self._pending(actor, user_id, target)
        lifespan = DEFAULT_LIFESPAN if lifespan is None else lifespan
        self._check_lifespan(lifespan)
        client_id = account.first(CLIENT_ID) or self.catalog.client
        redirect_uri = account.first(REDIRECT_URI)
        now = self.clock()
        attributes = {**account.attributes, **self._invitation_attributes(
            actor, now, lifespan, client_id, redirect_uri)}
        # The mail keeps naming who invited (and to what) when someone else resends.
        attributes[INVITED_BY] = account.attributes.get(INVITED_BY) or (actor.name,)
        attributes[INVITER_NAME] = (account.attributes.get(INVITER_NAME)
                                    or (actor.shown_name,))
        assignment = self._assignment(account)
        scope = invitation_scope(self.catalog, assignment) if assignment else ""
        if scope:
            attributes[SCOPE] = (scope,)
        account = replace(account, attributes=attributes)
        self.directory.update(account)
        actions = [a for a in account.required_actions] or [UPDATE_PASSWORD]
        self._send(user_id, actions, client_id, redirect_uri, lifespan, rollback=False)
        return self._invitation(account)

    def revoke(self, actor: Actor, user_id: str) -> None:
        """Delete a pending invitee: its link then leads nowhere."""
        target = {"id": user_id}
        def revoke(step: Pass) -> None:
            account = self._pending(actor, user_id, target)
            step.keep(account.attributes, account.enabled, None, False)
            self.directory.delete(user_id)

        with Audited(actor, "invitation.revoke", target) as audit:
            self._user_write(user_id, revoke)
            audit.done(None, result="revoked")

    # -- lifecycle

    def get_user(self, actor: Actor, user_id: str) -> User:
        account = self._manageable(actor, user_id, {"id": user_id})
        return self._user(account)

    def deactivate(self, actor: Actor, user_id: str) -> User:
        """Disable, then end every session (refresh tokens fail at once)."""
        target = {"id": user_id}
        def deactivate(step: Pass) -> tuple[Account, bool]:
            account = self._manageable(actor, user_id, target, not_self=True)
            step.keep(account.attributes, account.enabled, account.attributes, False)
            account, changed = self._set_enabled(account, False)
            self.directory.logout(user_id)
            return account, changed

        with Audited(actor, "user.deactivate", target) as audit:
            account, changed = self._user_write(user_id, deactivate)
            return audit.done(self._user(account, changed=changed),
                              result="deactivated" if changed else "unchanged")

    def reactivate(self, actor: Actor, user_id: str) -> User:
        target = {"id": user_id}
        with Audited(actor, "user.reactivate", target) as audit:
            account, changed = self._user_write(user_id, lambda _: self._set_enabled(
                self._manageable(actor, user_id, target), True))
            return audit.done(self._user(account, changed=changed),
                              result="reactivated" if changed else "unchanged")

    def _set_enabled(self, account: Account, enabled: bool) -> tuple[Account, bool]:
        """The account enabled (or not) as asked, and whether that changed it: written only
        then (one update)."""
        if account.enabled == enabled:
            return account, False
        account = replace(account, enabled=enabled)
        self.directory.update(account)
        return account, True

    def delete(self, actor: Actor, user_id: str) -> None:
        target = {"id": user_id}
        def delete(step: Pass) -> None:
            account = self._manageable(actor, user_id, target, not_self=True)
            step.keep(account.attributes, account.enabled, None, False)
            self.directory.delete(user_id)

        with Audited(actor, "user.delete", target) as audit:
            self._user_write(user_id, delete)
            audit.done(None, result="deleted")

    def update(self, actor: Actor, user_id: str, change: Profile) -> User:
        """Change names, language, status, profile, toggles, perimeter or tenants: the
        facts are checked as they will be (and, for a delegated actor, as they are)."""
        target = {"id": user_id}
        with Audited(actor, "user.update", target) as audit:
            user, result = self._user_write(
                user_id, lambda step: self._update(actor, user_id, target, change, step))
            return audit.done(user, result=result)

    def _update(self, actor: Actor, user_id: str, target: dict[str, Any], change: Profile,
                step: Pass) -> tuple[User, str]:
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
        view = self.directory.tenant_view(self.catalog)
        live = self.catalog  # no fact changes (names, language): no tenant read, kept as is
        if facts != Facts():
            try:
                live = view.live_catalog(self.catalog, wanted.tenants | _actor_tenants(actor)
                                         | (current.tenants if current else frozenset()))
            except domain.MissingGroups as exc:
                raise CatalogNotApplied.of_error(exc) from None
        state = None
        if facts != Facts():
            self._check(actor, wanted, current, catalog=live)
            state = user_state(live, wanted)
        attributes = dict(account.attributes)
        if change.language is not None:
            attributes[LOCALE] = (change.language,)
        plan = plan_user_state(live, account.attributes, account.required_actions,
                               state, attributes=attributes)
        attributes = dict(plan.attributes)
        if UPDATE_PASSWORD not in plan.required_actions:
            attributes.pop(PENDING, None)
        plan = replace(plan, attributes=attributes)
        before = account
        account = replace(
            account, attributes=attributes, required_actions=plan.required_actions,
            first_name=account.first_name if change.first_name is None
            else change.first_name,
            last_name=account.last_name if change.last_name is None else change.last_name)
        if _same_account(before, account) and not plan.catalog_changed:
            # Nothing to write: the user already is as asked (the CLI's exit 3).
            return self._user(account, changed=False), "unchanged"
        step.keep(before.attributes, before.enabled, account.attributes, account.enabled)
        try:
            apply_user_state(DirectoryWriter(self.directory, account, view), user_id, plan)
        except domain.MissingGroups as exc:
            raise CatalogNotApplied.of_error(exc) from None
        return self._user(account), "updated"

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

    def _join_new(self, user_id: str, assignment: Assignment, live: Catalog,
                  view: TenantView) -> None:
        """A new account joins its tenants' organizations (after the create: its id is
        needed). A cap change that listed the members before this join did not see it, so
        the caps are read again after it; if they moved, the permissions are written again
        (one more update, only then)."""
        if not assignment.tenants:
            return
        view.join(user_id, assignment.tenants)
        again = self.directory.tenant_view(self.catalog).live_catalog(
            self.catalog, assignment.tenants)
        if again == live or set(again.tenant_by_name) != assignment.tenants:
            return  # unchanged; or a tenant deleted meanwhile (its delete recomputes)
        account = self._must_get(user_id)
        plan = plan_user_state(again, account.attributes, account.required_actions,
                               user_state(again, assignment))
        if plan.catalog_changed:
            self.directory.update(replace(account, attributes=dict(plan.attributes)))

    def _check(self, actor: Actor, wanted: Assignment,
               current: Assignment | None = None, *, catalog: Catalog | None = None) -> None:
        """Every catalog rule on ``wanted`` (``catalog``: the live one of this write);
        then, for a delegated actor, delegation on the user as it will be and as it is."""
        catalog = self.catalog if catalog is None else catalog
        try:
            check_assignment(catalog, wanted)
            if actor.delegated:
                assert actor.assignment is not None
                check_delegation(catalog, actor.assignment, wanted, current)
        except RuleViolation as exc:
            raise refusal(exc) from None

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
                raise refusal(exc) from None
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

    def _existing(self, actor: Actor, account: Account, wanted: Assignment) -> InviteResult:
        """The answer for an e-mail that already has an account: never a second one."""
        visible = self._may_manage(actor, account)
        if self._is_pending(account) and visible:
            current = self._assignment(account)
            default = default_profile(self.catalog, wanted)
            if current is not None and default is not None and current.profiles == (default,):
                # Asked without profile, pending with the tenant's default (it was the
                # first user): the same invitation, asked again.
                wanted = replace(wanted, profiles=(default,))
            differences = _differences(current, wanted)
            if differences:
                # Never answer "already invited" while dropping the access asked for.
                raise Conflict(
                    "this e-mail already has a pending invitation with other access ("
                    + "; ".join(differences) + "): change it with `bridge user set` (PATCH "
                    f"/api/v1/users/{account.id}), or revoke the invitation and invite again",
                    code="already-invited", body={"id": account.id})
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
        attributes = {INVITED_BY: (actor.name,), SENT_AT: (iso_utc(now),),
                      EXPIRES_AT: (iso_utc(now + lifespan),), CLIENT_ID: (client_id,),
                      PENDING: ("true",)}
        if redirect_uri:
            attributes[REDIRECT_URI] = (redirect_uri,)
        return attributes

    def _mail_words(self, actor: Actor, assignment: Assignment,
                    catalog: Catalog | None = None) -> dict[str, tuple[str, ...]]:
        """What the invitation mail names: the inviter and the tenants (by their live
        labels, ``catalog``) or perimeter."""
        words = {INVITER_NAME: (actor.shown_name,)}
        scope = invitation_scope(self.catalog if catalog is None else catalog, assignment)
        if scope:
            words[SCOPE] = (scope,)
        return words

    def _send(self, user_id: str, actions: list[str], client_id: str,
              redirect_uri: str | None, lifespan: int, *, rollback: bool) -> None:
        try:
            self.directory.send_actions(user_id, actions, client_id, redirect_uri, lifespan)
        except domain.DirectoryError as exc:
            if rollback:
                self._delete_quietly(user_id)
            if isinstance(exc, domain.Refused):
                logger.info("activation link refused by Keycloak: %s", exc.detail)
                raise InvalidRequest("the activation link cannot be made for this client: "
                                     "check that the client exists and allows the redirect "
                                     f"(client_id {client_id!r}, redirect_uri "
                                     f"{redirect_uri!r})") from None
            if isinstance(exc, domain.Unavailable):
                raise
            logger.warning("activation e-mail not sent: %s", exc)
            raise Unavailable("the activation e-mail could not be sent; retry later",
                              code="mail-unavailable") from None

    def _delete_quietly(self, user_id: str) -> None:
        try:
            self.directory.delete(user_id)
        except domain.DirectoryError as exc:  # pragma: no cover - logged for the operator
            logger.error("could not roll back invited user %s: %s", user_id, exc)

    def _state(self, account: Account) -> str:
        if not self._is_pending(account):
            return "activated"
        expires = parse_iso_utc(account.first(EXPIRES_AT))
        return "expired" if expires is not None and self.clock() >= expires else "pending"

    def _invitation(self, account: Account) -> Invitation:
        return Invitation(
            id=account.id, email=account.email, state=self._state(account),
            language=account.first(LOCALE), invited_by=account.first(INVITED_BY),
            sent_at=account.first(SENT_AT), expires_at=account.first(EXPIRES_AT),
            client_id=account.first(CLIENT_ID), redirect_uri=account.first(REDIRECT_URI),
            assignment=self._assignment(account))

    def _user(self, account: Account, *, changed: bool = True) -> User:
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
                    last_name=account.last_name, assignment=a, permissions=permissions,
                    required_actions=tuple(account.required_actions), changed=changed)


def _actor_tenants(actor: Actor) -> frozenset[str]:
    """A delegated actor's tenants: delegation reads its permissions in them."""
    return actor.assignment.tenants if actor.delegated and actor.assignment else frozenset()


def _same_account(before: Account, after: Account) -> bool:
    """The same stored account (attribute values and required actions in any order)."""
    def attributes(account: Account) -> dict[str, frozenset[str]]:
        return {k: frozenset(v) for k, v in account.attributes.items() if v}

    return (attributes(before) == attributes(after)
            and set(before.required_actions) == set(after.required_actions)
            and (before.first_name, before.last_name) == (after.first_name, after.last_name))


def _differences(current: Assignment | None, wanted: Assignment) -> list[str]:
    """What a repeated invitation asks for that the pending one does not hold, in words."""
    if current is None:
        return ["the pending account holds no catalog status"]

    def show(values: Iterable[str]) -> str:
        return ", ".join(sorted(values)) or "none"

    said = []
    for name, now, asked in (
            ("user type", {current.user_type}, {wanted.user_type}),
            ("status", {current.status}, {wanted.status}),
            ("profiles", set(current.profiles), set(wanted.profiles)),
            ("toggles", set(current.toggles), set(wanted.toggles)),
            ("perimeter", {f"{e.dimension}={e.value}" for e in current.perimeter},
             {f"{e.dimension}={e.value}" for e in wanted.perimeter}),
            ("tenants", set(current.tenants), set(wanted.tenants))):
        if now != asked:
            said.append(f"{name}: pending {show(now)}, asked {show(asked)}")
    return said
