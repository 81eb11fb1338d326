"""The use-cases' audit events: :class:`bridge.audit.Audited` with the use-case's
:class:`~bridge.invitations.values.Actor` (one event per use-case; never a token,
password or link)."""

from __future__ import annotations

from typing import Any

from bridge import audit
from bridge.invitations.values import Actor


class Audited(audit.Audited):
    """One audit event per use-case: what was done, or why not."""

    def __init__(self, actor: Actor, action: str, target: dict[str, Any]) -> None:
        super().__init__(actor.name, action, target)
