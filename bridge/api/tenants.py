"""``/api/v1/tenants``: tenants (seed 004's dossiers) as data, managed by users of the product.

The routes are declared here, apart from the invitation and user routes, and registered by
:func:`bridge.api.blueprint.create_api_blueprint` through the same ``route`` (validation,
the OpenAPI document, the error funnel). Each route authenticates the actor like every
other, checks the catalog's ``tenancy.managers`` rules (:mod:`bridge.catalog.managers`:
who may do which operation on which tenants; a refusal is 403 ``delegation.tenant-manager``
or ``delegation.tenant``, naming the rule) and then calls the tenants' use-cases
(:class:`TenantOperations`, implemented by :class:`bridge.tenants.service.TenantService`),
which own the writes, the locks, the recompute of the members and the audit.

==================================  =============  =======================================
route                               operation      answer
==================================  =============  =======================================
``GET /tenants?first=&max=``        (read)         a page of the tenants the actor covers
``POST /tenants``                   ``add``        201 + ``Location``
``GET /tenants/{alias}``            (read)         the tenant
``PATCH /tenants/{alias}``          ``rename``     the tenant with its new label
``PUT /tenants/{alias}/caps``       ``set-caps``   the tenant; its members' next tokens
``POST /tenants/{alias}/suspend``   ``suspend``    the tenant; its ``@tenant`` permissions
                                                   leave its members' next tokens
``POST /tenants/{alias}/resume``    ``resume``     the tenant
``DELETE /tenants/{alias}``         ``delete``     204; 409 ``tenant.has-members`` unless
                                                   ``remove_members=true``
==================================  =============  =======================================

A tenant outside the actor's reach reads as 404 to a reader (it cannot tell which tenants
exist), and as 403 ``delegation.tenant`` to a write the actor's rules would allow elsewhere.
The use-cases' own refusals (:mod:`bridge.tenants.errors`: ``tenant.caps`` 400,
``tenant.unknown`` 404, ``tenant.exists`` and ``tenant.has-members`` 409) go through the
blueprint's funnel in the same ``{"error", "detail"}`` shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Annotated, Any, Protocol

from flask import Response, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from bridge.api.openapi import Operation, Reply, refused
from bridge.catalog import managers
from bridge.catalog.model import NAME, PERMISSION, Catalog
from bridge.catalog.rules import RuleViolation
from bridge.invitations import Actor
from bridge.invitations.errors import refusal
from bridge.tenants.errors import TenantUnknown
from bridge.tenants.model import LiveTenant
from bridge.tenants.service import TenantChange, TenantDetails, TenantPage

MAX_PAGE = 200


class TenantOperations(Protocol):
    """The tenants' use-cases the routes call: :class:`bridge.tenants.service.TenantService`
    (``actor`` is the audited name, ``user:<username>``)."""

    catalog: Catalog

    def get(self, alias: str) -> LiveTenant: ...

    def show(self, alias: str) -> TenantDetails: ...

    def list(self, first: int = 0, max: int = 100) -> TenantPage: ...

    def add(self, actor: str, alias: str, label: str | None = None,
            caps: Iterable[str] = (), responsible: str | None = None) -> LiveTenant: ...

    def set(self, actor: str, alias: str, *, label: str | None = None,
            caps: Iterable[str] | None = None) -> TenantChange: ...

    def suspend(self, actor: str, alias: str) -> TenantChange: ...

    def resume(self, actor: str, alias: str) -> TenantChange: ...

    def delete(self, actor: str, alias: str, *, remove_members: bool = False
               ) -> TenantChange: ...


# -- bodies ---------------------------------------------------------------------------------

class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Label = Annotated[str, Field(min_length=1, max_length=255, pattern=r"\S",
                             description="the tenant's label (e.g. the client company's "
                                         "name)")]
Permission = Annotated[str, Field(pattern=PERMISSION)]
CAPS_HELP = ("permissions the tenant enables beyond the catalog's baseline (within "
             "`tenancy.may_enable`)")


class TenantBody(_Request):
    alias: str = Field(pattern=NAME, description="the tenant's identifier, in tokens and "
                       "`perm@tenant` (immutable)")
    label: Label
    caps: list[Permission] = Field(default_factory=list, max_length=100,
                                   description=CAPS_HELP)


class TenantRename(_Request):
    label: Label


class TenantCaps(_Request):
    caps: list[Permission] = Field(max_length=100, description=CAPS_HELP)


class TenantQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first: int = Field(0, ge=0, description="offset of the page")
    max: int = Field(50, ge=1, le=MAX_PAGE, description="largest page")


class DeleteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    remove_members: bool = Field(False, description="remove the tenant from each member "
                                 "first (each loses its `@tenant` permissions); without it a "
                                 "tenant with members is not deleted (409)")


class TenantOut(BaseModel):
    alias: str
    label: str
    caps: list[str] = Field(description="permissions enabled beyond the baseline")
    state: str = Field(description="`active` or `suspended`")
    responsible: str | None = Field(description="`user:<username>` or `role:<role>`: who "
                                    "receives the tenant's access requests")

    @classmethod
    def of(cls, tenant: LiveTenant) -> TenantOut:
        return cls.model_validate(tenant.summary())


class TenantShown(TenantOut):
    members: int = Field(description="how many users are members")
    baseline: list[str] = Field(description="what every tenant enables (the catalog's)")
    enabled: list[str] = Field(description="what this tenant enables now: the baseline and "
                               "its caps; nothing while suspended")

    @classmethod
    def of_details(cls, details: TenantDetails) -> TenantShown:
        return cls.model_validate(details.summary())


class TenantChanged(TenantOut):
    changed: bool = Field(description="false: the tenant already was as asked")
    members_recomputed: int = Field(description="members whose state was recomputed")
    members_written: int = Field(description="members whose next token changes")
    members_busy: list[str] = Field(description="members another writer held: the next "
                                    "write of each, or `bridge catalog reconcile`, "
                                    "finishes them")

    @classmethod
    def of_change(cls, change: TenantChange) -> TenantChanged:
        return cls.model_validate(change.summary())


class TenantList(BaseModel):
    items: list[TenantOut]
    total: int | None = Field(description="tenants the caller may read")
    first: int
    max: int
    next: int | None = Field(description="offset of the next page; null at the end")


# -- routes ---------------------------------------------------------------------------------

Route = Callable[[Operation], Callable[[Callable[..., Any]], Callable[..., Any]]]


def register(route: Route, tenants: Callable[[], TenantOperations]) -> None:
    """Declare the tenants' routes on the blueprint's ``route``."""

    def catalog() -> Catalog:
        return tenants().catalog

    def allowed(operation: str, alias: str) -> str:
        """The actor's audited name, once a ``tenancy.managers`` rule allows it."""
        actor: Actor = g.actor
        assert actor.assignment is not None
        try:
            managers.check_operation(catalog(), actor.assignment, operation, alias)
        except RuleViolation as exc:
            raise refusal(exc) from None
        return actor.name

    def reach() -> managers.Reach:
        actor: Actor = g.actor
        assert actor.assignment is not None
        try:
            return managers.reach(catalog(), actor.assignment)
        except RuleViolation as exc:
            raise refusal(exc) from None

    def unknown(alias: str) -> TenantUnknown:
        label = catalog().tenancy.label  # type: ignore[union-attr]
        return TenantUnknown(f"unknown {label} {alias!r}")

    alias_help = "the tenant's alias (its identifier)"
    changed = {200: Reply("Done (`changed` false: it already was as asked)", TenantChanged),
               403: refused(REFUSALS)}

    @route(Operation(
        "GET", "/tenants", "listTenants", "Tenants the caller may manage",
        query=TenantQuery,
        description=("Every tenant (by label) for an actor a `tenancy.managers` rule lets "
                     "manage all; its own tenants (by alias) for an actor whose rules say "
                     "`own_tenants_only`."),
        replies={200: Reply("One page (it may hold fewer than `max` items)", TenantList),
                 403: refused(REFUSALS)}))
    def list_tenants(query: TenantQuery) -> Response:
        scope = reach()
        total: int | None
        if scope.every:
            page = tenants().list(first=query.first, max=query.max)
            items, total = list(page.items), page.total
        else:
            own = sorted(scope.own)
            items = [t for t in (_find(tenants(), a)
                                 for a in own[query.first:query.first + query.max]) if t]
            total = len(own)
        end = query.first + query.max
        return _json(TenantList(items=[TenantOut.of(t) for t in items], total=total,
                                first=query.first, max=query.max,
                                next=end if end < total else None))

    @route(Operation(
        "POST", "/tenants", "addTenant", "Create a tenant", body=TenantBody,
        replies={201: Reply("Created", TenantOut, headers={"Location": {
                     "schema": {"type": "string"}, "description": "the tenant"}}),
                 403: refused(REFUSALS),
                 409: refused("`tenant.exists`: a tenant of that alias or label exists")}))
    def add_tenant(body: TenantBody) -> tuple[Response, int]:
        actor = allowed("add", body.alias)
        tenant = tenants().add(actor, body.alias, body.label.strip(), tuple(body.caps))
        response = _json(TenantOut.of(tenant))
        response.headers["Location"] = f"/api/v1/tenants/{tenant.alias}"
        return response, 201

    @route(Operation(
        "GET", "/tenants/<alias>", "getTenant", "One tenant, its members count and what it "
        "enables", path_description=alias_help,
        replies={200: Reply("The tenant", TenantShown), 403: refused(REFUSALS)}))
    def get_tenant(alias: str) -> Response:
        if not reach().covers(alias):
            raise unknown(alias)  # outside the actor's reach: as if absent
        return _json(TenantShown.of_details(tenants().show(alias)))

    @route(Operation(
        "PATCH", "/tenants/<alias>", "renameTenant", "Rename (its label; the alias stays)",
        path_description=alias_help, body=TenantRename, replies=changed))
    def rename_tenant(alias: str, body: TenantRename) -> Response:
        actor = allowed("rename", alias)
        return _json(TenantChanged.of_change(
            tenants().set(actor, alias, label=body.label.strip())))

    @route(Operation(
        "PUT", "/tenants/<alias>/caps", "setTenantCaps",
        "Set what the tenant enables beyond the baseline",
        description=("Recomputes the tenant's members only (paged, bounded by its "
                     "membership): the next token of each shows the change. A permission "
                     "outside `tenancy.may_enable` is refused (400 `tenant.caps`)."),
        path_description=alias_help, body=TenantCaps, replies=changed))
    def set_caps(alias: str, body: TenantCaps) -> Response:
        actor = allowed("set-caps", alias)
        return _json(TenantChanged.of_change(tenants().set(actor, alias, caps=body.caps)))

    @route(Operation(
        "POST", "/tenants/<alias>/suspend", "suspendTenant",
        "Suspend: its `@tenant` permissions leave the members' next tokens",
        path_description=alias_help, replies=changed))
    def suspend_tenant(alias: str) -> Response:
        actor = allowed("suspend", alias)
        return _json(TenantChanged.of_change(tenants().suspend(actor, alias)))

    @route(Operation(
        "POST", "/tenants/<alias>/resume", "resumeTenant", "Resume a suspended tenant",
        path_description=alias_help, replies=changed))
    def resume_tenant(alias: str) -> Response:
        actor = allowed("resume", alias)
        return _json(TenantChanged.of_change(tenants().resume(actor, alias)))

    @route(Operation(
        "DELETE", "/tenants/<alias>", "deleteTenant", "Delete the tenant",
        path_description=alias_help, query=DeleteQuery,
        replies={204: Reply("Deleted"), 403: refused(REFUSALS),
                 409: refused("`tenant.has-members`: it has members "
                              "(`remove_members=true` removes them first)")}))
    def delete_tenant(alias: str, query: DeleteQuery) -> tuple[str, int]:
        actor = allowed("delete", alias)
        tenants().delete(actor, alias, remove_members=query.remove_members)
        return "", 204


REFUSALS = ("`delegation.tenant-manager` (no `tenancy.managers` rule lets the actor do this; "
            "`detail` names the rules) or `delegation.tenant` (only its own tenants)")


def _find(tenants: TenantOperations, alias: str) -> LiveTenant | None:
    try:
        return tenants.get(alias)
    except TenantUnknown:
        return None  # a tenant of the actor deleted meanwhile


def _json(model: BaseModel) -> Response:
    return jsonify(model.model_dump(mode="json"))
