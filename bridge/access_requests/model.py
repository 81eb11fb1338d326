"""An access request and how it is stored: on its requester's Keycloak user, one
multi-valued attribute per request (``bridge.request.<token>``), each value ``key=value``
of at most :data:`MAX_VALUE` characters (docs/access-catalog.md, "Access requests", says
why the requester's user and not the tenant's organization)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace

PREFIX = "bridge.request."
"""The attribute of one request: ``bridge.request.<token>``."""
REQUESTER = "bridge.requester"
"""``["true"]`` on every user holding requests: how the operator's listing finds them."""
MAX_VALUE = 255
"""The longest stored value (``key=value``), Keycloak's limit for organization attributes
and the bound the bridge keeps for every attribute it writes."""
MAX_NAME = 100
"""The longest first or last name a request carries."""
MAX_EMAIL = 240
"""The longest e-mail a request carries (its value is ``email=<address>``)."""
MAX_REASON = 240
"""The longest reason a decline carries."""

PENDING, APPROVED, DECLINED, EXPIRED = "pending", "approved", "declined", "expired"
STATES = (PENDING, APPROVED, DECLINED, EXPIRED)

_TOKEN = re.compile(r"^[0-9a-f]{16}$")
_USER_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


@dataclass(frozen=True)
class AccessRequest:
    """One request for a new user of one tenant, made by a user of the product. Its ``id``
    is ``<requester's user id>.<token>``: the store reads it with one ``GET /users/{id}``;
    a forged id names no request (404)."""

    id: str
    requester_id: str
    requester: str
    """The requester's actor name (``user:<username>``)."""
    tenant: str
    email: str
    first_name: str
    last_name: str
    profile: str
    """The profile asked for."""
    status: str
    """The catalog status of the user to invite (the requester's own)."""
    language: str
    created_at: str
    expires_at: str
    state: str = PENDING
    """As stored: ``pending``, ``approved`` or ``declined`` (``expired`` is computed)."""
    decided_by: str | None = None
    decided_at: str | None = None
    granted_profile: str | None = None
    reason: str | None = None
    invitee_id: str | None = None

    @property
    def token(self) -> str:
        return self.id.rpartition(".")[2]

    @property
    def attribute(self) -> str:
        return PREFIX + self.token

    def state_at(self, now_iso: str) -> str:
        """``expired`` for a pending request past its expiry (ISO-8601 UTC strings compare
        as times), else the stored state."""
        if self.state == PENDING and now_iso >= self.expires_at:
            return EXPIRED
        return self.state

    def decided(self, **changes: str | None) -> AccessRequest:
        return replace(self, **changes)  # type: ignore[arg-type]


# The stored keys of each field (short: every value stays within MAX_VALUE).
_KEYS = {"tenant": "tenant", "email": "email", "first_name": "first", "last_name": "last",
         "profile": "profile", "status": "status", "language": "lang",
         "created_at": "created", "expires_at": "expires", "state": "state",
         "decided_by": "by", "decided_at": "at", "granted_profile": "granted",
         "reason": "reason", "invitee_id": "invitee", "requester": "requester"}
_FIELDS = {v: k for k, v in _KEYS.items()}


def new_id(requester_id: str) -> str:
    return f"{requester_id}.{secrets.token_hex(8)}"


def split_id(request_id: str) -> tuple[str, str] | None:
    """``(requester id, token)``, or None for an id no request can have."""
    user_id, dot, token = request_id.rpartition(".")
    if not dot or not _USER_ID.match(user_id) or not _TOKEN.match(token):
        return None
    return user_id, token


def to_values(request: AccessRequest) -> tuple[str, ...]:
    """The attribute's values; ValueError when one would exceed :data:`MAX_VALUE`."""
    values = []
    for f in fields(request):
        key = _KEYS.get(f.name)
        value = getattr(request, f.name)
        if key is None or value is None:
            continue
        text = f"{key}={value}"
        if len(text) > MAX_VALUE:
            raise ValueError(f"{f.name} is longer than the store keeps")
        values.append(text)
    return tuple(values)


def from_values(requester_id: str, token: str, values: Iterable[str]) -> AccessRequest | None:
    """The request stored as ``values``, None when they are not one (never raised on)."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if sep and key in _FIELDS:
            found[_FIELDS[key]] = rest
    try:
        return AccessRequest(id=f"{requester_id}.{token}", requester_id=requester_id,
                             **found)  # type: ignore[arg-type]
    except TypeError:  # a required field is missing: not a request of ours
        return None


def requests_of(requester_id: str,
                attributes: Mapping[str, Iterable[str]]) -> list[AccessRequest]:
    """Every request stored on one user, oldest first."""
    found = []
    for name, values in attributes.items():
        token = name[len(PREFIX):] if name.startswith(PREFIX) else ""
        if _TOKEN.match(token):
            request = from_values(requester_id, token, values)
            if request is not None:
                found.append(request)
    return sorted(found, key=lambda r: (r.created_at, r.id))
