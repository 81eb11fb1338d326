"""The refusals of the invitation and lifecycle use-cases, each with its wire identity
(HTTP status and stable code): the API renders them, the CLI prints them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.catalog.rules import InvariantViolation, RuleViolation
from bridge.errors import MissingGroups, OrganizationsDisabled

# -- errors: one base, each with its wire identity (the API renders them, the CLI prints) --

class LifecycleError(Exception):
    """A refused or failed invitation or lifecycle action. ``code`` is stable (a catalog
    rule's name for rule violations), ``detail`` is for people; no secret in either."""

    status = 400
    code = "invalid-request"
    rule: str | None = None
    """The catalog rule that refused it (its audit event names it); None for other refusals."""

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


class InvariantRefused(RuleRefused):
    """A tenant's invariant refuses the change (``tenant.invariant``: the last active
    Administrator of a dossier stays): 409, the tenant's state conflicts with it; the body
    names the invariant and the tenant."""

    status = 409


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


class CatalogNotApplied(Unavailable):
    """The realm lacks what the access catalog needs (its groups): the catalog in use was
    never applied to this realm. An operator's fix, named in ``detail``."""

    code = "catalog-not-applied"

    @classmethod
    def of_error(cls, exc: MissingGroups) -> CatalogNotApplied:
        if isinstance(exc, OrganizationsDisabled):
            return cls(f"realm {exc.realm!r} has no organizations (the catalog's tenants): "
                       "the access catalog in use (BRIDGE_CATALOG) is not applied to it; "
                       "apply it with `bridge realm apply realm-config <the catalog's "
                       "directory>`")
        return cls.of(exc.realm, exc.paths)

    @classmethod
    def of(cls, realm: str, paths: tuple[str, ...]) -> CatalogNotApplied:
        return cls(f"realm {realm!r} has no group {', '.join(paths)}: the access catalog in "
                   "use (BRIDGE_CATALOG) is not applied to it; apply it with `bridge realm "
                   "apply realm-config <the catalog's directory>`")


def refusal(exc: RuleViolation) -> LifecycleError:
    """A catalog rule's refusal as the use-cases raise it."""
    error: LifecycleError
    if isinstance(exc, InvariantViolation):
        error = InvariantRefused(exc.message, code=exc.rule, body={
            "invariant": exc.invariant.name, "tenant": exc.tenant})
    elif exc.rule.startswith("delegation."):
        error = AccessDenied(exc.message, code=exc.rule)
    else:
        error = RuleRefused(exc.message, code=exc.rule)
    error.rule = exc.rule
    return error
