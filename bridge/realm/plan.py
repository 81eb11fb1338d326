"""Plans: the changes that would make a live realm match its configuration, as values.

``diff`` compares only what the configuration states (desired is overlaid on actual), so
fields Keycloak fills in by itself never show up as changes and a second apply is empty.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Action = Literal["create", "update", "delete"]

SECRET_FIELDS = frozenset({"secret", "password", "smtpServer.password", "clientSecret"})
_MASK = "(secret)"


@dataclass(frozen=True)
class FieldChange:
    path: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Change:
    kind: str
    key: str
    action: Action
    desired: Mapping[str, Any] | None = None
    actual: Mapping[str, Any] | None = None
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True)
class Plan:
    realm: str
    creates_realm: bool
    changes: tuple[Change, ...] = ()
    notes: tuple[str, ...] = field(default=())
    # Kind → keys the configuration manages once this plan is applied (ownership record).
    managed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Digests of what the plan was computed from: the desired representations, and the
    # live ones it read (the keys configured or owned) with the ownership record. A saved
    # plan is applied only while both are unchanged (bridge.realm.saved).
    config_fingerprint: str = ""
    live_fingerprint: str = ""
    # (kind, key) of sub-objects of managed objects made by hand: shown, never deleted.
    unmanaged: tuple[tuple[str, str], ...] = ()
    # Key path of a secret → the ``${VAR}`` the configuration names it with, recorded in the
    # realm for exports; changed: the record differs from the live one.
    variables: Mapping[str, str] = field(default_factory=dict)
    variables_changed: bool = False

    @property
    def empty(self) -> bool:
        return not self.creates_realm and not self.changes and not self.variables_changed

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)


# Fields whose values are secrets (client secrets, IdP client secrets, SMTP and LDAP bind
# passwords, key material). A plan file is a reviewed artefact that travels (CI logs, merge
# requests): a plain digest over a secret would let anyone who can guess the rest of the
# configuration test candidate secrets offline, so these values never enter a fingerprint.
_SECRET_FIELD = re.compile(r"(?i)^(.*secret|.*password|.*credential|privatekey|certificate)$")


def redacted(value: Any) -> Any:
    """``value`` with every secret field's value replaced by a fixed marker."""
    if isinstance(value, Mapping):
        return {k: "<secret>" if isinstance(k, str) and _SECRET_FIELD.match(k)
                and not isinstance(v, Mapping) else redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def fingerprint(value: Any) -> str:
    """A digest of a JSON-like value, independent of mapping order; secret fields are left
    out (``redacted``), so a digest reveals nothing that could confirm a guessed secret."""
    text = json.dumps(redacted(value), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise(value: Any) -> Any:
    """Compare-friendly form: scalars as Keycloak stores them, unordered scalar lists sorted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [normalise(v) for v in value]
        if all(not isinstance(v, Mapping | list) for v in items):
            return sorted(items, key=repr)
        return items
    return value


def diff(desired: Mapping[str, Any], actual: Mapping[str, Any], prefix: str = "",
         exact: Iterable[str] = ()) -> list[FieldChange]:
    """Fields of ``desired`` that differ in ``actual``; nested mappings are overlaid too,
    except those named in ``exact`` (compared whole: a missing key is a change)."""
    exact = frozenset(exact)
    changes: list[FieldChange] = []
    for key, want in desired.items():
        if key.startswith("_"):
            continue
        path = f"{prefix}{key}"
        have = actual.get(key)
        if isinstance(want, Mapping) and path not in exact:
            changes.extend(diff(want, have if isinstance(have, Mapping) else {}, f"{path}.",
                                exact))
            continue
        if _loosely(want) != _loosely(have):
            changes.append(FieldChange(path, have, want))
    return changes


def _loosely(value: Any) -> Any:
    """Keycloak stores many attributes as strings: "true" equals True, "300" equals 300."""
    value = normalise(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return [_loosely(v) for v in value]
    if isinstance(value, dict):
        return {k: _loosely(v) for k, v in value.items()}
    return value


def _shown(path: str, value: Any) -> str:
    if path in SECRET_FIELDS or path.rsplit(".", 1)[-1] in SECRET_FIELDS:
        return _MASK if value not in (None, "") else "(none)"
    if value is None:
        return "(none)"
    return repr(normalise(value))


def render(plan: Plan) -> list[str]:
    """Human-readable plan, secrets masked."""
    lines: list[str] = []
    if plan.creates_realm:
        lines.append(f"+ realm {plan.realm}")
    symbols = {"create": "+", "update": "~", "delete": "-"}
    for change in plan.changes:
        lines.append(f"{symbols[change.action]} {change.kind} {change.key}")
        for fc in change.fields:
            lines.append(f"    {fc.path}: {_shown(fc.path, fc.before)} -> "
                         f"{_shown(fc.path, fc.after)}")
    if plan.variables_changed:
        lines.append(f"~ secret variable names recorded for export: "
                     f"{', '.join(sorted(set(plan.variables.values()))) or '(none)'}")
    lines.extend(f"! {note}" for note in plan.notes)
    lines.extend(f"? unmanaged {kind} {key} (not in the configuration: kept)"
                 for kind, key in plan.unmanaged)
    if plan.empty:
        lines.append(f"No changes: realm {plan.realm} matches the configuration.")
    else:
        lines.append(
            f"Plan: {plan.count('create')} to create, {plan.count('update')} to update, "
            f"{plan.count('delete')} to delete."
        )
    return lines
