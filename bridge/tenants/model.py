"""A tenant as an organization: ``alias`` is the tenant's identifier (what tokens, the users'
``tenants`` attribute and ``perm@tenant`` use), ``name`` its label, and the bridge's
attributes (each value at most 255 characters, Keycloak's limit):

=======================  ===================================================================
attribute                value
=======================  ===================================================================
``bridge.tenant``        ``[alias]``: the key of the exact search (``q=bridge.tenant:<a>``)
``bridge.catalog``       ``[catalog name]``: ownership; an organization without it is not
                         ours, and is never listed, read as a tenant or changed
``bridge.caps``          the permissions the tenant enables beyond the catalog's baseline
``bridge.state``         ``[active]`` or ``[suspended]``
``bridge.responsible``   ``[user:<username>]`` or ``[role:<permission or realm role>]``
                         (who receives the tenant's access requests; optional)
=======================  ===================================================================

Pure: no Keycloak call here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from bridge.catalog.model import NAME, Tenant

TENANT_KEY = "bridge.tenant"
CATALOG_KEY = "bridge.catalog"
CAPS_KEY = "bridge.caps"
STATE_KEY = "bridge.state"
RESPONSIBLE_KEY = "bridge.responsible"

ACTIVE = "active"
SUSPENDED = "suspended"
State = Literal["active", "suspended"]

_ALIAS = re.compile(NAME)


def valid_alias(alias: str) -> bool:
    """A tenant identifier the catalog accepts (also safe in ``q=`` and in a path)."""
    return bool(_ALIAS.fullmatch(alias))


@dataclass(frozen=True)
class Responsible:
    """Who answers a tenant's access requests: one user, or every holder of a role."""

    kind: Literal["user", "role"]
    name: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"

    @classmethod
    def parse(cls, text: str) -> Responsible:
        """``user:<username>`` or ``role:<name>``; raises ValueError otherwise."""
        kind, sep, name = text.partition(":")
        if not sep or kind not in ("user", "role") or not name.strip():
            raise ValueError(f"responsible {text!r} is neither user:<username> nor "
                             f"role:<role>")
        return cls(kind, name.strip())  # type: ignore[arg-type]


@dataclass(frozen=True)
class LiveTenant:
    """One tenant as Keycloak holds it now."""

    alias: str
    label: str
    caps: tuple[str, ...] = ()
    """Permissions enabled beyond the catalog's baseline (sorted)."""
    state: State = ACTIVE
    responsible: Responsible | None = None
    id: str | None = field(default=None, compare=False)
    """The organization's id (None before it is created)."""

    @property
    def suspended(self) -> bool:
        return self.state == SUSPENDED

    def with_caps(self, caps: Iterable[str]) -> LiveTenant:
        return replace(self, caps=tuple(sorted(set(caps))))

    def as_catalog_tenant(self) -> Tenant:
        """The catalog's view: what every rule (``caps``, ``unknown.tenant``) reads."""
        return Tenant(name=self.alias, label=self.label, enables=self.caps,
                      suspended=self.suspended)

    def summary(self) -> dict[str, Any]:
        """The tenant in JSON (CLI ``--output json``, API bodies)."""
        return {"alias": self.alias, "label": self.label, "caps": list(self.caps),
                "state": self.state,
                "responsible": str(self.responsible) if self.responsible else None}


def representation(tenant: LiveTenant, catalog_name: str,
                   stored: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The organization for ``tenant``; over ``stored`` (a PUT replaces the attributes),
    the attributes that are not the bridge's are kept."""
    attributes: dict[str, list[str]] = {
        k: list(v) for k, v in ((stored or {}).get("attributes") or {}).items()
        if not k.startswith("bridge.")}
    attributes |= {TENANT_KEY: [tenant.alias], CATALOG_KEY: [catalog_name],
                   STATE_KEY: [tenant.state]}
    if tenant.caps:
        attributes[CAPS_KEY] = list(tenant.caps)
    if tenant.responsible is not None:
        attributes[RESPONSIBLE_KEY] = [str(tenant.responsible)]
    rep: dict[str, Any] = {**(stored or {}), "name": tenant.label or tenant.alias,
                           "alias": tenant.alias, "attributes": attributes}
    rep.setdefault("enabled", True)
    return rep


def parse(rep: Mapping[str, Any], catalog_name: str) -> LiveTenant | None:
    """The tenant an organization is, or None when it is not one of ``catalog_name``'s
    (no ownership mark, another catalog's, or an alias the catalog cannot name)."""
    attributes = rep.get("attributes") or {}
    alias = str(rep.get("alias") or "")
    if list(attributes.get(CATALOG_KEY) or ()) != [catalog_name] or not valid_alias(alias) \
            or list(attributes.get(TENANT_KEY) or ()) != [alias]:
        return None
    state: State = SUSPENDED if SUSPENDED in (attributes.get(STATE_KEY) or ()) else ACTIVE
    responsible = None
    for text in attributes.get(RESPONSIBLE_KEY) or ():
        try:
            responsible = Responsible.parse(str(text))
        except ValueError:
            responsible = None  # a hand-edited value names nobody: no request is mailed
        break
    name = str(rep.get("name") or alias)
    return LiveTenant(alias=alias, label=name, caps=tuple(sorted(set(
        str(c) for c in attributes.get(CAPS_KEY) or ()))), state=state,
        responsible=responsible, id=str(rep["id"]) if rep.get("id") else None)
