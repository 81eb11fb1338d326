"""Authentication flows, keyed by alias, compared as whole trees of executions.

Keycloak edits flows one execution at a time, so an update is done by building the new tree
beside the old one (aliases suffixed), moving any realm binding to it, deleting the old tree
and renaming the new one: logins never meet a half-built flow.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from bridge.keycloak import clients as kc_clients
from bridge.keycloak import flows as kc_flows
from bridge.keycloak import realm as kc_realm
from bridge.realm.kinds import identity_providers
from bridge.realm.kinds.base import KindBase, RealmContext
from bridge.realm.model import Execution, RealmConfig
from bridge.realm.plan import FieldChange

BINDINGS = ("browserFlow", "registrationFlow", "directGrantFlow", "resetCredentialsFlow",
            "clientAuthenticationFlow", "dockerAuthenticationFlow", "firstBrokerLoginFlow")
NEXT = "--next"
OVERRIDES = "authenticationFlowBindingOverrides"


def _form_flows(nodes: Iterable[Mapping[str, Any]]) -> Iterable[str]:
    """Aliases of the form flows in a tree (sub-flows that name a form authenticator)."""
    for node in nodes:
        if "flow" in node:
            if node.get("authenticator"):
                yield node["flow"]
            yield from _form_flows(node["executions"])


def _execution_tree(executions: Iterable[Execution]) -> list[dict[str, Any]]:
    tree = []
    for execution in executions:
        node: dict[str, Any] = {"requirement": execution.requirement}
        if execution.flow:
            node["flow"] = execution.flow
            node["executions"] = _execution_tree(execution.executions)
            if execution.authenticator:  # a form flow and its form
                node["authenticator"] = execution.authenticator
        else:
            node["authenticator"] = execution.authenticator
        if execution.config is not None:
            node["config"] = {"alias": execution.config.alias,
                              "config": dict(execution.config.config)}
        if execution.description:
            node["_description"] = execution.description
        tree.append(node)
    return tree


def _comparable(tree: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for node in tree:
        item = {k: v for k, v in node.items() if not k.startswith("_")}
        if "executions" in item:
            item["executions"] = _comparable(item["executions"])
        out.append(item)
    return out


def _label(node: Mapping[str, Any]) -> str:
    return str(node.get("flow") or node.get("authenticator"))


def _labels(nodes: list[dict[str, Any]]) -> list[str]:
    """Each step's name at its level, numbered when a name repeats (``auth-otp-form#2``)."""
    counts: dict[str, int] = {}
    out = []
    for node in nodes:
        label = _label(node)
        counts[label] = counts.get(label, 0) + 1
        out.append(label if counts[label] == 1 else f"{label}#{counts[label]}")
    return out


def _shown_step(node: Mapping[str, Any]) -> str:
    steps = len(node.get("executions") or ())
    kind = f"sub-flow of {steps} step{'s' * (steps != 1)}" if "flow" in node else "execution"
    return f"{node.get('requirement')} {kind}"


def execution_changes(have: list[dict[str, Any]], want: list[dict[str, Any]],
                      parent: str = "") -> list[FieldChange]:
    """One change per execution or config that differs, by path of step names
    (``executions[browser-mfa forms/auth-otp-form].requirement``): a reviewer reads what
    moves, not two whole trees. Steps are matched by name, in order."""
    changes: list[FieldChange] = []
    have_labels, want_labels = _labels(have), _labels(want)
    matcher = difflib.SequenceMatcher(a=have_labels, b=want_labels, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            for old, new, label in zip(have[i1:i2], want[j1:j2], want_labels[j1:j2],
                                       strict=True):
                changes += _step_changes(old, new, f"{parent}{label}")
            continue
        for index in range(i1, i2):
            changes.append(FieldChange(f"executions[{parent}{have_labels[index]}]",
                                       _shown_step(have[index]), None))
        for index in range(j1, j2):
            changes.append(FieldChange(f"executions[{parent}{want_labels[index]}]", None,
                                       _shown_step(want[index])))
    return changes


def _step_changes(old: Mapping[str, Any], new: Mapping[str, Any],
                  path: str) -> list[FieldChange]:
    where = f"executions[{path}]"
    changes = [FieldChange(f"{where}.{field}", old.get(field), new.get(field))
               for field in ("requirement", "authenticator")
               if old.get(field) != new.get(field)]
    old_config, new_config = old.get("config") or {}, new.get("config") or {}
    if old_config.get("alias") != new_config.get("alias"):
        changes.append(FieldChange(f"{where}.config.alias", old_config.get("alias"),
                                   new_config.get("alias")))
    old_values, new_values = old_config.get("config") or {}, new_config.get("config") or {}
    for key in sorted(set(old_values) | set(new_values)):
        if old_values.get(key) != new_values.get(key):
            changes.append(FieldChange(f"{where}.config.{key}", old_values.get(key),
                                       new_values.get(key)))
    if "flow" in new:
        changes += execution_changes(old.get("executions") or [], new.get("executions") or [],
                                     f"{path}/")
    return changes


class Flows(KindBase):
    name = "flow"

    def desired(self, config: RealmConfig) -> dict[str, dict[str, Any]]:
        return {f.alias: {"description": f.description, "providerId": f.providerId,
                          "executions": _execution_tree(f.executions)}
                for f in config.flows}

    def actual(self, ctx: RealmContext, keys: set[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for flow in kc_flows.list_all(ctx.gateway, ctx.realm):
            rep: dict[str, Any] = {"_id": flow["id"], "_builtIn": flow.get("builtIn", False),
                                   "description": flow.get("description") or "",
                                   "providerId": flow.get("providerId", "basic-flow")}
            if flow["alias"] in keys:
                flat = kc_flows.executions(ctx.gateway, ctx.realm, flow["alias"])
                rep["executions"] = self._tree(ctx, flat)
            found[flow["alias"]] = rep
        return found

    def _tree(self, ctx: RealmContext, flat: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Keycloak lists a flow's executions depth-first with a ``level``; rebuild nesting."""
        root: list[dict[str, Any]] = []
        stack: list[list[dict[str, Any]]] = [root]
        for item in flat:
            level = int(item.get("level", 0))
            del stack[level + 1:]
            node: dict[str, Any] = {"requirement": item.get("requirement")}
            if item.get("authenticationFlow"):
                node["flow"] = item.get("displayName")
                node["executions"] = []
                if item.get("providerId"):  # a form flow: its form authenticator
                    node["authenticator"] = item["providerId"]
            else:
                node["authenticator"] = item.get("providerId")
            if item.get("authenticationConfig"):
                config = kc_flows.get_config(ctx.gateway, ctx.realm,
                                             item["authenticationConfig"])
                node["config"] = {"alias": config.get("alias"),
                                  "config": config.get("config", {})}
            stack[level].append(node)
            if "executions" in node:
                stack.append(node["executions"])
        return root

    def changed(self, desired: Mapping[str, Any], actual: Mapping[str, Any]) -> list[FieldChange]:
        changes = []
        if desired.get("description", "") != actual.get("description", ""):
            changes.append(FieldChange("description", actual.get("description"),
                                       desired.get("description")))
        if desired.get("providerId", "basic-flow") != actual.get("providerId", "basic-flow"):
            changes.append(FieldChange("providerId", actual.get("providerId"),
                                       desired.get("providerId")))
        want = _comparable(desired["executions"])
        have = _comparable(actual.get("executions", []))
        if want != have:
            steps = execution_changes(have, want)
            changes.extend(steps or [FieldChange("executions", have, want)])
        return changes

    def builtin(self, key: str, actual: Mapping[str, Any]) -> bool:
        return bool(actual.get("_builtIn"))

    def create(self, ctx: RealmContext, key: str, desired: Mapping[str, Any]) -> None:
        self._build(ctx, key, "", desired)

    def update(self, ctx: RealmContext, key: str, desired: Mapping[str, Any],
               actual: Mapping[str, Any]) -> None:
        built = self._build(ctx, key, NEXT, desired)
        realm = kc_realm.get(ctx.gateway, ctx.realm)
        rebind = {b: f"{key}{NEXT}" for b in BINDINGS if realm.get(b) == key}
        if rebind:
            kc_realm.update(ctx.gateway, ctx.realm, rebind)
        # Clients overriding a realm flow with this one follow it too (Keycloak refuses to
        # delete a flow a client uses).
        for client in kc_clients.list_all(ctx.gateway, ctx.realm):
            overrides = client.get(OVERRIDES) or {}
            if actual["_id"] in overrides.values():
                body = {k: v for k, v in client.items() if k != "protocolMappers"}
                body[OVERRIDES] = {k: built[key] if v == actual["_id"] else v
                                   for k, v in overrides.items()}
                kc_clients.update(ctx.gateway, ctx.realm, client["id"], body)
        identity_providers.rebind_flow(ctx, key, f"{key}{NEXT}")
        kc_flows.delete(ctx.gateway, ctx.realm, actual["_id"])
        forms = set(_form_flows(desired["executions"]))
        for alias, flow_id in built.items():
            if alias.startswith("config:"):
                config_alias = alias.removeprefix("config:")
                config = kc_flows.get_config(ctx.gateway, ctx.realm, flow_id)
                kc_flows.update_config(ctx.gateway, ctx.realm, flow_id,
                                       {**config, "alias": config_alias})
                continue
            provider = (desired.get("providerId", "basic-flow") if alias == key
                        else "form-flow" if alias in forms else "basic-flow")
            kc_flows.update(ctx.gateway, ctx.realm, flow_id,
                            {"alias": alias, "description": desired["description"]
                             if alias == key else "", "providerId": provider,
                             "topLevel": alias == key, "builtIn": False})

    def delete(self, ctx: RealmContext, key: str, actual: Mapping[str, Any]) -> None:
        kc_flows.delete(ctx.gateway, ctx.realm, actual["_id"])

    def _build(self, ctx: RealmContext, alias: str, suffix: str,
               desired: Mapping[str, Any]) -> dict[str, str]:
        """Create the flow tree; returns final alias → id for every flow created, and
        ``config:<alias>`` → id for every authenticator config when building aside."""
        top_id = kc_flows.create(ctx.gateway, ctx.realm, {
            "alias": alias + suffix, "description": desired["description"],
            "providerId": desired.get("providerId", "basic-flow"), "topLevel": True,
            "builtIn": False})
        created = {alias: top_id}
        self._add(ctx, alias + suffix, suffix, desired["executions"], created)
        return created

    def _add(self, ctx: RealmContext, parent: str, suffix: str,
             nodes: list[dict[str, Any]], created: dict[str, str]) -> None:
        gw, realm = ctx.gateway, ctx.realm
        for node in nodes:
            if "flow" in node:
                form = node.get("authenticator")
                kc_flows.add_subflow(gw, realm, parent, {
                    "alias": node["flow"] + suffix,
                    "type": "form-flow" if form else "basic-flow",
                    # Keycloak wants a provider even for a basic sub-flow, and ignores it.
                    "provider": form or "registration-page-form",
                    "description": node.get("_description", "")})
            else:
                kc_flows.add_execution(gw, realm, parent, node["authenticator"])
        # Requirements and configs are set on the listed executions, direct children only.
        children = [e for e in kc_flows.executions(gw, realm, parent)
                    if int(e.get("level", 0)) == 0]
        for node, execution in zip(nodes, children, strict=True):
            if execution.get("requirement") != node["requirement"]:
                kc_flows.update_execution(gw, realm, parent,
                                          {**execution, "requirement": node["requirement"]})
            if "config" in node:
                config_id = kc_flows.create_config(gw, realm, execution["id"], {
                    "alias": node["config"]["alias"] + suffix,
                    "config": node["config"]["config"]})
                if suffix:
                    created[f"config:{node['config']['alias']}"] = config_id
            if "flow" in node:
                created[node["flow"]] = execution["flowId"]
                self._add(ctx, node["flow"] + suffix, suffix, node["executions"], created)
