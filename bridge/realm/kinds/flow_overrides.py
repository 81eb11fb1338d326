"""Per-client flow overrides (``authenticationFlowBindingOverrides``), keyed by clientId:
the flows a client logs in with instead of the realm's, named by alias in the
configuration (Keycloak stores flow ids). Exactly the overrides configured: an override
left out is removed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.errors import NotFound
from bridge.keycloak import clients as kc_clients
from bridge.keycloak import flows as kc_flows
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import RealmConfig
from bridge.realm.plan import FieldChange

FIELD = "authenticationFlowBindingOverrides"


def _flow_ids(ctx: RealmContext) -> dict[str, str]:
    """Top-level flow alias → id."""
    return {f["alias"]: f["id"] for f in kc_flows.list_all(ctx.gateway, ctx.realm)}


class FlowOverrides(KindBase):
    name = "client-flow-override"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {c.clientId: {"overrides": dict(c.authenticationFlowBindingOverrides)}
                for c in config.clients if c.authenticationFlowBindingOverrides is not None}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        if not keys:
            return {}
        aliases = {v: k for k, v in _flow_ids(ctx).items()}
        found: dict[str, dict[str, Any]] = {}
        for client in kc_clients.list_all(ctx.gateway, ctx.realm):
            if client["clientId"] in keys:
                overrides = {k: aliases.get(v, v) for k, v in
                             (client.get(FIELD) or {}).items() if v}
                found[client["clientId"]] = {"overrides": overrides, "_client": client}
        return found

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        if dict(desired["overrides"]) == dict(actual.get("overrides") or {}):
            return []
        return [FieldChange(FIELD, actual.get("overrides"), desired["overrides"])]

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self.update(ctx, key, desired, self.actual(ctx, {key})[key])

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        ids = _flow_ids(ctx)
        client = actual["_client"]
        # Keycloak merges this map: an override is removed by sending it empty.
        overrides = {k: "" for k in client.get(FIELD) or {}}
        for binding, alias in desired["overrides"].items():
            if alias not in ids:
                raise NotFound(f"client {key}: {FIELD}.{binding}: flow {alias} not found")
            overrides[binding] = ids[alias]
        body = {k: v for k, v in client.items() if k != "protocolMappers"}
        kc_clients.update(ctx.gateway, ctx.realm, client["id"], {**body, FIELD: overrides})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        try:
            self.update(ctx, key, {"overrides": {}}, actual)
        except NotFound:
            pass  # the client went already
