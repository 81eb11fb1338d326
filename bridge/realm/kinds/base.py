"""What every resource kind implements, and the per-apply context they share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from bridge.errors import NotFound
from bridge.keycloak import clients as kc_clients
from bridge.keycloak import roles as kc_roles
from bridge.keycloak.client import AdminGateway
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange, diff


class RealmContext:
    """One realm on one Keycloak, with the id look-ups kinds need memoised."""

    def __init__(self, gateway: AdminGateway, realm: str) -> None:
        self.gateway = gateway
        self.realm = realm
        self._client_ids: dict[str, str] = {}
        self._roles: dict[tuple[str | None, str], dict[str, Any]] = {}

    def client_uuid(self, client_id: str) -> str:
        if client_id not in self._client_ids:
            found = kc_clients.find(self.gateway, self.realm, client_id)
            if found is None:
                raise NotFound(f"client {client_id} not found in realm {self.realm}")
            self._client_ids[client_id] = found["id"]
        return self._client_ids[client_id]

    def forget_client(self, client_id: str) -> None:
        self._client_ids.pop(client_id, None)

    def role(self, client_id: str | None, name: str) -> dict[str, Any]:
        """A role's representation (id and name), as role-mapping calls want it."""
        key = (client_id, name)
        if key not in self._roles:
            client = None if client_id is None else self.client_uuid(client_id)
            rep = kc_roles.get(self.gateway, self.realm, name, client=client)
            self._roles[key] = {"id": rep["id"], "name": rep["name"]}
        return self._roles[key]

    def converge_mappings(self, holder: kc_roles.Holder, client_id: str | None,
                          want: Iterable[str], have: Iterable[str]) -> None:
        """Make the roles ``holder`` has of ``client_id`` (None: realm roles) exactly
        ``want``: one call to add, one to remove, none when equal."""
        client = None if client_id is None else self.client_uuid(client_id)
        add = [self.role(client_id, n) for n in sorted(set(want) - set(have))]
        remove = [self.role(client_id, n) for n in sorted(set(have) - set(want))]
        if add:
            kc_roles.add_mappings(self.gateway, self.realm, holder, add, client=client)
        if remove:
            kc_roles.remove_mappings(self.gateway, self.realm, holder, remove, client=client)


class Kind(Protocol):
    """One kind of resource (clients, groups, ...), keyed by a stable natural key."""

    name: str

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        """Key → the representation the configuration asks for (only managed fields)."""

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        """Key → live representation, for at least ``keys`` (desired ∪ owned) that exist."""

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        """Fields to change; the default overlays desired on actual."""

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        """Keycloak's own resources are never deleted, whatever the ownership record says."""

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None: ...

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None: ...

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None: ...


class KindBase:
    """Defaults shared by the kinds."""

    name = ""
    exact_fields: tuple[str, ...] = ()

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        return diff(desired, actual, exact=self.exact_fields)

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return False


def drop_none(values: Mapping[str, Any], skip: Iterable[str] = ()) -> dict[str, Any]:
    skipped = set(skip)
    return {k: v for k, v in values.items() if v is not None and k not in skipped}
