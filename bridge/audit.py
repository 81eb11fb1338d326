"""The audit trail: every write on every path (SCIM, ``/api/v1``, the CLI, catalog
reconcile) is one event on the ``bridge.audit`` logger, written by :func:`record`.

An event is one JSON line (``bridge.observability.logs``) with these fields:

- ``actor``: who: ``scim:<client id or static token name>``, ``user:<username>`` (a user
  of the product through ``/api/v1``), ``operator:cli:<client id>``, ``operator:reconcile``...
- ``action``: what, e.g. ``scim.user.create``, ``scim.group.patch``, ``invitation.create``,
  ``user.deactivate``, ``catalog.reconcile``;
- ``target``: which resource: ``id`` and, when known, ``username``, ``email``,
  ``display_name``, ``tenant``. Only those keys are written: never a password, token,
  secret, link or request body, whatever a caller passes;
- ``outcome``: ``ok``, ``refused`` (the request was wrong or not allowed: nothing written)
  or ``failed`` (the bridge or Keycloak could not do it);
- ``rule``: the catalog rule that refused it (or whose violation a reconcile acted on);
  ``code``: the stable reason of any refusal or failure; ``detail``: the bridge's words;
  ``result``: the use-case's own word for what an ``ok`` did (``invited``,
  ``already-invited``, ``reconciled``...);
- ``request_id`` when the write is made while serving a request (added to every line).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bridge import errors as domain

audit_log = logging.getLogger("bridge.audit")

OK = "ok"
REFUSED = "refused"
FAILED = "failed"

TARGET_KEYS = ("id", "username", "email", "display_name", "tenant")
"""The only keys of a target an event writes (see the module docstring)."""

MAX_DETAIL = 300


def record(actor: str, action: str, target: Mapping[str, Any], outcome: str, *,
           rule: str | None = None, code: str | None = None, detail: str | None = None,
           result: str | None = None) -> None:
    """Write one audit event (the one home of the audit line's shape)."""
    fields: dict[str, Any] = {
        "actor": actor, "action": action,
        "target": {k: target[k] for k in TARGET_KEYS if target.get(k) not in (None, "")},
        "outcome": outcome}
    for name, value in (("rule", rule), ("code", code), ("result", result)):
        if value:
            fields[name] = value
    if detail:
        fields["detail"] = detail[:MAX_DETAIL]
    audit_log.info("%s %s %s", action, outcome, actor, extra=fields)


def rule_of(exc: BaseException) -> str | None:
    """The catalog rule an error carries (see :func:`with_rule`), if any."""
    rule = getattr(exc, "rule", None)
    return rule if isinstance(rule, str) else None


def with_rule(error: Any, rule: str) -> Any:
    """``error``, marked as a refusal by the catalog rule ``rule`` (for its audit event)."""
    error.rule = rule
    return error


def failure(exc: BaseException) -> dict[str, Any]:
    """The ``outcome``, ``code``, ``rule`` and ``detail`` of a write that raised ``exc``.

    A 4xx error of the bridge (a SCIM error, a use-case refusal) is ``refused`` with its
    own code and words; a Keycloak failure, a 5xx or anything unexpected is ``failed``,
    named by its kind only (an unexpected exception's text may hold anything)."""
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None) or getattr(exc, "scim_type", None)
    detail = getattr(exc, "detail", None)
    if isinstance(exc, domain.DirectoryError):
        return {"outcome": FAILED, "code": "keycloak", "detail": type(exc).__name__}
    if isinstance(status, int) and isinstance(detail, str):
        outcome = REFUSED if 400 <= status < 500 else FAILED
        return {"outcome": outcome, "code": str(code or status), "rule": rule_of(exc),
                "detail": detail}
    return {"outcome": FAILED, "code": "internal", "detail": type(exc).__name__}


class Audited:
    """A write in a ``with`` block: one event when it is ``done``, or one for the
    exception that ends the block (see :func:`failure`)."""

    def __init__(self, actor: str, action: str, target: dict[str, Any]) -> None:
        self.actor = actor
        self.action = action
        self.target = target  # a caller may add to it (e.g. the id of what it created)
        self.logged = False

    def __enter__(self) -> Audited:
        return self

    def done(self, value: Any = None, result: str | None = None, **fields: Any) -> Any:
        """Record an ``ok`` (``result``: the use-case's word, else ``value.outcome``) and
        return ``value``."""
        word = result or getattr(value, "outcome", None)
        self.write(OK, result=word if isinstance(word, str) else None, **fields)
        return value

    def write(self, outcome: str, **fields: Any) -> None:
        self.logged = True
        record(self.actor, self.action, self.target, outcome, **fields)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: Any) -> None:
        if exc is not None and not self.logged:
            self.write(**failure(exc))
