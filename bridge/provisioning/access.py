"""The domain extension ``urn:bridge:scim:schemas:extension:access:2.0:User`` ↔ Keycloak
user attributes.

Here the extension only has to round-trip (issue 3); its meaning (which statuses exist,
which profile a tenant may grant...) belongs to the access catalog, whose issue replaces
this class. :class:`KeycloakScimBackend` takes any object with the same three methods.

Attributes (multi-valued ones keep one Keycloak value per entry, so protocol mappers can
put them in tokens as they are):

=====================  ==========================  =========================================
SCIM                   Keycloak attribute          value
=====================  ==========================  =========================================
``userType``           ``access.userType``         as sent
``status``             ``access.status``           as sent
``profile``            ``access.profile``          as sent
``profiles``           ``access.profiles``         one value per profile
``toggles``            ``access.toggles``          one value per toggle
``perimeter``          ``access.perimeter``        ``dimension:value`` (JSON when ambiguous)
``tenants``            ``access.tenants``          one value per tenant
=====================  ==========================  =========================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SCALARS = {"userType": "access.userType", "status": "access.status",
           "profile": "access.profile"}
LISTS = {"profiles": "access.profiles", "toggles": "access.toggles",
         "tenants": "access.tenants"}
PERIMETER = "access.perimeter"
TENANTS = LISTS["tenants"]


def _perimeter_value(entry: Mapping[str, Any]) -> str:
    dimension, value = entry.get("dimension"), entry.get("value")
    if isinstance(dimension, str) and isinstance(value, str) and ":" not in dimension \
            and not dimension.startswith("{"):
        return f"{dimension}:{value}"
    return json.dumps({k: v for k, v in entry.items() if v is not None}, sort_keys=True)


def _perimeter_entry(stored: str) -> dict[str, Any]:
    if stored.startswith("{"):
        try:
            entry = json.loads(stored)
        except ValueError:
            entry = None
        if isinstance(entry, dict):
            return entry
    dimension, _, value = stored.partition(":")
    return {"dimension": dimension, "value": value}


class AccessAttributes:
    """The round-trip mapping of the access extension (replaceable, see module doc)."""

    tenant_attribute = TENANTS
    """The user attribute holding the tenants a user belongs to (tenant-bound clients)."""

    def attribute_names(self) -> set[str]:
        """Every Keycloak attribute this mapping owns (others are left alone)."""
        return {*SCALARS.values(), *LISTS.values(), PERIMETER}

    def to_attributes(self, extension: Mapping[str, Any] | None) -> dict[str, list[str]]:
        """SCIM extension (JSON form) → Keycloak attributes."""
        extension = extension or {}
        attributes: dict[str, list[str]] = {}
        for name, attribute in SCALARS.items():
            if extension.get(name) not in (None, ""):
                attributes[attribute] = [str(extension[name])]
        for name, attribute in LISTS.items():
            values = [str(v) for v in extension.get(name) or [] if v not in (None, "")]
            if values:
                attributes[attribute] = values
        perimeter = [_perimeter_value(e) for e in extension.get("perimeter") or []
                     if isinstance(e, Mapping) and any(v is not None for v in e.values())]
        if perimeter:
            attributes[PERIMETER] = perimeter
        return attributes

    def from_attributes(self, attributes: Mapping[str, list[str]]) -> dict[str, Any] | None:
        """Keycloak attributes → SCIM extension (JSON form), ``None`` when there is none."""
        extension: dict[str, Any] = {}
        for name, attribute in SCALARS.items():
            if attributes.get(attribute):
                extension[name] = attributes[attribute][0]
        for name, attribute in LISTS.items():
            if attributes.get(attribute):
                extension[name] = list(attributes[attribute])
        if attributes.get(PERIMETER):
            extension["perimeter"] = [_perimeter_entry(v) for v in attributes[PERIMETER]]
        return extension or None
