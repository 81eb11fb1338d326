""":class:`bridge.tenants.service.TenantService` in the shape the tenant routes call
(:class:`bridge.api.tenants.TenantOperations`): the actor's audit name passed through, the
tenant returned, and the service's refusals as the use-cases' errors (which the API's
error funnel answers: 400 ``tenant.caps``, 404, 409 ``tenant.exists`` /
``tenant.has-members``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from bridge.invitations import Actor
from bridge.invitations.errors import Conflict, LifecycleError, NotFound, RuleRefused
from bridge.tenants.errors import TenantError, TenantExists, TenantHasMembers, TenantUnknown
from bridge.tenants.model import LiveTenant
from bridge.tenants.service import TenantService

_T = TypeVar("_T")


def _refusals(call: Callable[..., _T]) -> Callable[..., _T]:
    @functools.wraps(call)
    def translated(*args: Any, **kwargs: Any) -> _T:
        try:
            return call(*args, **kwargs)
        except TenantError as exc:
            error: LifecycleError
            if isinstance(exc, TenantUnknown):
                error = NotFound(exc.detail, code=exc.code)
            elif isinstance(exc, TenantExists | TenantHasMembers):
                error = Conflict(exc.detail, code=exc.code)
            else:
                error = RuleRefused(exc.detail, code=exc.code)
            error.rule = exc.rule
            raise error from None
    return translated


class ServiceOperations:
    """The routes' operations over one :class:`TenantService`."""

    def __init__(self, service: TenantService) -> None:
        self.service = service
        self.catalog = service.catalog

    def list(self, *, first: int, max: int) -> list[LiveTenant]:
        return list(_refusals(self.service.list)(first, max).items)

    def show(self, alias: str) -> LiveTenant:
        return self.service.store.get(alias)  # TenantNotFound: the routes' 404

    @_refusals
    def add(self, actor: Actor, alias: str, label: str,
            caps: tuple[str, ...] = ()) -> LiveTenant:
        return self.service.add(actor.name, alias, label, caps)

    @_refusals
    def rename(self, actor: Actor, alias: str, label: str) -> LiveTenant:
        return self.service.set(actor.name, alias, label=label).tenant

    @_refusals
    def set_caps(self, actor: Actor, alias: str, caps: tuple[str, ...]) -> LiveTenant:
        return self.service.set(actor.name, alias, caps=caps).tenant

    @_refusals
    def suspend(self, actor: Actor, alias: str) -> LiveTenant:
        return self.service.suspend(actor.name, alias).tenant

    @_refusals
    def resume(self, actor: Actor, alias: str) -> LiveTenant:
        return self.service.resume(actor.name, alias).tenant

    @_refusals
    def delete(self, actor: Actor, alias: str, *, remove_members: bool = False) -> None:
        self.service.delete(actor.name, alias, remove_members=remove_members)
