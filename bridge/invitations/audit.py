"""The audit line: every use-case writes one JSON line to the ``bridge.audit`` logger (time,
actor, action, target, outcome, and the rule of a refusal); never a token, password or link."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from bridge import errors as domain
from bridge.invitations.errors import LifecycleError
from bridge.invitations.values import Actor, iso_utc

audit_log = logging.getLogger("bridge.audit")


class Audited:
    """One JSON line per use-case on ``bridge.audit``: what was done, or why not."""

    def __init__(self, actor: Actor, action: str, target: dict[str, Any]) -> None:
        self.actor = actor
        self.action = action
        self.target = target
        self.logged = False

    def __enter__(self) -> Audited:
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
        elif isinstance(exc, domain.DirectoryError):
            self._write("failed", code="keycloak", detail=type(exc).__name__)
        else:
            self._write("failed", code="internal", detail=type(exc).__name__)

    def _write(self, outcome: str, **extra: str) -> None:
        self.logged = True
        line = {"time": iso_utc(time.time()), "actor": self.actor.name, "action": self.action,
                "target": dict(self.target), "outcome": outcome, **extra}
        audit_log.info(json.dumps(line, sort_keys=True, ensure_ascii=False))
