"""``/api/v1/access-requests``: a user of the product asks for a new user of one of its
tenants (seed 004: a client user who may not invite), and lists its own requests. The
responsible decides on the review pages the request mail links to
(:mod:`bridge.access_requests.web`); operators with ``bridge request``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from flask import Response, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from bridge.access_requests.model import MAX_EMAIL, MAX_NAME, AccessRequest
from bridge.access_requests.service import LIFESPAN, MAX_PENDING, AccessRequests, NewRequest
from bridge.access_requests.words import LANGUAGES
from bridge.api.openapi import Operation, Reply, refused
from bridge.invitations import NotFound

Line = Annotated[str, Field(min_length=1, max_length=MAX_NAME, pattern=r"^[^\n\r]*\S")]


class AccessRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: Annotated[str, Field(min_length=3, max_length=MAX_EMAIL)]
    first_name: Line
    last_name: Line
    profile: Annotated[str, Field(min_length=1, description="the profile asked for; the "
                                  "responsible confirms it or grants a lower one")]
    tenant: Annotated[str, Field(min_length=1, description="a tenant (dossier) the "
                                 "requester belongs to")]
    language: Literal[LANGUAGES] | None = Field(  # type: ignore[valid-type]
        None, description="the invitee's language (default: the requester's)")

    def request(self) -> NewRequest:
        return NewRequest(tenant=self.tenant, email=self.email, first_name=self.first_name,
                          last_name=self.last_name, profile=self.profile,
                          language=self.language)


class AccessRequestOut(BaseModel):
    id: str
    state: Literal["pending", "approved", "declined", "expired"]
    tenant: str
    email: str
    first_name: str
    last_name: str
    profile: str = Field(description="the profile asked for")
    granted_profile: str | None = Field(None, description="the profile approved")
    language: str
    requester: str
    created_at: str
    expires_at: str = Field(description=f"pending at most {LIFESPAN // 86400} days")
    decided_by: str | None = None
    decided_at: str | None = None
    reason: str | None = Field(None, description="why it was declined")
    invitee_id: str | None = Field(None, description="the invitation (user id) approving "
                                   "made")

    @classmethod
    def of(cls, request: AccessRequest, state: str) -> AccessRequestOut:
        return cls(id=request.id, state=state, tenant=request.tenant, email=request.email,
                   first_name=request.first_name, last_name=request.last_name,
                   profile=request.profile, granted_profile=request.granted_profile,
                   language=request.language, requester=request.requester,
                   created_at=request.created_at, expires_at=request.expires_at,
                   decided_by=request.decided_by, decided_at=request.decided_at,
                   reason=request.reason, invitee_id=request.invitee_id)


class AccessRequestList(BaseModel):
    items: list[AccessRequestOut]


def register(route: Callable[[Operation], Callable[[Callable[..., Any]], Any]],
             service: AccessRequests) -> None:
    """Declare the routes with the API blueprint's ``route`` (its authentication, errors
    and OpenAPI document apply)."""

    def svc() -> AccessRequests:
        return service

    @route(Operation(
        "POST", "/access-requests", "requestAccess", "Ask for a new user of a tenant",
        body=AccessRequestBody,
        description=(
            "For a user of the product who may not invite (seed 004's client users): the "
            "request is mailed, in each one's language, to the tenant's responsible (its "
            "organization attribute `bridge.responsible`: `user:<username>` or `role:<realm "
            "role>`, every holder up to 20), whose links open the bridge's review page "
            "after sign-in. Approving sends the invitation with the profile asked or a "
            "lower one; declining mails the requester the reason. A request is pending "
            f"at most {LIFESPAN // 86400} days; a requester has at most {MAX_PENDING} "
            "pending at once."),
        replies={201: Reply("Requested; the responsible is mailed", AccessRequestOut,
                            headers={"Location": {"schema": {"type": "string"},
                                                  "description": "the request"}}),
                 403: refused("`request.not-member`: the tenant is not one of the "
                              "requester's"),
                 409: refused("`request.duplicate` (pending for this e-mail and tenant), "
                              "`request.too-many`, `request.no-responsible`, "
                              "`tenant.suspended`")}))
    def request_access(body: AccessRequestBody) -> tuple[Response, int]:
        made = svc().submit(g.actor, body.request())
        response = jsonify(AccessRequestOut.of(made, "pending").model_dump(mode="json"))
        response.headers["Location"] = f"/api/v1/access-requests/{made.id}"
        return response, 201

    @route(Operation(
        "GET", "/access-requests", "myAccessRequests", "The caller's own access requests",
        replies={200: Reply("Every request the caller made that is still kept (at most "
                            "20, oldest first)", AccessRequestList)}))
    def my_access_requests() -> Response:
        s = svc()
        items = [AccessRequestOut.of(r, s.state(r)) for r in s.mine(g.actor)]
        return jsonify(AccessRequestList(items=items).model_dump(mode="json"))

    @route(Operation(
        "GET", "/access-requests/<id>", "getAccessRequest", "One of the caller's requests",
        path_description="the request's id",
        replies={200: Reply("The request", AccessRequestOut)}))
    def get_access_request(id: str) -> Response:
        s = svc()
        found = next((r for r in s.mine(g.actor) if r.id == id), None)
        if found is None:
            raise NotFound("no such access request")
        return jsonify(AccessRequestOut.of(found, s.state(found)).model_dump(mode="json"))
