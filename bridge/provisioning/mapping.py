"""SCIM resources ↔ Keycloak representations (RFC 7643 §4 onto Keycloak's user and group).

Pure functions over dicts: no admin calls here. The backend reads and writes what these
produce.

User (``GET /users/{id}`` representation):

=============================  ===============================================================
SCIM                           Keycloak
=============================  ===============================================================
``id``                         ``id``
``userName``                   ``username`` (Keycloak lowercases it: unique case-insensitively)
                               and ``scim.userName`` (the exact spelling, returned as sent)
``externalId``                 ``scim.externalId``
``active``                     ``enabled``
``name.givenName/familyName``  ``firstName`` / ``lastName`` (when Keycloak's person-name
                               validator accepts them; the SCIM spelling is kept anyway)
``emails``                     ``email`` = the primary (else first) value; every value,
                               lowercased, in ``scim.email`` (so ``emails eq`` is pushed down)
``preferredLanguage``/``locale`` ``locale`` (Keycloak's UI language; a change made in Keycloak
                               comes back as ``preferredLanguage``)
enterprise extension           ``enterprise.<attribute>``, ``enterprise.manager`` = manager id
access extension               ``access.*`` (see :mod:`bridge.provisioning.access`)
everything else of the core    ``scim.core``: one JSON value (names, phoneNumbers, addresses...)
``meta.created``               ``createdTimestamp``
``meta.lastModified``          ``scim.lastModified`` (written by every SCIM write)
``meta.version``               ``W/"<hash>"`` of the stored representation (see :func:`version`)
``groups``                     ``GET /users/{id}/groups``, managed groups only (read-only)
``password``                   never stored, never logged: users set theirs through Keycloak
=============================  ===============================================================

Group (child of the managed root, e.g. ``/bridge/scim/<displayName>``): ``name`` =
``displayName``; attributes ``scim.externalId``, ``tenant``, ``scim.created``,
``scim.lastModified``; members are the group's direct user members.

``meta.version`` is a hash of what Keycloak stores, so it also changes when an administrator
edits the user in Keycloak. It does not cover memberships (``groups`` of a User, ``members``
of a Group): hashing them would mean listing a 10,000-member group on every member change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from scim2_models import Context, Resource

from bridge.keycloak.limits import email_problem
from bridge.provisioning.access_schema import ACCESS_SCHEMA, AccessUser
from scim.errors import InvalidValue
from scim.resources import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, Kind, ScimGroup

USER_NAME = "scim.userName"
EXTERNAL_ID = "scim.externalId"
EMAILS = "scim.email"
CORE = "scim.core"
CREATED = "scim.created"
LAST_MODIFIED = "scim.lastModified"
LOCALE = "locale"
ACTIVE_UNSET = "scim.activeUnset"
SCIM_DISABLED = "scim.disabledBySCIM"
"""Set when a SCIM client disabled the user: a disabled user without it was disabled by an
operator (the admin console, the bridge's API or CLI, brute-force lockout), and only an
operator re-enables it."""
TENANT = "tenant"
ENTERPRISE_SCALARS = ("employeeNumber", "costCenter", "organization", "division", "department")
ENTERPRISE_PREFIX = "enterprise."
MANAGER = "enterprise.manager"

# Keycloak's default person-name validator (PersonNameProhibitedCharactersValidator): a
# name it refuses stays in scim.core only instead of failing the whole request.
_PERSON_NAME = re.compile(r'^[^<>&"\v$%!#?§;*~/\\|^=\[\]{}()\x00-\x1f\x7f]{1,255}$')
CHUNK = 1900
_NEVER_STORED = ("schemas", "id", "meta", "groups", "password")


class DomainMapping(Protocol):
    """The domain extension ↔ attributes (the access catalog provides the real one)."""

    tenant_attribute: str

    def attribute_names(self) -> set[str]: ...

    def to_attributes(self, extension: Mapping[str, Any] | None) -> dict[str, list[str]]: ...

    def from_attributes(self, attributes: Mapping[str, list[str]]) -> dict[str, Any] | None: ...


# Keycloak's names of what a SCIM write stores → the SCIM attribute a client sent, so an
# error names what the client knows.
_SCIM_NAMES = {
    "username": "userName", USER_NAME: "userName", "email": "emails", EMAILS: "emails",
    "firstName": "name.givenName", "lastName": "name.familyName", EXTERNAL_ID: "externalId",
    LOCALE: "preferredLanguage", MANAGER: "manager", "name": "displayName", TENANT: "tenant",
    CORE: "the user's other attributes (too large)",
}


def scim_name(keycloak_field: str) -> str:
    """The SCIM attribute stored in a Keycloak field or attribute (its own name if none)."""
    if keycloak_field in _SCIM_NAMES:
        return _SCIM_NAMES[keycloak_field]
    if keycloak_field.startswith(ENTERPRISE_PREFIX):
        return keycloak_field[len(ENTERPRISE_PREFIX):]
    return keycloak_field


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _from_millis(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


def _first(attributes: Mapping[str, list[str]], name: str) -> str | None:
    values = attributes.get(name) or []
    return values[0] if values else None


def canonical(rep: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a Keycloak representation a SCIM resource is made of, normalised the way
    Keycloak stores it (lowercased username/e-mail, empty values dropped), so that what we
    write and what we later read hash alike."""
    out: dict[str, Any] = {}
    for key in ("username", "email", "firstName", "lastName", "name"):
        value = rep.get(key)
        if value not in (None, ""):
            out[key] = value.lower() if key in ("username", "email") else value
    if "enabled" in rep or "username" in rep:
        out["enabled"] = bool(rep.get("enabled", True))
    attributes = {
        name: sorted(v for v in values if v not in (None, ""))
        for name, values in (rep.get("attributes") or {}).items()
        if name != LAST_MODIFIED
    }
    out["attributes"] = {k: v for k, v in sorted(attributes.items()) if v}
    return out


def version(rep: Mapping[str, Any]) -> str:
    """Weak ETag of a stored representation (RFC 7644 §3.14)."""
    digest = hashlib.sha256(
        json.dumps(canonical(rep), sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    return f'W/"{digest[:20]}"'


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return canonical(a) == canonical(b)


def _clean_attributes(attributes: Mapping[str, list[str]]) -> dict[str, list[str]]:
    return {k: [v for v in vs if v not in (None, "")] for k, vs in attributes.items()
            if any(v not in (None, "") for v in vs)}


class UserMapping:
    """SCIM User ↔ Keycloak user representation."""

    def __init__(self, domain: DomainMapping) -> None:
        self.domain = domain

    def owned_attributes(self) -> set[str]:
        """Attributes SCIM writes; a PUT keeps every other attribute the user has."""
        return {USER_NAME, EXTERNAL_ID, EMAILS, CORE, LAST_MODIFIED, LOCALE, MANAGER, ACTIVE_UNSET,
                *(ENTERPRISE_PREFIX + name for name in ENTERPRISE_SCALARS),
                *self.domain.attribute_names()}

    def to_keycloak(self, user: Resource[Any], *, keep: Mapping[str, list[str]] | None = None,
                    domain: DomainMapping | None = None) -> dict[str, Any]:
        """The full representation to POST or PUT (``keep``: the current attributes, of
        which those SCIM does not own are carried over; ``domain``: the mapping to use in
        place of this one's, e.g. over the live tenants of this write)."""
        domain = self.domain if domain is None else domain
        data = user.model_dump(scim_ctx=Context.DEFAULT, mode="json")
        for key in _NEVER_STORED:
            data.pop(key, None)
        enterprise = data.pop(ENTERPRISE_SCHEMA, None) or {}
        access = data.pop(ACCESS_SCHEMA, None)
        user_name = data.pop("userName")
        external_id = data.pop("externalId", None)
        active = data.pop("active", None)

        owned = self.owned_attributes()
        attributes: dict[str, list[str]] = {
            k: list(v) for k, v in (keep or {}).items() if k not in owned}
        attributes[USER_NAME] = [user_name]
        if external_id:
            attributes[EXTERNAL_ID] = [external_id]
        if active is None:
            # SCIM leaves active unassigned; Keycloak's user is enabled, and says so only
            # once an administrator disables it.
            attributes[ACTIVE_UNSET] = ["true"]
        name = data.get("name") or {}
        for index, entry in enumerate(data.get("emails") or []):
            # Every address, not only the one Keycloak stores as the user's e-mail: what
            # Keycloak would refuse is refused before any write, whichever entry holds it.
            problem = entry.get("value") and email_problem(entry["value"])
            if problem:
                raise InvalidValue(f"emails[{index}].value {problem}")
        emails = [e for e in data.get("emails") or [] if e.get("value")]
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
        values = sorted({e["value"].lower() for e in emails})
        if values:
            attributes[EMAILS] = values
        language = data.get("preferredLanguage") or data.get("locale")
        if language:
            attributes[LOCALE] = [language]
        for key in ENTERPRISE_SCALARS:
            if enterprise.get(key) not in (None, ""):
                attributes[ENTERPRISE_PREFIX + key] = [str(enterprise[key])]
        manager = enterprise.get("manager") or {}
        if manager.get("value"):
            attributes[MANAGER] = [manager["value"]]
        managed_groups: list[str] | None = None
        actions: list[str] = []
        state_of = getattr(domain, "state", None)
        if state_of is not None and keep is None:
            # A new user of a catalog-backed domain: rules are checked here, before the
            # one write. (An existing user's state is laid over the stored one by
            # bridge.catalog.apply, which the backend calls.)
            state = state_of(access)
            if state is not None:
                attributes.update(state.attribute_lists())
                actions = sorted(state.required_actions)
            managed_groups = sorted(state.groups) if state is not None else []
        elif state_of is None:
            attributes.update(domain.to_attributes(access))
        if data:
            attributes[CORE] = _chunks(json.dumps(data, sort_keys=True, separators=(",", ":")))
        attributes[LAST_MODIFIED] = [now_iso()]
        rep: dict[str, Any] = {
            "username": user_name,
            "enabled": True if active is None else bool(active),
            "firstName": _person_name(name.get("givenName")),
            "lastName": _person_name(name.get("familyName")),
            "email": primary["value"] if primary else "",
            "attributes": _clean_attributes(attributes),
        }
        if managed_groups is not None:
            # Keycloak joins these on create; on update the backend reconciles them.
            rep["groups"] = managed_groups
            rep["requiredActions"] = actions
        return rep

    def from_keycloak(self, rep: Mapping[str, Any],
                      groups: list[dict[str, Any]] | None = None) -> Resource[Any]:
        """A SCIM User from a stored representation (and its managed groups, when loaded)."""
        attributes: Mapping[str, list[str]] = rep.get("attributes") or {}
        data: dict[str, Any] = {}
        core = _joined(attributes.get(CORE))
        if core:
            try:
                loaded = json.loads(core)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                data = loaded
        user_name = _first(attributes, USER_NAME)
        if user_name is None or user_name.lower() != str(rep.get("username", "")).lower():
            user_name = rep.get("username")  # renamed in Keycloak: Keycloak wins
        data["userName"] = user_name
        if _first(attributes, EXTERNAL_ID):
            data["externalId"] = _first(attributes, EXTERNAL_ID)
        enabled = bool(rep.get("enabled", True))
        if not (enabled and _first(attributes, ACTIVE_UNSET)):
            data["active"] = enabled
        _merge_name(data, rep)
        _merge_email(data, rep.get("email"))
        stored_language = _first(attributes, LOCALE)
        if stored_language and stored_language != (
                data.get("preferredLanguage") or data.get("locale")):
            data["preferredLanguage"] = stored_language
        schemas = [USER_SCHEMA]
        enterprise: dict[str, Any] = {
            key: _first(attributes, ENTERPRISE_PREFIX + key)
            for key in ENTERPRISE_SCALARS if _first(attributes, ENTERPRISE_PREFIX + key)}
        manager = _first(attributes, MANAGER)
        if manager:
            enterprise["manager"] = {"value": manager, "$ref": f"Users/{manager}"}
        if enterprise:
            data[ENTERPRISE_SCHEMA] = enterprise
            schemas.append(ENTERPRISE_SCHEMA)
        access = self.domain.from_attributes(attributes)
        if access:
            data[ACCESS_SCHEMA] = access
            schemas.append(ACCESS_SCHEMA)
        data["schemas"] = schemas
        data["id"] = rep["id"]
        if groups:
            data["groups"] = [{"value": g["id"], "$ref": f"Groups/{g['id']}",
                               "display": g.get("name"), "type": "direct"} for g in groups]
        created = _parse_time(_first(attributes, CREATED)) or _from_millis(
            rep.get("createdTimestamp"))
        data["meta"] = _meta(Kind.USER, created,
                             _parse_time(_first(attributes, LAST_MODIFIED)) or created,
                             version(rep))
        return AccessUser.model_validate(data)

    def display(self, rep: Mapping[str, Any]) -> str | None:
        """What a group member entry shows for this user: displayName, else userName."""
        attributes: Mapping[str, list[str]] = rep.get("attributes") or {}
        core = _joined(attributes.get(CORE))
        if core:
            try:
                shown = json.loads(core).get("displayName")
            except (ValueError, AttributeError):
                shown = None
            if shown:
                return str(shown)
        return _first(attributes, USER_NAME) or rep.get("username")

    def tenants(self, rep: Mapping[str, Any]) -> list[str]:
        return list((rep.get("attributes") or {}).get(self.domain.tenant_attribute) or [])


def _chunks(text: str) -> list[str]:
    """Keycloak refuses attribute values over 2048 characters: a long JSON value is stored as
    numbered chunks (``000:…``, ``001:…``), whatever order Keycloak returns them in."""
    size = CHUNK
    return [f"{i // size:03d}:{text[i:i + size]}" for i in range(0, len(text), size)]


def _joined(values: list[str] | None) -> str | None:
    if not values:
        return None
    if len(values) == 1 and not values[0][:4].rstrip(":").isdigit():
        return values[0]
    return "".join(v[4:] for v in sorted(values, key=lambda v: v[:3]))


def _person_name(value: Any) -> str:
    return value if isinstance(value, str) and _PERSON_NAME.match(value) else ""


def _merge_name(data: dict[str, Any], rep: Mapping[str, Any]) -> None:
    """Keycloak's firstName/lastName win when an administrator changed them."""
    name = dict(data.get("name") or {})
    for scim_key, kc_key in (("givenName", "firstName"), ("familyName", "lastName")):
        stored = rep.get(kc_key) or ""
        sent = name.get(scim_key)
        if stored and stored != sent:
            name[scim_key] = stored
        elif not stored and _person_name(sent):
            name.pop(scim_key, None)  # cleared in Keycloak
    if name:
        data["name"] = name
    else:
        data.pop("name", None)


def _merge_email(data: dict[str, Any], stored: str | None) -> None:
    """Keycloak's e-mail wins (case aside) when an administrator changed it."""
    emails = [dict(e) for e in data.get("emails") or []]
    primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
    current = (primary or {}).get("value")
    if stored and (current or "").lower() != stored.lower():
        if primary is None:
            emails.append({"value": stored, "primary": True})
        else:
            primary["value"] = stored
    elif not stored and primary is not None:
        emails.remove(primary)
    if emails:
        data["emails"] = emails
    else:
        data.pop("emails", None)


def _meta(kind: Kind, created: datetime | None, modified: datetime | None,
          etag: str) -> dict[str, Any]:
    """A resource's ``meta``, validated with the resource: one validation, where building
    a Meta and assigning it would validate the whole resource a second time."""
    return {"resourceType": kind.value, "created": created,
            "lastModified": modified or created, "version": etag}


class GroupMapping:
    """SCIM Group ↔ Keycloak group representation (members are handled by the backend)."""

    def to_keycloak(self, group: Resource[Any], *, tenant: str | None, created: str | None,
                    keep: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
        attributes = {k: list(v) for k, v in (keep or {}).items()
                      if k not in (EXTERNAL_ID, TENANT, CREATED, LAST_MODIFIED)}
        if group.external_id:
            attributes[EXTERNAL_ID] = [group.external_id]
        if tenant:
            attributes[TENANT] = [tenant]
        attributes[CREATED] = [created or now_iso()]
        attributes[LAST_MODIFIED] = [now_iso()]
        return {"name": group.display_name, "attributes": _clean_attributes(attributes)}

    def from_keycloak(self, rep: Mapping[str, Any],
                      members: list[dict[str, Any]] | None = None) -> Resource[Any]:
        attributes: Mapping[str, list[str]] = rep.get("attributes") or {}
        data: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": rep["id"],
                                "displayName": rep.get("name")}
        if _first(attributes, EXTERNAL_ID):
            data["externalId"] = _first(attributes, EXTERNAL_ID)
        if members:
            data["members"] = members
        created = _parse_time(_first(attributes, CREATED))
        data["meta"] = _meta(Kind.GROUP, created,
                             _parse_time(_first(attributes, LAST_MODIFIED)) or created,
                             version({"name": rep.get("name"), "attributes": attributes}))
        return ScimGroup.model_validate(data)

    @staticmethod
    def tenant(rep: Mapping[str, Any]) -> str | None:
        return _first(rep.get("attributes") or {}, TENANT)
