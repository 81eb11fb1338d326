"""What every resource kind implements, and the per-apply context they share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import NotFound
from bridge.realm.desired import RealmConfig
from bridge.realm.plan import FieldChange, diff


class RealmContext:
    """One realm on one Keycloak, with the id look-ups kinds need memoised."""

    def __init__(self, gateway: AdminGateway, realm: str) -> None:
        self.gateway = gateway
        self.realm = realm
        self._client_ids: dict[str, str] = {}
        self._roles: dict[tuple[str | None, str], dict[str, Any]] = {}

    @property
    def base(self) -> str:
        return f"/{self.realm}"

    def client_uuid(self, client_id: str) -> str:
        if client_id not in self._client_ids:
            found = self.gateway.get(f"{self.base}/clients", clientId=client_id)
            if not found:
                raise NotFound(f"client {client_id} not found in realm {self.realm}")
            self._client_ids[client_id] = found[0]["id"]
        return self._client_ids[client_id]

    def forget_client(self, client_id: str) -> None:
        self._client_ids.pop(client_id, None)

    def role(self, client_id: str | None, name: str) -> dict[str, Any]:
        """A role's representation (id and name), as role-mapping calls want it."""
        key = (client_id, name)
        if key not in self._roles:
            if client_id is None:
                path = f"{self.base}/roles/{name}"
            else:
                path = f"{self.base}/clients/{self.client_uuid(client_id)}/roles/{name}"
            rep = self.gateway.get(path)
            self._roles[key] = {"id": rep["id"], "name": rep["name"]}
        return self._roles[key]


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
