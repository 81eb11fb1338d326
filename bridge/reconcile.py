"""Catalog reconcile: every user's stored catalog state made to follow the catalog again.

The write paths (SCIM, API, CLI) compute a user's state with
:func:`bridge.catalog.mapping.user_state` when *the user* changes. When *the catalog*
changes (a profile loses a permission, a toggle or profile is removed, a tenant's caps
shrink, ``perimeter_budget`` moves), ``bridge realm apply`` updates the groups and their
roles, but the computed ``permissions`` attribute, which the tokens' ``permissions`` claim
comes from, still holds what the old catalog granted. :class:`CatalogReconciler` walks the
users carrying catalog facts and rewrites those whose state differs, so the next token
issued follows the catalog.

For each account with a ``user_type`` attribute (bounded pages, by username):

- its facts are read back (:func:`assignment_from_attributes`) and checked
  (:func:`check_assignment`). When they pass, the wanted state is :func:`user_state`: the
  attributes of :func:`managed_attributes` (others are never touched), the groups under
  ``/bridge/catalog`` (others are never touched) and ``CONFIGURE_TOTP``, added and never
  dropped (as ``AccessAdministration.update`` does: a user may be midway through set-up);
- when they fail (a status, profile, toggle, tenant or dimension the catalog no longer
  declares, or a rule the catalog now has), the user's catalog access is removed: no
  ``permissions`` attribute and no group under ``/bridge/catalog``. Its facts stay as they
  are, for an operator to correct with ``bridge user set``; see "Reconciling users" in
  ``docs/access-catalog.md`` for why nothing is guessed.

Only accounts that differ are written: one ``update`` (attributes, required actions) and,
when the groups differ, one ``set_groups``. Each write is audited on ``bridge.audit``
(action ``catalog.reconcile``), like every other use-case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bridge import errors as domain
from bridge.catalog.apply import StatePlan, apply_user_state, plan_user_state
from bridge.catalog.mapping import (
    PERIMETER,
    PERIMETER_OVERFLOW,
    USER_TYPE,
    assignment_from_attributes,
    managed_attributes,
    user_state,
)
from bridge.catalog.mapping import ROOT as CATALOG_ROOT
from bridge.catalog.model import Catalog
from bridge.catalog.rules import InvariantViolation, RuleViolation, check_assignment
from bridge.invitations import Account, Actor, Audited, Directory, DirectoryWriter
from bridge.locks import LocalLocks, LockTimeout, ResourceLocks
from bridge.tenants.invariants import Pass, TenantInvariants
from bridge.tenants.membership import TenantView

logger = logging.getLogger(__name__)

PAGE = 100
"""Accounts per page. Full representations (a large perimeter overflows into thousands of
attribute values) make a page heavy, so it is smaller than the gateway's default."""

SEARCHED_USER_TYPES = ("internal", "external")
"""Every user type a catalog may declare (the loader refuses any other): searching them all,
not only the catalog's own, also finds users of a type the catalog dropped."""

GROUPS = "groups"  # how change lines name the groups under /bridge/catalog
MEMBERSHIPS = "tenant memberships"  # the organizations the user is a member of

SHOWN_VALUES = 5
"""Values shown per attribute and sign in a change line (a perimeter may hold 10,000)."""


# -- results ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Difference:
    """One attribute, the catalog groups or the required actions: values to remove and to
    add."""

    name: str
    removed: tuple[str, ...] = ()
    added: tuple[str, ...] = ()

    def describe(self) -> str:
        def signed(sign: str, values: tuple[str, ...]) -> list[str]:
            shown = [f"{sign}{v}" for v in values[:SHOWN_VALUES]]
            more = len(values) - SHOWN_VALUES
            return shown + ([f"({sign}{more} more)"] if more > 0 else [])

        return " ".join([self.name, *signed("-", self.removed), *signed("+", self.added)])


@dataclass(frozen=True)
class UserResult:
    """One account that changed (or would, in a dry run) or whose facts violate a rule."""

    id: str
    username: str
    differences: tuple[Difference, ...]
    rule: str | None = None
    """The rule the stored facts violate (``unknown.toggle``...); None: they pass."""
    message: str = ""
    kept: bool = False
    """Left as it is: writing it would break a tenant's invariant (``rule``)."""

    @property
    def changed(self) -> bool:
        return bool(self.differences) and not self.kept

    def line(self, dry_run: bool) -> str:
        changes = "; ".join(d.describe() for d in self.differences)
        if self.kept:
            return f"{self.username}: left as it is: {self.rule}: {self.message}"
        if self.rule is None:
            return f"{self.username}: {changes}"
        if not self.changed:
            return f"{self.username}: violates {self.rule}: no access left to remove " \
                   f"({self.message})"
        removed = "access would be removed" if dry_run else "access removed"
        return f"{self.username}: violates {self.rule}: {removed}: {changes} ({self.message})"


@dataclass(frozen=True)
class Report:
    """One pass: how many accounts were checked, and those worth a line."""

    checked: int
    results: tuple[UserResult, ...]
    """Accounts that changed or violate a rule, in the order they were checked."""
    dry_run: bool
    complete: bool = True
    """False when users kept appearing past the page bound, or some were busy: a second
    run picks them up."""
    busy: tuple[str, ...] = ()
    """Usernames left alone because another writer (SCIM, the API, on any replica) held
    their lock past the lock timeout."""

    @property
    def changed(self) -> int:
        return sum(1 for r in self.results if r.changed)

    @property
    def violating(self) -> int:
        return sum(1 for r in self.results if r.rule is not None)

    def summary(self) -> str:
        verb = "would change" if self.dry_run else "changed"
        text = f"{self.checked} users checked, {self.changed} {verb}, {self.violating} violating"
        if self.busy:
            text += f" ({len(self.busy)} busy, left for the next run: {', '.join(self.busy)})"
        elif not self.complete:
            text += " (more users appeared during the pass: run it again)"
        return text

    def lines(self) -> list[str]:
        return [r.line(self.dry_run) for r in self.results] + [self.summary()]


# -- the use-case -------------------------------------------------------------------------

@dataclass(frozen=True)
class Wanted:
    """What one account must hold under the catalog."""

    plan: StatePlan
    violation: RuleViolation | None

    @property
    def attributes(self) -> dict[str, tuple[str, ...]]:
        """All of the account's attributes as they must be (unmanaged ones as they are)."""
        return self.plan.attributes

    @property
    def required_actions(self) -> tuple[str, ...]:
        return self.plan.required_actions

    @property
    def groups(self) -> frozenset[str]:
        return self.plan.groups or frozenset()


class CatalogReconciler:
    """Brings every account carrying catalog facts in line with one catalog."""

    def __init__(self, directory: Directory, catalog: Catalog, *, page_size: int = PAGE,
                 locks: ResourceLocks | None = None, lock_scope: str = "") -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.directory = directory
        self.catalog = catalog
        self.page_size = page_size
        self.owned = managed_attributes(catalog)
        # The user locks every other writer takes (SCIM, the lifecycle API, on every
        # replica with BRIDGE_LOCK_URL): a reconcile write is a read-modify-write too.
        self.locks = locks if locks is not None else LocalLocks()
        self.lock_scope = lock_scope
        # A reconcile keeps each account's facts (profiles, tenants, enabled), so it never
        # takes a holder from a tenant's invariant; it is checked like every write anyway.
        self.invariants = TenantInvariants(catalog, directory, locks=self.locks,
                                           scope=lock_scope)
        self._busy: list[str] = []

    def run(self, actor: Actor, *, dry_run: bool = False,
            progress: Callable[[str], None] | None = None) -> Report:
        """Check every account; write those that differ (none with ``dry_run``).
        ``progress`` gets one line per page read (the CLI prints it on stderr)."""
        checked = 0
        results: list[UserResult] = []
        complete = True
        seen: set[str] = set()
        for user_type in dict.fromkeys((*SEARCHED_USER_TYPES, *self.catalog.user_types)):
            total = self.directory.count_with_attribute(USER_TYPE, user_type)
            # One page past the count, so a pass ends even if users keep being created;
            # those past the bound are reported (complete=False) for a second run.
            max_pages = total // self.page_size + 1
            first = 0
            for page_number in range(max_pages):
                page = self.directory.with_attribute(USER_TYPE, user_type, first,
                                                     self.page_size)
                left = 0  # accounts this page rewrote out of the search (a stray user_type)
                for account in page:
                    if account.id in seen:  # several user_type values: checked once
                        continue
                    seen.add(account.id)
                    result = self._reconcile(actor, account, dry_run)
                    checked += result is not None
                    if result is not None and (result.changed or result.rule is not None):
                        results.append(result)
                    if result is not None and not dry_run and _dropped(result, user_type):
                        left += 1
                # The next page starts where the search now stands: an account that left
                # it would otherwise shift the offsets and hide the one after it.
                first += len(page) - left
                if progress is not None and (page or total):
                    progress(f"reconcile: {user_type} users, page {page_number + 1} of "
                             f"~{max_pages}: {checked} checked, {len(results)} to report")
                if len(page) < self.page_size:
                    break
            else:
                complete = False
                logger.warning("catalog reconcile: users of type %s kept appearing past %d "
                               "pages; the rest is left to the next run", user_type, max_pages)
        busy, self._busy = tuple(self._busy), []
        return Report(checked, tuple(results), dry_run, complete and not busy, busy)

    # -- one account

    def _reconcile(self, actor: Actor, account: Account, dry_run: bool) -> UserResult | None:
        """None when the account disappeared meanwhile (nothing left to reconcile)."""
        try:
            groups = self.directory.groups_under(account.id, CATALOG_ROOT)
            view = self.directory.tenant_view(self.catalog)
            members = view.memberships(account.id)
        except domain.NotFound:
            return None
        wanted = self.wanted(account, view)
        differences = self.differences(account, groups, wanted, members)
        if differences and not dry_run:
            try:
                written = self.invariants.user_write(
                    account.id, lambda step: self._write(actor, account.id, step))
            except InvariantViolation as refused:
                return UserResult(account.id, account.username, differences, refused.rule,
                                  refused.message, kept=True)
            except LockTimeout:
                logger.warning("catalog reconcile: %s is being written by another writer; "
                               "left for the next run", account.username)
                self._busy.append(account.username)
                return None
            if written is None:
                return None
            wanted, differences = written
        violation = wanted.violation
        return UserResult(account.id, account.username, differences,
                          violation.rule if violation else None,
                          violation.message if violation else "")

    def _write(self, actor: Actor, user_id: str, step: Pass
               ) -> tuple[Wanted, tuple[Difference, ...]] | None:
        """Write one account from a fresh read: a write path may have changed it since its
        page was read, and its own change must not be overwritten with older values.
        Returns what was written, or None when the account is gone."""
        target: dict[str, str] = {"id": user_id}
        with _ReconcileAudit(actor, "catalog.reconcile", target) as audit:
            account = self.directory.get(user_id)
            if account is None:
                return None
            target["email"] = account.email
            try:
                groups = self.directory.groups_under(user_id, CATALOG_ROOT)
                view = self.directory.tenant_view(self.catalog)
                members = view.memberships(user_id)
                wanted = self.wanted(account, view)
                differences = self.differences(account, groups, wanted, members)
                step.keep(account.attributes, account.enabled, wanted.attributes,
                          account.enabled)
                apply_user_state(DirectoryWriter(self.directory, account, view), user_id,
                                 wanted.plan, write=any(d.name not in (GROUPS, MEMBERSHIPS)
                                                        for d in differences),
                                 groups=groups, memberships=members)
            except domain.NotFound:
                if self.directory.get(user_id) is None:
                    return None  # deleted meanwhile: it holds no access any more
                raise domain.DirectoryError(
                    f"{account.username}: a group under {CATALOG_ROOT} does not exist in "
                    f"Keycloak; apply the catalog first (bridge realm apply)") from None
            if not differences:
                return wanted, differences
            if wanted.violation is not None:
                audit.removed(wanted.violation, differences)
            else:
                audit.done(None, result="reconciled")
            return wanted, differences

    def wanted(self, account: Account, view: TenantView | None = None) -> Wanted:
        """What the account must hold under this catalog and its tenants as they are now
        (read through ``view``), planned as every write path plans it
        (:func:`bridge.catalog.apply.plan_user_state`)."""
        view = view or self.directory.tenant_view(self.catalog)
        facts = assignment_from_attributes(self.catalog, account.attributes)
        catalog = view.live_catalog(self.catalog, facts.tenants)
        try:
            self._check_dimensions(account)  # unknown names first, as check_assignment
            check_assignment(catalog, facts)
        except RuleViolation as violation:
            # Paranoid default (docs/access-catalog.md, "Reconciling users"): the facts stay
            # for an operator to correct, the access they gave goes.
            return Wanted(plan_user_state(catalog, account.attributes,
                                          account.required_actions, None,
                                          remove_access=True), violation)
        return Wanted(plan_user_state(catalog, account.attributes,
                                      account.required_actions,
                                      user_state(catalog, facts)), None)

    def _check_dimensions(self, account: Account) -> None:
        """Perimeter attributes of a dimension the catalog no longer declares:
        ``assignment_from_attributes`` cannot see them, so the rules cannot either."""
        for name in sorted(account.attributes):
            for prefix in (f"{PERIMETER}.", f"{PERIMETER_OVERFLOW}."):
                if name.startswith(prefix) and name not in self.owned \
                        and account.attributes[name]:
                    raise RuleViolation("unknown.dimension",
                                        f"perimeter entries of dimension "
                                        f"{name[len(prefix):]!r}, which the catalog no longer "
                                        f"declares")

    def differences(self, account: Account, groups: frozenset[str], wanted: Wanted,
                    members: frozenset[str] | None = None) -> tuple[Difference, ...]:
        """What writing ``wanted`` changes. Values compare as sets: Keycloak need not keep
        the order of an attribute's values, and a reordering alone is not worth a write."""
        found: list[Difference] = []
        names = sorted(n for n in {*account.attributes, *wanted.attributes} if n in self.owned)
        for name in names:
            diff = _difference(name, account.attributes.get(name, ()),
                               wanted.attributes.get(name, ()))
            if diff is not None:
                found.append(diff)
        shown_root = CATALOG_ROOT + "/"
        group_diff = _difference(GROUPS, (g.removeprefix(shown_root) for g in groups),
                                 (g.removeprefix(shown_root) for g in wanted.groups))
        if group_diff is not None:
            found.append(group_diff)
        if members is not None:
            member_diff = _difference(MEMBERSHIPS, members, wanted.plan.tenants)
            if member_diff is not None:
                found.append(member_diff)
        actions = _difference("required actions", account.required_actions,
                              wanted.required_actions)
        if actions is not None:
            found.append(actions)
        return tuple(found)


def _dropped(result: UserResult, user_type: str) -> bool:
    """The account no longer holds ``user_type`` (so no longer matches its search)."""
    return any(d.name == USER_TYPE and any(v.lower() == user_type.lower() for v in d.removed)
               for d in result.differences)


def _difference(name: str, current: Iterable[str], wanted: Iterable[str]
                ) -> Difference | None:
    have, want = set(current), set(wanted)
    if have == want:
        return None
    return Difference(name, tuple(sorted(have - want)), tuple(sorted(want - have)))


class _ReconcileAudit(Audited):
    """The audit line of a reconcile write; a violation names its rule (``code``)."""

    def removed(self, violation: RuleViolation, differences: Iterable[Difference]) -> None:
        self.done(None, result="access-removed", rule=violation.rule, code=violation.rule,
                  detail=f"{violation.message}; " + "; ".join(
                      d.describe() for d in differences))


def reconcile(directory: Directory, catalog: Catalog, actor: Actor, *,
              dry_run: bool = False, page_size: int = PAGE,
              locks: ResourceLocks | None = None, lock_scope: str = "",
              progress: Callable[[str], None] | None = None) -> Report:
    """Convenience: one pass of :class:`CatalogReconciler`."""
    return CatalogReconciler(directory, catalog, page_size=page_size, locks=locks,
                             lock_scope=lock_scope).run(actor, dry_run=dry_run,
                                                        progress=progress)
