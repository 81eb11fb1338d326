"""plan → apply for one realm, with an ownership record so only managed resources are pruned.

The ownership record is a realm attribute listing, per kind, the keys this configuration
manages. ``prune = (actual ∩ owned) − desired``, never a built-in: resources made by hand in
the admin console are not owned and survive every apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from bridge.configfiles import ConfigError
from bridge.errors import NotFound
from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway
from bridge.realm import references
from bridge.realm.kinds import KINDS, Kind, RealmContext
from bridge.realm.kinds.composites import SEPARATOR
from bridge.realm.model import RealmConfig
from bridge.realm.plan import Change, Plan, fingerprint

OWNERSHIP_ATTRIBUTE = "bridge.managed"
# The names of the ``${VAR}`` a configuration gives its secrets in (key path → VAR), so that
# an export writes the same names (bridge.realm.desired.secret_variables).
VARIABLES_ATTRIBUTE = "bridge.variables"

Progress = Callable[[str], None]


# Sub-objects of managed objects that Keycloak lets anyone add by hand: per sub-kind, the
# kind of its parent, and how a key names its parent. Those present but neither configured
# nor owned are shown as unmanaged, never deleted (``--strict`` refuses them). Sub-objects
# of Keycloak's own objects (a built-in client's roles, a built-in scope's mappers) are
# Keycloak's, not shown.
SUB_OBJECTS: Mapping[str, tuple[str, str]] = {
    "client-role": ("client", "/"), "mapper": ("client", "/"),
    "client-scope-mapper": ("client-scope", "/"),
    "identity-provider-mapper": ("identity-provider", "/"),
    "role-composite": ("role", SEPARATOR),
}


def _parent(key: str, separator: str) -> str:
    return key.split(separator, 1)[0]


def _kind(name: str) -> Kind:
    return next(k for k in KINDS if k.name == name)


def read_owned(realm_rep: Mapping[str, Any]) -> dict[str, set[str]]:
    raw = (realm_rep.get("attributes") or {}).get(OWNERSHIP_ATTRIBUTE)
    if not raw:
        return {}
    try:
        record = json.loads(raw)
    except ValueError:
        return {}
    return {kind: set(keys) for kind, keys in record.items() if isinstance(keys, list)}


def read_variables(realm_rep: Mapping[str, Any] | None) -> dict[str, str]:
    raw = ((realm_rep or {}).get("attributes") or {}).get(VARIABLES_ATTRIBUTE)
    try:
        record = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in record.items()} if isinstance(record, dict) else {}


def write_owned(ctx: RealmContext, owned: Mapping[str, set[str] | tuple[str, ...]],
                variables: Mapping[str, str] | None = None) -> None:
    """Write the ownership record (and the secrets' variable names). Keycloak replaces a
    realm's attributes whole on update, so the others are read and sent back with them."""
    attributes = dict(kc_realm.get(ctx.gateway, ctx.realm).get("attributes") or {})
    attributes[OWNERSHIP_ATTRIBUTE] = json.dumps({k: sorted(v) for k, v in owned.items() if v},
                                                 sort_keys=True)
    if variables is not None:
        attributes[VARIABLES_ATTRIBUTE] = json.dumps(dict(variables), sort_keys=True)
    kc_realm.update(ctx.gateway, ctx.realm, {"attributes": attributes})


def _same_record(one: Mapping[str, set[str]], other: Mapping[str, set[str]]) -> bool:
    """Equal as stored: a kind with no keys is not written (:func:`write_owned`), so an
    empty plan writes nothing."""
    return ({k: v for k, v in one.items() if v} == {k: v for k, v in other.items() if v})


def plan(gateway: AdminGateway, config: RealmConfig, realm: str | None = None) -> Plan:
    """Compare the configuration with the live realm; reads only, writes nothing."""
    name = realm or config.realm
    ctx = RealmContext(gateway, name)
    try:
        realm_rep = kc_realm.get(gateway, name)
    except NotFound:
        realm_rep = None
    owned = read_owned(realm_rep) if realm_rep else {}
    changes: list[Change] = []
    notes: list[str] = []
    managed: dict[str, tuple[str, ...]] = {}
    wanted: dict[str, Any] = {}
    seen: dict[str, Any] = {"_realm": realm_rep is not None,
                            "_owned": {k: sorted(v) for k, v in owned.items()}}
    unmanaged: list[tuple[str, str]] = []
    variables = dict(config._variables)
    seen["_variables"] = read_variables(realm_rep)
    for kind in KINDS:
        desired = kind.desired(config)
        managed[kind.name] = tuple(sorted(desired))
        mine = owned.get(kind.name, set())
        probes: set[str] = set()
        parents: set[str] = set()
        if kind.name in SUB_OBJECTS:
            parent_kind, separator = SUB_OBJECTS[kind.name]
            if parent_kind == "role":  # the composites a configuration declares
                parents = {_parent(k, separator) for k in desired}
            else:
                parent = _kind(parent_kind)
                parents = {k for k, v in wanted[parent_kind].items()
                           if not parent.builtin(k, v)}
                probes = {f"{p}{separator}" for p in parents}
        actual = kind.actual(ctx, set(desired) | mine | probes) if realm_rep else {}
        wanted[kind.name] = desired
        extra = sorted(k for k, v in actual.items()
                       if parents and k not in desired and k not in mine
                       and _parent(k, SUB_OBJECTS[kind.name][1]) in parents
                       and not kind.builtin(k, v))
        unmanaged += [(kind.name, k) for k in extra]
        seen[kind.name] = {k: v for k, v in actual.items()
                           if k in desired or k in mine or k in extra}
        for key in sorted(desired):
            if key not in actual:
                changes.append(Change(kind.name, key, "create", desired=desired[key]))
                continue
            fields = kind.changed(desired[key], actual[key])
            if fields:
                changes.append(Change(kind.name, key, "update", desired=desired[key],
                                      actual=actual[key], fields=tuple(fields)))
        stale = sorted((mine & set(actual)) - set(desired), reverse=True)
        deleting = set(stale)
        for key in stale:
            if kind.builtin(key, actual[key]):
                continue
            blocker = getattr(kind, "delete_blocker", None)
            reason = blocker(ctx, key, actual[key], deleting) if blocker else None
            if reason:
                notes.append(reason)
                managed[kind.name] = (*managed[kind.name], key)
                continue
            changes.append(Change(kind.name, key, "delete", actual=actual[key]))
    # References are resolved before anything is written: against the configuration, and
    # the live names this plan does not delete.
    gone: dict[str, set[str]] = {}
    for change in changes:
        if change.action == "delete":
            gone.setdefault(change.kind, set()).add(change.key)
    problems = references.problems(config, references.LiveNames(ctx if realm_rep else None),
                                   name, gone)
    if problems:
        raise ConfigError(problems)
    return Plan(realm=name, creates_realm=realm_rep is None, changes=tuple(changes),
                notes=tuple(notes), managed=managed, unmanaged=tuple(unmanaged),
                variables=variables, variables_changed=variables != seen["_variables"],
                config_fingerprint=fingerprint({"realm": name, **wanted}),
                live_fingerprint=fingerprint(seen))


def apply(gateway: AdminGateway, the_plan: Plan, progress: Progress = lambda _m: None) -> None:
    """Execute a plan: creates and updates in kind order, then deletes in reverse order.

    Ownership is widened before the first write and narrowed after the last delete, so an
    apply cut short leaves every resource it created owned, and a re-run converges.
    """
    ctx = RealmContext(gateway, the_plan.realm)
    if the_plan.creates_realm:
        progress(f"+ realm {the_plan.realm}")
        kc_realm.create(gateway, the_plan.realm)
    owned = read_owned(kc_realm.get(gateway, the_plan.realm))
    widened = {k: set(owned.get(k, set())) | set(v) for k, v in the_plan.managed.items()}
    if not _same_record(widened, owned) or the_plan.variables_changed:
        write_owned(ctx, widened, the_plan.variables)
    symbols = {"create": "+", "update": "~", "delete": "-"}
    ordered = [c for k in KINDS for c in the_plan.changes
               if c.kind == k.name and c.action != "delete"]
    ordered += [c for k in reversed(KINDS) for c in the_plan.changes
                if c.kind == k.name and c.action == "delete"]
    for number, change in enumerate(ordered, 1):
        progress(f"[{number}/{len(ordered)}] {symbols[change.action]} {change.kind} "
                 f"{change.key}")
        kind = _kind(change.kind)
        if change.action == "create":
            kind.create(ctx, change.key, change.desired or {})
        elif change.action == "update":
            kind.update(ctx, change.key, change.desired or {}, change.actual or {})
        else:
            kind.delete(ctx, change.key, change.actual or {})
    narrowed = {k: set(v) for k, v in the_plan.managed.items()}
    if not _same_record(narrowed, widened):
        write_owned(ctx, narrowed)
