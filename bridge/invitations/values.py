"""The values the invitation and lifecycle use-cases take and answer: the directory's
:class:`Account`, the :class:`Actor`, the requested :class:`Facts`, and the results; plus the
invitation's attribute names and limits. No behaviour beyond laying facts over an assignment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bridge.catalog.model import Assignment, PerimeterEntry

UPDATE_PASSWORD = "UPDATE_PASSWORD"  # noqa: S105 - a required action, not a secret
VERIFY_EMAIL = "VERIFY_EMAIL"
LOCALE = "locale"
INVITED_BY = "invitation.invitedBy"
SENT_AT = "invitation.sentAt"
EXPIRES_AT = "invitation.expiresAt"
CLIENT_ID = "invitation.clientId"
REDIRECT_URI = "invitation.redirectUri"
PENDING = "invitation.pending"
# Words the invitation mail shows (themes/bridge/email reads them at send time): the
# inviter's name and the tenants or perimeter invited to. Never a secret.
INVITER_NAME = "invitation.inviterName"
SCOPE = "invitation.scope"
INVITATION_ATTRIBUTES = (INVITED_BY, SENT_AT, EXPIRES_AT, CLIENT_ID, REDIRECT_URI, PENDING,
                         INVITER_NAME, SCOPE)
SCOPE_MAX = 255
"""Characters of :data:`SCOPE` at most (one attribute value): longer is cut with "…"."""

DEFAULT_LIFESPAN = 259_200
"""Seconds an activation link lives by default: 3 days (the realm's
``actionTokenGeneratedByAdminLifespan``); always passed explicitly, so ``expiresAt`` is exact."""
MAX_LIFESPAN = 30 * 86_400
LANGUAGES = ("en", "fr", "ro")


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




@dataclass(frozen=True)
class Actor:
    """Who acts. ``assignment`` None: an operator (no delegation check)."""

    name: str
    user_id: str | None = None
    assignment: Assignment | None = None
    display_name: str | None = None
    """How an invitation mail names this actor (a person's name); default: from ``name``."""
    permissions: tuple[str, ...] = ()
    """The actor's stored ``permissions`` (inline or behind its ``access_ref``): what its
    tokens carry, answered by ``GET /api/v1/me/access``."""
    access_ref: str | None = None
    """The ``access_ref`` its tokens carry (tenants and permissions over the budget)."""

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name.partition(":")[2] or self.name

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
    required_actions: tuple[str, ...] = ()
    changed: bool = True
    """False when the action found the user already as asked and wrote nothing (the CLI's
    exit 3)."""


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


def iso_utc(ts: float) -> str:
    """``ts`` as an ISO 8601 UTC time to the second (``...Z``)."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso_utc(value: str | None) -> float | None:
    """The timestamp of an :func:`iso_utc` value; None when absent or unreadable."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
