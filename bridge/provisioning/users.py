"""SCIM Users as Keycloak users: reads, the writes (create, PUT, PATCH, DELETE) and their
rules (tenant binding, shared users, the operator's lock on ``active``, the catalog state).

* create user: ``POST /users`` with every attribute (one write: a retry cannot find a
  half-written user) = 1; the response is built from what was written;
* get user: ``GET /users/{id}`` + ``GET /users/{id}/groups`` = 2;
* a write (PUT, PATCH, DELETE) reads the user fresh under its lock, re-checks that it is
  not a protected account, and writes once.

``active`` belongs to an operator once an operator used it: leaving ``active`` out (a PUT
without it, a PATCH removing it) never changes whether a user is enabled; a user disabled
outside SCIM (no ``scim.disabledBySCIM`` mark: the admin console, the bridge's API or CLI,
a brute-force lockout) stays disabled until an operator enables it, and a SCIM
``active: true`` is refused with 403 ``scim.operator-lock`` (its audit event names the rule).
"""

from __future__ import annotations

import logging
from typing import Any

from scim2_models import Context, PatchOp, Resource

from bridge import errors as domain
from bridge.audit import with_rule
from bridge.catalog.apply import StatePlan, apply_user_state, plan_user_state
from bridge.catalog.mapping import TENANTS, assignment_from_attributes, user_state
from bridge.catalog.rules import InvariantViolation
from bridge.keycloak import users as kc_users
from bridge.provisioning.access_schema import AccessExtension
from bridge.provisioning.catalog_access import CatalogAccess, tenant_names
from bridge.provisioning.mapping import (
    CREATED,
    LAST_MODIFIED,
    SCIM_DISABLED,
)
from bridge.provisioning.protected_accounts import check_not_reserved
from bridge.provisioning.state import BackendState, asks_for, gone_is_done, made_by, same
from bridge.provisioning.tenancy import AccessTenancy
from bridge.tenants.invariants import Pass
from bridge.tenants.membership import LiveTenants, StaticTenants, TenantView
from bridge.tenants.store import TenantStore
from scim import errors
from scim.backend import (
    Precondition,
    Projection,
    Subject,
    apply_patch,
    check_precondition,
)

logger = logging.getLogger(__name__)

_EXTENSION_KEYS = {"user_type": "userType"}
"""Python field names of the access extension whose SCIM name differs."""

_TENANCY = AccessTenancy()
_STATIC = StaticTenants()


class UserStore(BackendState):
    """The user half of the backend (see the module docstring)."""

    def _create_user(self, subject: Subject, resource: Resource[Any]) -> Resource[Any]:
        check_not_reserved(resource.user_name)
        user = resource
        if subject.tenant is not None:
            # Binding the tenant edits the user: edit a copy, never the caller's object.
            # Without a tenant nothing writes to it (to_keycloak only reads), so the
            # deep copy (~50 us per create) is skipped.
            user = resource.model_copy(deep=True)
            self._bind_tenant(subject, user)
        facts = self._new_facts(user)
        if facts is None:
            return self._create_checked(subject, user)
        # A first user without profile gets the tenant's default (seed 004): counted and
        # created under the tenants' locks. Any other create counts nothing.
        with self.invariants.first_user(facts) as wanted:
            if wanted.profiles != facts.profiles:
                user = user.model_copy(deep=True) if user is resource else user
                access = user[AccessExtension]
                access.profile = wanted.profiles[0]
                access.profiles = list(wanted.profiles)
                user[AccessExtension] = access
            return self._create_checked(subject, user)

    def _new_facts(self, user: Resource[Any]) -> Any:
        """The facts of a user to create, when a tenant default may apply to them."""
        facts_of = getattr(self.user_mapping.domain, "facts", None)
        if facts_of is None or user[AccessExtension] is None:
            return None
        facts = facts_of(user[AccessExtension].model_dump(mode="json", by_alias=True))
        return facts if facts is not None and self.invariants.needs_default(facts) else None

    def _create_checked(self, subject: Subject, user: Resource[Any]) -> Resource[Any]:
        live, view = self._live_domain(subject, user, None)
        self._authorize_user_write(subject, user, None, live)
        rep = self.user_mapping.to_keycloak(user, domain=live)
        rep["attributes"][CREATED] = list(rep["attributes"][LAST_MODIFIED])
        if not rep["enabled"]:
            rep["attributes"][SCIM_DISABLED] = ["true"]
        try:
            user_id = kc_users.create(self.gw, self.realm, rep)
        except (domain.Unavailable, domain.Duplicate) as failure:
            found = self._created_user(rep, failure)
            self._join_created(found["id"], found, live, view)
            return self.user_mapping.from_keycloak(found)
        rep = self._join_created(user_id, {**rep, "id": user_id}, live, view)
        # One write and no read back: the response is what Keycloak now stores, in the
        # canonical form the ETag hashes (ids and lowercasing are all Keycloak adds).
        stored = {**rep, "id": user_id, "username": rep["username"].lower(),
                  "email": (rep.get("email") or "").lower() or None}
        return self.user_mapping.from_keycloak(stored)

    def _replace_user(self, subject: Subject, user_id: str, resource: Resource[Any],
                      if_match: Precondition | None) -> Resource[Any]:
        def replace(step: Pass) -> dict[str, Any]:
            current = self._writable_user(subject, user_id)
            check_precondition(self.user_mapping.from_keycloak(current), if_match)
            user = resource.model_copy(deep=True)
            self._bind_tenant(subject, user)
            live, view = self._live_domain(subject, user, current)
            self._authorize_user_write(subject, user, current, live)
            return self._write_user(subject, current, user, step, live, view)

        stored = self.invariants.user_write(user_id, replace)
        return self.user_mapping.from_keycloak(stored, self._user_groups(subject, user_id))

    def _delete_user(self, subject: Subject, user_id: str,
                     if_match: Precondition | None) -> None:
        def delete(step: Pass) -> None:
            current = self._writable_user(subject, user_id)
            check_precondition(self.user_mapping.from_keycloak(current), if_match)
            live, _view = self._live_domain(subject, None, current)
            self._authorize_user_write(subject, None, current, live)
            self._keep_invariants(step, current, None, False)
            with gone_is_done():  # a retried DELETE meets the first one's result
                kc_users.delete(self.gw, self.realm, user_id)

        self.invariants.user_write(user_id, delete)

    def _keep_invariants(self, step: Pass, current: dict[str, Any],
                         after: dict[str, Any] | None, enabled: bool) -> None:
        """The tenants' invariants (seed 004: the last Administrator stays): SCIM 409,
        the rule first in ``detail``. 409, the request conflicts with the current state
        of the tenant; no scimType, since RFC 7644's only one for 409 (``uniqueness``)
        would tell a client to look for a duplicate."""
        try:
            step.keep(current.get("attributes") or {}, bool(current.get("enabled", True)),
                      after, enabled)
        except InvariantViolation as exc:
            refused = getattr(self.user_mapping.domain, "refused", None)
            if refused is not None:
                refused(exc.rule)
            raise with_rule(errors.Conflict(str(exc)), exc.rule) from None

    def _user_rep(self, subject: Subject, user_id: str, *, for_write: bool = False
                  ) -> dict[str, Any] | None:
        """The user, if the subject may see it: never a protected account (404 alike).
        A read hides through the protected set (cached); a write re-checks freshly."""
        try:
            rep = kc_users.get(self.gw, self.realm, user_id)
        except domain.NotFound:
            return None
        if not self._user_visible(subject, rep):
            return None
        if self._protected_for_write(subject, rep) if for_write else self._hidden(rep):
            return None
        return rep

    def _existing_user(self, subject: Subject, user_id: str, *, for_write: bool = False
                       ) -> dict[str, Any]:
        rep = self._user_rep(subject, user_id, for_write=for_write)
        if rep is None:
            raise errors.NotFound(f"User {user_id!r} not found")
        return rep

    def _writable_user(self, subject: Subject, user_id: str) -> dict[str, Any]:
        """The user a write (PUT, PATCH, DELETE) may change, or a SCIM error.

        A tenant-bound client never changes, deactivates or deletes a user another tenant
        still holds: 403, the account stays as it is (issue 9: a DELETE by the client of
        one dossier removed a user of two). Only an unbound client or an operator does."""
        current = self._existing_user(subject, user_id, for_write=True)
        if subject.tenant is not None:
            others = sorted(set(self.user_mapping.tenants(current)) - {subject.tenant})
            if others:
                raise errors.Forbidden(
                    f"scim-client.shared-user: user {user_id!r} also belongs to "
                    f"{', '.join(repr(t) for t in others)}; a client bound to "
                    f"{subject.tenant!r} may not change, deactivate or delete it")
        return current

    def _live_domain(self, subject: Subject, user: Resource[Any] | None,
                     current: dict[str, Any] | None) -> tuple[Any, TenantView]:
        """The domain mapping this write computes with: with a catalog's tenancy, over the
        tenants it names or the user holds, read now (:mod:`bridge.tenants`); and the view
        that read them, which joins and leaves their organizations. No tenant named: no
        call."""
        mapping = self.user_mapping.domain
        if not isinstance(mapping, CatalogAccess) or mapping.catalog.tenancy is None:
            return mapping, _STATIC
        view = LiveTenants(TenantStore.of(self.gw, self.realm, mapping.catalog))
        if current is not None:
            # A change: the tenants are read only if its facts change (see _write_user),
            # and a tenant-bound client's own tenant, to know it still exists.
            names = {subject.tenant} if subject.tenant is not None else set()
            return mapping.live(view, names) if names else mapping, view
        access = user[AccessExtension] if user is not None else None
        extension = {"tenants": access.tenants} if access is not None else None
        names = tenant_names(extension, None)
        if subject.tenant is not None:
            names.add(subject.tenant)
        return mapping.live(view, names), view

    def _join_created(self, user_id: str, rep: dict[str, Any], live: Any,
                      view: TenantView) -> dict[str, Any]:
        """A new user joins its tenants' organizations (after the create: its id is
        needed). A cap change that listed the members before this join did not see it, so
        the caps are read again after it; if they moved, the user's permissions are
        written again (one more call, only then). Returns what is stored."""
        tenants = frozenset((rep.get("attributes") or {}).get(TENANTS) or ())
        if not tenants or not isinstance(live, CatalogAccess):
            return rep
        view.join(user_id, tenants)
        again = live.live(LiveTenants(TenantStore.of(self.gw, self.realm, live.catalog)),
                          tenants)
        if again.catalog == live.catalog or set(again.catalog.tenant_by_name) != tenants:
            return rep  # unchanged; or a tenant deleted meanwhile: its delete recomputes
        stored = rep.get("attributes") or {}
        state = user_state(again.catalog, assignment_from_attributes(again.catalog, stored))
        plan = plan_user_state(again.catalog, stored, rep.get("requiredActions") or (), state)
        if not plan.catalog_changed:
            return rep
        kc_users.update(self.gw, self.realm, user_id,
                        {**rep, "attributes": plan.attribute_lists()})
        return {**rep, "attributes": plan.attribute_lists()}

    def _authorize_user_write(self, subject: Subject, user: Resource[Any] | None,
                              current: dict[str, Any] | None, mapping: Any = None) -> None:
        """The catalog's SCIM client rules (403 naming the rule), when the domain has any;
        a client bound to a tenant that no longer exists writes nothing."""
        mapping = self.user_mapping.domain if mapping is None else mapping
        if subject.tenant is not None and isinstance(mapping, CatalogAccess):
            mapping.bound_tenant_exists(subject.client_id, subject.tenant)
        authorize = getattr(mapping, "authorize", None)
        if authorize is None:
            return
        access = user[AccessExtension] if user is not None else None
        extension = access.model_dump(scim_ctx=Context.DEFAULT, mode="json",
                                      exclude_none=True) if access is not None else None
        authorize(subject.client_id, subject.tenant, extension,
                  (current or {}).get("attributes") if current is not None else None)

    def _user_visible(self, subject: Subject, rep: dict[str, Any]) -> bool:
        return subject.tenant is None or subject.tenant in self.user_mapping.tenants(rep)

    def _bind_tenant(self, subject: Subject, user: Resource[Any]) -> None:
        """A tenant-bound client's users belong to its tenant, and to no other it names
        (the one tenancy rule, :class:`bridge.provisioning.tenancy.AccessTenancy`)."""
        if subject.tenant is not None:
            _TENANCY.bind(subject.tenant, user)

    def _write_user(self, subject: Subject, current: dict[str, Any], user: Resource[Any],
                    step: Pass, mapping: Any = None,
                    view: TenantView | None = None) -> dict[str, Any]:
        """PUT the new state (one write) unless nothing changes; returns the stored state.

        With a catalog, the user's catalog state is planned and written by
        :mod:`bridge.catalog.apply` (as the API and the reconcile do): facts the request
        does not name are kept, groups under ``/bridge/catalog`` follow, and a change that
        raises MFA or removes rights ends the user's sessions (one more call, only then).
        """
        stored_attributes = current.get("attributes") or {}
        rep = self.user_mapping.to_keycloak(user, keep=stored_attributes)
        self._keep_operator_lock(subject, current, user.active, rep)
        rep.pop("groups", None)
        rep.pop("requiredActions", None)
        domain = self.user_mapping.domain if mapping is None else mapping
        plan: StatePlan | None = None
        if isinstance(domain, CatalogAccess):
            access = user[AccessExtension]
            named = None if access is None else {
                _EXTENSION_KEYS.get(f, f) for f in access.model_fields_set}
            extension = None if access is None else access.model_dump(mode="json",
                                                                        by_alias=True)
            wanted = domain.wanted(extension, named, stored_attributes)
            if wanted is not None and view is not None and mapping is not None:
                # Facts change: the rules and the permissions need the tenants as they are
                # now (read once; a write that changes no fact reads none).
                names = tenant_names({"tenants": sorted(wanted.tenants)}, stored_attributes)
                domain = domain.live(view, names)
            state = None if wanted is None else domain.checked(wanted)
            plan = plan_user_state(domain.catalog, stored_attributes,
                                   current.get("requiredActions") or (), state,
                                   attributes=rep["attributes"])
            rep["attributes"] = plan.attribute_lists()
            actions = set(current.get("requiredActions") or ())
            if not set(plan.required_actions) <= actions:
                # Added, never dropped: a pending UPDATE_PASSWORD of an invitation stays.
                rep["requiredActions"] = list(plan.required_actions)
        if same(current, rep):
            return current
        renamed = (rep["username"] or "").lower() != (current.get("username") or "").lower()
        if renamed:
            check_not_reserved(rep["username"])
            self._check_user_name_free(rep["username"], current["id"])
        # Keycloak stores usernames lowercased: a change of case only is a change of
        # scim.userName, and sending the username would trip editUsernameAllowed=false.
        body = rep if renamed else {**rep, "username": current.get("username")}
        self._keep_invariants(step, current, body["attributes"], bool(body["enabled"]))
        writer = _ScimWriter(self, body, renamed, view or _STATIC)
        if plan is not None:
            apply_user_state(writer, current["id"], plan)
        else:
            writer.write_user(current["id"], body["attributes"],
                              body.get("requiredActions") or [])
        # active=false needs no logout call: Keycloak refuses every use of a disabled
        # user's sessions (refresh: invalid_grant "User disabled", userinfo 403,
        # introspection inactive), which the integration test checks.
        stored = {**current, **rep}
        stored["username"] = rep["username"].lower()
        stored["email"] = (rep.get("email") or "").lower() or None
        return stored

    def _keep_operator_lock(self, subject: Subject, current: dict[str, Any],
                            active: bool | None, rep: dict[str, Any]) -> None:
        """Whether the user is enabled, as SCIM may change it (issue 9):

        - ``active`` left out (a PUT without it, a PATCH removing it) never changes it;
        - a user disabled outside SCIM (no :data:`SCIM_DISABLED` mark) stays disabled until
          an operator re-enables it: a SCIM ``active: true`` is refused (403) and audited;
        - a user a SCIM client disabled, SCIM may enable again."""
        enabled = bool(current.get("enabled", True))
        attributes = rep["attributes"]
        by_scim = bool((current.get("attributes") or {}).get(SCIM_DISABLED))
        if active is None:
            rep["enabled"] = enabled
        elif active and not enabled and not by_scim:
            detail = (f"scim.operator-lock: user {current['id']!r} was disabled by an operator "
                      "outside SCIM; only an operator can enable it again")
            # Its audit event (the SCIM write refused) names the rule.
            raise with_rule(errors.Forbidden(detail), "scim.operator-lock")
        if rep["enabled"] or not (enabled or by_scim):
            # Enabled, or already disabled by an operator (whose lock it stays).
            attributes.pop(SCIM_DISABLED, None)
        else:
            attributes[SCIM_DISABLED] = ["true"]

    def _created_user(self, rep: dict[str, Any], failure: domain.DirectoryError
                      ) -> dict[str, Any]:
        """After a create whose outcome is unknown (the response was lost: 503/timeout, or a
        409 met after a retry somewhere on the way), the user this very request created;
        else ``failure`` is raised. One lookup by username; the user is ours when it
        carries every attribute sent, ``scim.created`` (to the millisecond) included, so a
        real duplicate is never mistaken for ours. Costs a call only on that failure path;
        when the lookup fails too, the original failure stands."""
        try:
            candidates = kc_users.search(self.gw, self.realm, username=rep["username"],
                                         exact="true", max=2)
        except domain.DirectoryError:
            raise failure from None
        for other in candidates:
            if made_by(other, rep):
                logger.info("a create whose response was lost had succeeded: user %s",
                            other.get("id"))
                return other
        raise failure

    def _check_user_name_free(self, user_name: str, own_id: str) -> None:
        for other in kc_users.search(self.gw, self.realm, username=user_name, exact="true",
                                     max=2):
            if other["id"] != own_id:
                raise errors.Uniqueness(f"userName {user_name!r} is already taken")

    def _patch_user(self, subject: Subject, user_id: str, patch: PatchOp[Any],
                    if_match: Precondition | None, projection: Projection) -> Resource[Any]:
        # Read, check, apply and write under the user's lock: with If-Match one writer of a
        # version wins and the others see the new version (412); without it, concurrent
        # PATCHes of different attributes each apply to the state the previous one wrote.
        def patch_user(step: Pass) -> dict[str, Any]:
            current = self._writable_user(subject, user_id)
            resource = self.user_mapping.from_keycloak(current)
            check_precondition(resource, if_match)
            working = resource.model_copy(deep=True)
            if not apply_patch(working, patch):
                return current
            working.groups = None
            self._bind_tenant(subject, working)
            live, view = self._live_domain(subject, working, current)
            self._authorize_user_write(subject, working, current, live)
            return self._write_user(subject, current, working, step, live, view)

        stored = self.invariants.user_write(user_id, patch_user)
        groups = self._user_groups(subject, user_id) if asks_for(projection, "groups") \
            else None
        return self.user_mapping.from_keycloak(stored, groups)

    def _user_groups(self, subject: Subject, user_id: str) -> list[dict[str, Any]]:
        """The managed groups (of the subject's tenant) the user belongs to."""
        found: list[dict[str, Any]] = []
        for group in self._pages(lambda first, size: kc_users.groups(
                self.gw, self.realm, user_id, first=first, max=size)):
            if self._managed(group) and self._group_visible(subject, group):
                self._remember(group)
                found.append(group)
        return found


class _ScimWriter:
    """:class:`bridge.catalog.apply.AccountWriter` for a SCIM write: the account's update
    is the whole SCIM body (names, e-mail, enabled, attributes) in one PUT."""

    def __init__(self, backend: UserStore, body: dict[str, Any],
                 renamed: bool, tenants: TenantView) -> None:
        self.backend = backend
        self.body = body
        self.renamed = renamed
        self.tenants = tenants

    def join_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        self.tenants.join(user_id, tenants)

    def leave_tenants(self, user_id: str, tenants: frozenset[str]) -> None:
        self.tenants.leave(user_id, tenants)

    def write_user(self, user_id: str, attributes: dict[str, list[str]],
                   required_actions: list[str]) -> None:
        body = {**self.body, "attributes": attributes}
        if "requiredActions" in self.body:  # else Keycloak keeps the stored ones
            body["requiredActions"] = required_actions
        try:
            kc_users.update(self.backend.gw, self.backend.realm, user_id, body)
        except domain.Refused as exc:
            if self.renamed and exc.read_only:
                raise errors.Mutability(
                    "userName cannot change in this realm (Keycloak's editUsernameAllowed "
                    "is off)") from None
            raise

    def set_groups(self, user_id: str, root: str, wanted: frozenset[str]) -> None:
        kc_users.set_groups_under(self.backend.gw, self.backend.realm, user_id, root, wanted,
                                  self.backend._domain_group_ids)

    def logout(self, user_id: str) -> None:
        kc_users.logout(self.backend.gw, self.backend.realm, user_id)
