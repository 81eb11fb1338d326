"""The bodies ``/api/v1`` reads and writes, as pydantic models: one definition each.

The request models validate what a route reads (a refusal is 400 ``invalid-request``
naming the field, :func:`refusal`) and turn into the use-case's values
(:mod:`bridge.invitations`); the response models render what a route answers. The OpenAPI
document (:mod:`bridge.api.openapi`) is generated from these same classes, so the document
and the code cannot disagree.

Request bodies are strict (a string is a JSON string, an integer a JSON integer, never
``"5"`` or ``true``) and closed (an unknown field is refused). ``null`` means "not given"
for an optional value, except where a field says otherwise (``profile: null``: no profile).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bridge.catalog.model import Assignment
from bridge.invitations import (
    DEFAULT_LIFESPAN,
    LANGUAGES,
    MAX_LIFESPAN,
    Facts,
    Invitation,
    InvitationRequest,
    InviteResult,
    Page,
    Profile,
    User,
)
from scim.errors import what_is_wrong

Text = Annotated[str, Field(pattern=r"\S")]
"""A string with at least one non-blank character (surrounding blanks are dropped)."""
Name = Annotated[str, Field(min_length=1)]
"""A non-empty string, kept as given (a profile, toggle, tenant or perimeter entry)."""
Names = list[Name]
Language = Literal[LANGUAGES]  # type: ignore[valid-type]
Lifespan = Annotated[int, Field(ge=1, le=MAX_LIFESPAN, description="seconds the link lives")]
PerimeterMap = dict[str, Names]
PERIMETER_HELP = 'entries per dimension, e.g. {"project": ["p1", "p2"], "team": ["t1"]}'


def _clean(value: str | None) -> str | None:
    return None if value is None else value.strip()


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class _Facts(_Request):
    """The catalog facts a request may set (absent: unchanged)."""

    user_type: Text | None = Field(None, description="internal / external (default: the "
                                   "status's)")
    status: Text | None = Field(None, description="a status of the catalog")
    profile: Name | None = Field(None, description="the profile; `null`: no profile. Or "
                                 "give `profiles`")
    profiles: Names | None = Field(None, description="profiles (catalogs allowing several)")
    toggles: Names | None = Field(None, description="per-user toggles")
    perimeter: PerimeterMap | None = Field(None, description=PERIMETER_HELP)
    tenants: Names | None = Field(None, description="the user's tenants (dossiers), all of "
                                  "them, replacing the current ones; or give `tenant`")
    tenant: Text = Field(  # type: ignore[assignment]
        None, description="one tenant (dossier) this change is for: added, the others kept. "
        "A profile is per user (seed 004): with `profile`, a different profile is refused "
        "(`profile.per-tenant`) while the user keeps other tenants")

    @model_validator(mode="after")
    def _one_of_each(self) -> _Facts:
        given = self.model_fields_set
        if {"profile", "profiles"} <= given:
            raise ValueError("give profile or profiles, not both")
        if {"tenant", "tenants"} <= given:
            raise ValueError("give tenant or tenants, not both")
        return self

    def facts(self) -> Facts:
        profiles = None if self.profiles is None else tuple(self.profiles)
        if "profile" in self.model_fields_set:
            profiles = (self.profile,) if self.profile else ()
        tenants = None if self.tenants is None else frozenset(self.tenants)
        # ``tenant``: the one tenant this change is for, added, never replacing the others
        # (see Facts.for_tenants); ``tenants``: all of them.
        for_tenants = None if self.tenant is None else frozenset({self.tenant.strip()})
        return Facts(
            user_type=_clean(self.user_type), status=_clean(self.status), profiles=profiles,
            toggles=None if self.toggles is None else frozenset(self.toggles),
            perimeter=None if self.perimeter is None else {
                dimension: tuple(values) for dimension, values in self.perimeter.items()},
            tenants=tenants, for_tenants=for_tenants)


class InvitationBody(_Facts):
    """Who to invite, with which catalog facts (``status`` is required by the use-case:
    400 ``invalid-request`` without it)."""

    email: Text = Field(description="the invitee's e-mail address (one account per address)")
    language: Language = Field("en", description="the activation mail's language")
    first_name: Text | None = None
    last_name: Text | None = None
    client_id: Text | None = Field(None, description="the client to return to after "
                                   "activation (default: the catalog's, portal)")
    redirect_uri: Text | None = Field(None, description="where the activation page links "
                                      "back to (a redirect URI of that client)")
    lifespan: Lifespan = DEFAULT_LIFESPAN

    def request(self) -> InvitationRequest:
        return InvitationRequest(
            email=self.email.strip(), facts=self.facts(), language=self.language,
            first_name=_clean(self.first_name), last_name=_clean(self.last_name),
            client_id=_clean(self.client_id), redirect_uri=_clean(self.redirect_uri),
            lifespan=self.lifespan)


class ResendBody(_Request):
    """An optional body: the new link's lifespan."""

    lifespan: Lifespan = DEFAULT_LIFESPAN


class UserChange(_Facts):
    """What to change (absent: unchanged)."""

    language: Language | None = None
    first_name: Text | None = None
    last_name: Text | None = None

    def profile_change(self) -> Profile:
        return Profile(facts=self.facts(), first_name=_clean(self.first_name),
                       last_name=_clean(self.last_name), language=self.language)


class InvitationQuery(BaseModel):
    """``GET /invitations`` query parameters (strings on the wire, read as their types); an
    unknown one is refused, as an unknown body field is."""

    model_config = ConfigDict(extra="forbid")

    first: int = Field(0, ge=0, description="offset of the page")
    max: int = Field(50, ge=1, le=200, description="largest page")
    state: Literal["all", "pending"] = Field("all", description="`pending`: without the "
                                             "expired ones")


def refusal(exc: ValidationError) -> str:
    """One line naming each refused field, for the ``detail`` of a 400."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"])
        # The SCIM layer's words for a refused value (never pydantic's own text).
        message = "unknown field" if error["type"] == "extra_forbidden" else what_is_wrong(error)
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


# -- responses ------------------------------------------------------------------------------

class _Response(BaseModel):
    # Closed: a key the domain adds without a model here fails loudly (tests), never drifts
    # from the document silently.
    model_config = ConfigDict(extra="forbid")


class _FactsOut(_Response):
    user_type: str | None
    status: str | None
    profiles: list[str]
    toggles: list[str]
    perimeter: dict[str, list[str]] = Field(description=PERIMETER_HELP)
    tenants: list[str]


def _facts_out(a: Assignment | None) -> dict[str, Any]:
    """The catalog facts' fields of a user or an invitation (none: it holds no status)."""
    if a is None:
        return {"user_type": None, "status": None, "profiles": [], "toggles": [],
                "perimeter": {}, "tenants": []}
    return {"user_type": a.user_type, "status": a.status, "profiles": list(a.profiles),
            "toggles": sorted(a.toggles), "perimeter": a.perimeter_by_dimension(),
            "tenants": sorted(a.tenants)}


class InvitationOut(_FactsOut):
    id: str = Field(description="the invitation's id (the invited user's id)")
    email: str
    state: Literal["pending", "expired", "activated"]
    language: str | None
    invited_by: str | None = Field(description="`user:<username>` or `operator:<name>`")
    sent_at: str | None = Field(json_schema_extra={"format": "date-time"})
    expires_at: str | None = Field(json_schema_extra={"format": "date-time"})
    client_id: str | None
    redirect_uri: str | None

    @classmethod
    def of(cls, i: Invitation) -> InvitationOut:
        return cls.model_validate({
            "id": i.id, "email": i.email, "state": i.state, "language": i.language,
            "invited_by": i.invited_by, "sent_at": i.sent_at, "expires_at": i.expires_at,
            "client_id": i.client_id, "redirect_uri": i.redirect_uri,
            **_facts_out(i.assignment)})


class UserOut(_FactsOut):
    id: str = Field(description="the Keycloak user id")
    username: str
    email: str
    enabled: bool
    activated: bool
    language: str | None
    first_name: str | None
    last_name: str | None
    permissions: list[str]

    @classmethod
    def of(cls, u: User) -> UserOut:
        return cls.model_validate({
            "id": u.id, "username": u.username, "email": u.email, "enabled": u.enabled,
            "activated": u.activated, "language": u.language, "first_name": u.first_name,
            "last_name": u.last_name, **_facts_out(u.assignment),
            "permissions": list(u.permissions)})


class InvitationOutcome(_Response):
    outcome: Literal["invited", "already-invited", "resent"]
    invitation: InvitationOut

    @classmethod
    def of(cls, result: InviteResult) -> InvitationOutcome:
        return cls(outcome=result.outcome,  # type: ignore[arg-type]
                   invitation=InvitationOut.of(result.invitation))


class InvitationPage(_Response):
    items: list[InvitationOut]
    first: int
    max: int
    next: int | None = Field(description="offset of the next page; null at the end")

    @classmethod
    def of(cls, page: Page) -> InvitationPage:
        return cls(items=[InvitationOut.of(i) for i in page.items], first=page.first,
                   max=page.max, next=page.next)


class UserOutcome(_Response):
    outcome: Literal["updated", "deactivated", "reactivated"]
    user: UserOut


class MyPerimeter(_Response):
    perimeter: dict[str, list[str]] = Field(description=PERIMETER_HELP)
    perimeter_ref: str | None = Field(description="the digest the token's `perimeter_ref` "
                                      "claim carries; null for an empty perimeter")


class MyAccess(_Response):
    tenants: list[str] = Field(description="the caller's tenants (the `tenants` claim, or "
                               "what its `access_ref` stands for)")
    permissions: list[str] = Field(description="the caller's effective permissions, as the "
                                   "`permissions` claim writes them (`<permission>` held in "
                                   "every tenant, `<permission>@<tenant>` in some)")
    access_ref: str | None = Field(description="the digest the token's `access_ref` claim "
                                   "carries; null when the token carries the values inline")


class Error(BaseModel):
    """Every refusal and failure. Some carry more: a 409 says what happened (``outcome``)
    and what it found."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="a stable code, or the catalog rule refusing")
    detail: str = Field(description="for people")
    outcome: str | None = Field(None, description="409: what happened")

