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
``DELETE /tenants/{alias}``         ``delete``     204; 409 while it has members unless
                                                   ``remove_members=true``
==================================  =============  =======================================

A tenant outside the actor's reach reads as 404 to a reader (it cannot tell which tenants
exist), and as 403 ``delegation.tenant`` to a write the actor's rules would allow elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Protocol

from flask import Response, g, jsonify
from pydantic import BaseModel, ConfigDict, Field

from bridge.api.openapi import Operation, Reply, refused
from bridge.catalog import managers
from bridge.catalog.model import NAME, PERMISSION, Catalog
from bridge.catalog.rules import RuleViolation
from bridge.invitations import Actor
from bridge.invitations.errors import refusal
from bridge.tenants.model import LiveTenant
from bridge.tenants.store import TenantNotFound

MAX_PAGE = 200


class TenantOperations(Protocol):
    """The tenants' use-cases the routes call (``actor`` is audited by them)."""

    catalog: Catalog

    def list(self, *, first: int, max: int) -> list[LiveTenant]: ...

    def show(self, alias: str) -> LiveTenant: ...

    def add(self, actor: Actor, alias: str, label: str,
            caps: tuple[str, ...] = ()) -> LiveTenant: ...

    def rename(self, actor: Actor, alias: str, label: str) -> LiveTenant: ...

    def set_caps(self, actor: Actor, alias: str, caps: tuple[str, ...]) -> LiveTenant: ...

    def suspend(self, actor: Actor, alias: str) -> LiveTenant: ...

    def resume(self, actor: Actor, alias: str) -> LiveTenant: ...

    def delete(self, actor: Actor, alias: str, *, remove_members: bool = False) -> None: ...


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


class TenantPage(BaseModel):
    items: list[TenantOut]
    first: int
    max: int
    next: int | None = Field(description="offset of the next page; null at the end")


# -- routes ---------------------------------------------------------------------------------

Route = Callable[[Operation], Callable[[Callable[..., Any]], Callable[..., Any]]]


def register(route: Route, tenants: Callable[[], TenantOperations]) -> None:
    """Declare the tenants' routes on the blueprint's ``route``."""

    def catalog() -> Catalog:
        return tenants().catalog

    def allowed(operation: str, alias: str) -> Actor:
        actor: Actor = g.actor
        assert actor.assignment is not None
        try:
            managers.check_operation(catalog(), actor.assignment, operation, alias)
        except RuleViolation as exc:
            raise refusal(exc) from None
        return actor

    def reach() -> managers.Reach:
        actor: Actor = g.actor
        assert actor.assignment is not None
        try:
            return managers.reach(catalog(), actor.assignment)
        except RuleViolation as exc:
            raise refusal(exc) from None

    def ruled(call: Callable[[], Any]) -> Any:
        """A use-case's catalog refusal (``tenant.caps``...) as the API answers rules."""
        try:
            return call()
        except RuleViolation as exc:
            raise refusal(exc) from None

    label = "tenant"
    alias_help = "the tenant's alias (its identifier)"
    one = {200: Reply("The tenant", TenantOut)}
    refusals = ("`delegation.tenant-manager` (no `tenancy.managers` rule lets the actor do "
                "this; `detail` names the rules) or `delegation.tenant` (only its own "
                "tenants)")

    @route(Operation(
        "GET", "/tenants", "listTenants", "Tenants the caller may manage",
        query=TenantQuery,
        description=("Every tenant for an actor a `tenancy.managers` rule lets manage all; "
                     "its own tenants for an actor whose rules say `own_tenants_only`."),
        replies={200: Reply("One page (it may hold fewer than `max` items)", TenantPage),
                 403: refused(refusals)}))
    def list_tenants(query: TenantQuery) -> Response:
        scope = reach()
        if scope.every:
            items = tenants().list(first=query.first, max=query.max)
        else:
            own = sorted(scope.own)[query.first:query.first + query.max]
            items = [t for t in (_find(tenants(), a) for a in own) if t is not None]
        more = len(items) == query.max
        return _json(TenantPage(items=[TenantOut.of(t) for t in items], first=query.first,
                                max=query.max,
                                next=query.first + query.max if more else None))

    @route(Operation(
        "POST", "/tenants", "addTenant", f"Create a {label}", body=TenantBody,
        replies={201: Reply("Created", TenantOut, headers={"Location": {
                     "schema": {"type": "string"}, "description": "the tenant"}}),
                 403: refused(refusals),
                 409: refused("`conflict`: a tenant of that alias or label exists")}))
    def add_tenant(body: TenantBody) -> tuple[Response, int]:
        actor = allowed("add", body.alias)
        tenant = ruled(lambda: tenants().add(actor, body.alias, body.label.strip(),
                                             tuple(body.caps)))
        response = _json(TenantOut.of(tenant))
        response.headers["Location"] = f"/api/v1/tenants/{tenant.alias}"
        return response, 201

    @route(Operation(
        "GET", "/tenants/<alias>", "getTenant", "One tenant", path_description=alias_help,
        replies={**one, 403: refused(refusals)}))
    def get_tenant(alias: str) -> Response:
        if not reach().covers(alias):
            raise TenantNotFound(alias, catalog().tenancy.label)  # type: ignore[union-attr]
        return _json(TenantOut.of(tenants().show(alias)))

    @route(Operation(
        "PATCH", "/tenants/<alias>", "renameTenant", "Rename (its label; the alias stays)",
        path_description=alias_help, body=TenantRename,
        replies={**one, 403: refused(refusals)}))
    def rename_tenant(alias: str, body: TenantRename) -> Response:
        actor = allowed("rename", alias)
        return _json(TenantOut.of(ruled(
            lambda: tenants().rename(actor, alias, body.label.strip()))))

    @route(Operation(
        "PUT", "/tenants/<alias>/caps", "setTenantCaps",
        "Set what the tenant enables beyond the baseline",
        description=("Recomputes the tenant's members only (paged, bounded by its "
                     "membership): the next token of each shows the change. A permission "
                     "outside `tenancy.may_enable` is refused (400 `tenant.caps`)."),
        path_description=alias_help, body=TenantCaps,
        replies={**one, 403: refused(refusals)}))
    def set_caps(alias: str, body: TenantCaps) -> Response:
        actor = allowed("set-caps", alias)
        caps = tuple(body.caps)
        return _json(TenantOut.of(ruled(lambda: tenants().set_caps(actor, alias, caps))))

    @route(Operation(
        "POST", "/tenants/<alias>/suspend", "suspendTenant",
        "Suspend: its `@tenant` permissions leave the members' next tokens",
        path_description=alias_help, replies={**one, 403: refused(refusals)}))
    def suspend_tenant(alias: str) -> Response:
        actor = allowed("suspend", alias)
        return _json(TenantOut.of(ruled(lambda: tenants().suspend(actor, alias))))

    @route(Operation(
        "POST", "/tenants/<alias>/resume", "resumeTenant", "Resume a suspended tenant",
        path_description=alias_help, replies={**one, 403: refused(refusals)}))
    def resume_tenant(alias: str) -> Response:
        actor = allowed("resume", alias)
        return _json(TenantOut.of(ruled(lambda: tenants().resume(actor, alias))))

    @route(Operation(
        "DELETE", "/tenants/<alias>", "deleteTenant", "Delete the tenant",
        path_description=alias_help, query=DeleteQuery,
        replies={204: Reply("Deleted"), 403: refused(refusals),
                 409: refused("`conflict`: it has members (`remove_members=true` removes "
                              "them first)")}))
    def delete_tenant(alias: str, query: DeleteQuery) -> tuple[str, int]:
        actor = allowed("delete", alias)
        ruled(lambda: tenants().delete(actor, alias, remove_members=query.remove_members))
        return "", 204


def _find(tenants: TenantOperations, alias: str) -> LiveTenant | None:
    try:
        return tenants.show(alias)
    except TenantNotFound:
        return None  # a tenant of the actor deleted meanwhile


def _json(model: BaseModel) -> Response:
    return jsonify(model.model_dump(mode="json"))
