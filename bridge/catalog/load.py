"""YAML → :class:`~bridge.catalog.model.Catalog`, validated completely before use.

A catalog file holds one top-level key, ``catalog``. Problems are reported all at once, as
``file: key.path: message`` lines in a :class:`~bridge.configfiles.ConfigError` (the same
error the realm configuration raises, so the CLI reports both alike): YAML syntax, unknown
keys and wrong types first, then cross-references (a status naming an unknown profile, a
profile granting a permission the catalog does not declare...), then consistency (a status
whose own profiles grant what it forbids, a cycle of parent dimensions...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bridge.catalog.model import ANY, Catalog
from bridge.configfiles import ConfigError, substitute

FILE_NAME = "catalog.yaml"
TOP_LEVEL_KEY = "catalog"


def load(path: Path | str, env: Mapping[str, str] | None = None) -> Catalog:
    """Read a catalog file (or ``<directory>/catalog.yaml``), or raise ConfigError."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    env = os.environ if env is None else env
    shown = _shown(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError([f"{shown}:{line} invalid YAML: {getattr(exc, 'problem', exc)}"]
                          ) from None
    except OSError as exc:
        raise ConfigError([f"{shown}: cannot read: {exc.strerror}"]) from None
    return parse(document, shown, env)


def parse(document: Any, shown: str = "<catalog>",
          env: Mapping[str, str] | None = None) -> Catalog:
    """Validate an already-read document (``{"catalog": {...}}``)."""
    env = os.environ if env is None else env
    if not isinstance(document, dict) or TOP_LEVEL_KEY not in document:
        raise ConfigError([f"{shown}: {TOP_LEVEL_KEY}: required (the top-level key)"])
    extra = [k for k in document if k != TOP_LEVEL_KEY]
    if extra:
        raise ConfigError([f"{shown}: {k}: unknown key (expected {TOP_LEVEL_KEY})"
                           for k in extra])
    problems: list[str] = []
    body = substitute(document[TOP_LEVEL_KEY], env, TOP_LEVEL_KEY, problems)
    if problems:
        raise ConfigError([f"{shown}: {p}" for p in problems])
    try:
        catalog = Catalog.model_validate(body)
    except ValidationError as exc:
        raise ConfigError([_locate(shown, err) for err in exc.errors()]) from None
    problems = [f"{shown}: {p}" for p in cross_references(catalog)]
    if problems:
        raise ConfigError(problems)
    return catalog


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _locate(shown: str, error: Mapping[str, Any]) -> str:
    loc = [TOP_LEVEL_KEY, *error["loc"]]
    key_path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    message = "unknown key" if error["type"] == "extra_forbidden" else error["msg"]
    return f"{shown}: {key_path}: {message}"


def cross_references(catalog: Catalog) -> Iterable[str]:
    """Every reference resolves and the catalog is consistent; yields ``key.path: message``.
    """
    c = catalog
    permissions = set(c.permission_by_name)
    profiles = set(c.profile_by_name)
    statuses = set(c.status_by_name)
    toggles = set(c.toggle_by_name)
    dimensions = set(c.dimension_by_name)

    def dupes(kind: str, where: str, names: Iterable[str]) -> Iterable[str]:
        seen: set[str] = set()
        for index, name in enumerate(names):
            if name in seen:
                yield f"catalog.{where}[{index}].name: {kind} {name!r} is declared twice"
            seen.add(name)

    def refs(where: str, names: Iterable[str] | None, known: set[str], kind: str,
             allow_any: bool = False) -> Iterable[str]:
        for index, name in enumerate(names or ()):
            if allow_any and name == ANY:
                continue
            if name not in known:
                yield f"{where}[{index}]: unknown {kind} {name!r}"

    yield from dupes("permission", "permissions", (p.name for p in c.permissions))
    yield from dupes("status", "statuses", (s.name for s in c.statuses))
    yield from dupes("profile", "profiles", (p.name for p in c.profiles))
    yield from dupes("toggle", "toggles", (t.name for t in c.toggles))
    yield from dupes("dimension", "dimensions", (d.name for d in c.dimensions))
    yield from dupes("delegation rule", "delegation", (d.name for d in c.delegation))
    if c.tenancy:
        yield from dupes("tenant", "tenancy.tenants", (t.name for t in c.tenancy.tenants))
    for index, name in enumerate(c.user_types):
        if name not in ("internal", "external"):
            yield f"catalog.user_types[{index}]: {name!r} is neither internal nor external"

    for i, s in enumerate(c.statuses):
        where = f"catalog.statuses[{i}]"
        if s.user_type not in c.user_types:
            yield f"{where}.user_type: unknown user type {s.user_type!r}"
        yield from refs(f"{where}.grants", s.grants, permissions, "permission")
        yield from refs(f"{where}.forbids", s.forbids, permissions, "permission")
        yield from refs(f"{where}.profiles", s.profiles, profiles, "profile")
        yield from refs(f"{where}.dimensions", s.dimensions, dimensions, "dimension")
        for permission in sorted(set(s.grants) & set(s.forbids)):
            yield f"{where}.grants: status {s.name!r} grants {permission!r}, which it forbids"
        for profile in s.profiles:
            granted = set(c.profile_by_name[profile].grants) if profile in profiles else set()
            for permission in sorted(granted & set(s.forbids)):
                yield (f"{where}.profiles: profile {profile!r} grants {permission!r}, which "
                       f"status {s.name!r} forbids")
        if s.exclusive and len(s.profiles) > 1:
            yield (f"{where}.profiles: exclusive status {s.name!r} may hold one profile at "
                   f"most, so it lists at most one")

    for i, p in enumerate(c.profiles):
        yield from refs(f"catalog.profiles[{i}].grants", p.grants, permissions, "permission")

    for i, t in enumerate(c.toggles):
        where = f"catalog.toggles[{i}]"
        yield from refs(f"{where}.adds", t.adds, permissions, "permission")
        yield from refs(f"{where}.removes", t.removes, permissions, "permission")
        yield from refs(f"{where}.profiles", t.profiles, profiles, "profile")
        yield from refs(f"{where}.statuses", t.statuses, statuses, "status")
        if not t.adds and not t.removes:
            yield f"{where}: toggle {t.name!r} neither adds nor removes a permission"

    dimension_problems: list[str] = []
    for i, d in enumerate(c.dimensions):
        where = f"catalog.dimensions[{i}]"
        try:
            re.compile(d.pattern)
        except re.error as exc:
            dimension_problems.append(f"{where}.pattern: invalid regular expression: {exc}")
        if d.parent is not None and d.parent not in dimensions:
            dimension_problems.append(f"{where}.parent: unknown dimension {d.parent!r}")
            continue
        seen, parent = {d.name}, d.parent
        while parent is not None and parent in dimensions:
            if parent in seen:
                dimension_problems.append(
                    f"{where}.parent: dimension {d.name!r} is its own ancestor")
                break
            seen.add(parent)
            parent = c.dimension_by_name[parent].parent
    yield from dimension_problems
    if not dimension_problems:
        for i, d in enumerate(c.dimensions):
            for j, value in enumerate(d.values or ()):
                problem = entry_problem(c, d.name, value, check_values=False)
                if problem:
                    yield f"catalog.dimensions[{i}].values[{j}]: {problem}"

    if c.tenancy:
        yield from refs("catalog.tenancy.baseline", c.tenancy.baseline, permissions,
                        "permission")
        yield from refs("catalog.tenancy.may_enable", c.tenancy.may_enable, permissions,
                        "permission")
        enableable = c.tenancy.enableable
        for i, t in enumerate(c.tenancy.tenants):
            yield from refs(f"catalog.tenancy.tenants[{i}].enables", t.enables, permissions,
                            "permission")
            for j, name in enumerate(t.enables):
                if name in permissions and name not in enableable:
                    yield (f"catalog.tenancy.tenants[{i}].enables[{j}]: {name!r} is not in "
                           f"tenancy.may_enable")
        yield from _tenancy_rule_problems(c)

    for i, d in enumerate(c.delegation):
        where = f"catalog.delegation[{i}]"
        yield from refs(f"{where}.actor.statuses", d.actor.statuses, statuses, "status")
        yield from refs(f"{where}.actor.profiles", d.actor.profiles, profiles, "profile")
        yield from refs(f"{where}.actor.permissions", d.actor.permissions, permissions,
                        "permission")
        if (d.actor.statuses, d.actor.profiles, d.actor.permissions) == (None, None, None):
            yield f"{where}.actor: names nobody (give statuses, profiles or permissions)"
        yield from refs(f"{where}.may_assign.statuses", d.may_assign.statuses, statuses,
                        "status", allow_any=True)
        yield from refs(f"{where}.may_assign.profiles", d.may_assign.profiles, profiles,
                        "profile")
        yield from refs(f"{where}.may_assign.toggles", d.may_assign.toggles, toggles, "toggle")
        if d.own_tenants_only and c.tenancy is None:
            yield f"{where}.own_tenants_only: the catalog declares no tenancy"

    if c.tenancy:
        for i, m in enumerate(c.tenancy.managers):
            where = f"catalog.tenancy.managers[{i}]"
            yield from refs(f"{where}.actor.statuses", m.actor.statuses, statuses, "status")
            yield from refs(f"{where}.actor.profiles", m.actor.profiles, profiles, "profile")
            yield from refs(f"{where}.actor.permissions", m.actor.permissions, permissions,
                            "permission")
            if (m.actor.statuses, m.actor.profiles, m.actor.permissions) == (None, None, None):
                yield f"{where}.actor: names nobody (give statuses, profiles or permissions)"
            if m.own_tenants_only and "add" in m.may:
                yield (f"{where}.may: 'add' with own_tenants_only allows nothing (a new "
                       f"tenant is nobody's own yet)")
        yield from dupes("tenancy.managers rule", "tenancy.managers",
                         (m.name for m in c.tenancy.managers))

    yield from _scim_client_problems(c)


def _tenancy_rule_problems(c: Catalog) -> Iterable[str]:
    """Invariants and defaults name a profile some status may hold: one nobody may hold
    could never be satisfied (an invariant) or given (a default)."""
    assert c.tenancy is not None
    held = {p for s in c.statuses for p in s.profiles}
    seen: set[str] = set()
    for i, invariant in enumerate(c.tenancy.invariants):
        where = f"catalog.tenancy.invariants[{i}]"
        if invariant.name in seen:
            yield f"{where}.name: invariant {invariant.name!r} is declared twice"
        seen.add(invariant.name)
        yield from _held_profile(f"{where}.profile", invariant.profile, c, held)
    default = c.tenancy.defaults.first_user_profile
    if default is not None:
        yield from _held_profile("catalog.tenancy.defaults.first_user_profile", default, c,
                                 held)


def _held_profile(where: str, profile: str, c: Catalog, held: set[str]) -> Iterable[str]:
    if profile not in c.profile_by_name:
        yield f"{where}: unknown profile {profile!r}"
    elif profile not in held:
        yield f"{where}: no status may hold profile {profile!r} (list it in a status)"


def _scim_client_problems(c: Catalog) -> Iterable[str]:
    """SCIM client rules name what exists, and never give a tenant-bound client an internal
    or unrestricted status or another tenant (issue 9's tenant escape)."""
    statuses, tenants = set(c.status_by_name), set(c.tenant_by_name)
    names = (r.name for r in c.scim_clients or ())
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            yield f"catalog.scim_clients[{i}].name: SCIM client rule {name!r} is declared twice"
        seen.add(name)
    for i, r in enumerate(c.scim_clients or ()):
        where = f"catalog.scim_clients[{i}]"
        may = r.may_assign
        for field, names_, known, kind, any_ in (
                ("statuses", may.statuses, statuses, "status", True),
                ("profiles", may.profiles, set(c.profile_by_name), "profile", False),
                ("toggles", may.toggles, set(c.toggle_by_name), "toggle", False),
                ("dimensions", may.dimensions, set(c.dimension_by_name), "dimension", False),
                ("tenants", may.tenants, tenants, "tenant", False)):
            for j, name in enumerate(names_ or ()):
                if not (any_ and name == ANY) and name not in known:
                    yield f"{where}.may_assign.{field}[{j}]: unknown {kind} {name!r}"
        if r.client.bound is False:
            continue
        # The rule may apply to tenant-bound clients: nothing internal or unrestricted.
        for j, name in enumerate(may.statuses):
            if name == ANY:
                yield (f"{where}.may_assign.statuses[{j}]: '*' may not be given to "
                       f"tenant-bound clients (list the statuses, or set client.bound: false)")
            elif name in statuses and (c.status_by_name[name].user_type == "internal"
                                       or c.status_by_name[name].unrestricted_perimeter):
                yield (f"{where}.may_assign.statuses[{j}]: status {name!r} is internal or "
                       f"unrestricted: a tenant-bound client may never assign it")
        if may.tenants is not None:
            yield (f"{where}.may_assign.tenants: a tenant-bound client assigns its own tenant "
                   f"only (set client.bound: false to list tenants)")


def entry_problem(catalog: Catalog, dimension: str, value: str,
                  check_values: bool = True) -> str | None:
    """Why ``value`` is not a well-formed (and, with ``check_values``, known) entry."""
    chain = [dimension, *catalog.ancestors(dimension)]
    segments = value.split("/")
    if len(segments) != len(chain):
        shape = "/".join(f"<{d}>" for d in reversed(chain))
        return f"entry {value!r} of dimension {dimension!r} must be written {shape}"
    for segment, dim in zip(segments, reversed(chain), strict=True):
        if not catalog.segment_pattern(dim).fullmatch(segment):
            return (f"entry {value!r}: {segment!r} does not match the pattern of dimension "
                    f"{dim!r}")
    if check_values:
        for depth, dim in enumerate(reversed(chain)):
            known = catalog.dimension_by_name[dim].values
            prefix = "/".join(segments[:depth + 1])
            if known is not None and prefix not in known:
                return f"{prefix!r} is not a known entry of dimension {dim!r}"
    return None
