"""Request normalisation for real SCIM clients, applied to raw JSON before validation.

Each quirk names the client that needs it and what its public documentation says.
Normalisation only ever rewrites a payload into the RFC 7644 form that means the
same thing, so a compliant client is unaffected and backends see one canonical
shape (e.g. member removals always as ``members[value eq "id"]``).

Handled by scim2-models itself, through ``scim.resources.POLICY``:

* Entra's capitalised ops (``Add``/``Replace``/``Remove``): ``PatchOperation.op``
  is case-insensitive.
* Entra's path-less replace with dotted keys
  (``{"name.givenName": "X", "urn:...:enterprise:2.0:User:department": "Y"}``):
  value keys may be attribute paths.
* Entra's ``Add`` on ``emails[type eq "work"].value`` for a user without a work
  e-mail: ``unmatched_path_filter=create``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from scim2_models import Path, Resource

from .errors import InvalidPath, InvalidValue, Mutability
from .resources import Group, Kind

# Microsoft Entra: "Group POST carries an extra schema" — the provisioning service
# sends "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
# in `schemas` on group creation. It declares no attribute we serve, so the URN is
# dropped rather than refused as an unknown extension.
_ADSCIM_MARKER = "adscim"

_TRUE_FALSE = {"true": True, "false": False}


def _is_adscim(schema: Any) -> bool:
    return isinstance(schema, str) and _ADSCIM_MARKER in schema.casefold()


@functools.lru_cache(maxsize=1024)
def _path_type(model: Any, path: str) -> Any:
    # Cached: a pure function of the (static) model and the path, asked once per key of
    # every extension object of every POST/PUT; resolving a Path costs ~25 us. Bounded, so
    # arbitrary client paths cannot grow it.
    try:
        binding = Path[model](path).resolve()
    except Exception:  # an invalid path is reported later, by validation
        return None
    return binding.target_type if binding is not None else None


def _coerce_booleans(model: Any, prefix: str, value: Any) -> Any:
    """Turn "True"/"False" strings into booleans where the schema says boolean.

    Microsoft Entra, without the ``aadOptscim062020`` feature flag, sends
    booleans as strings ("active": "False"), as its SCIM compliance notes describe.
    """
    if isinstance(value, str) and value.casefold() in _TRUE_FALSE:
        if prefix and _path_type(model, prefix) is bool:
            return _TRUE_FALSE[value.casefold()]
        return value
    if isinstance(value, list):
        return [_coerce_booleans(model, prefix, item) for item in value]
    if isinstance(value, dict):
        coerced = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.casefold() == "schemas":
                coerced[key] = item
                continue
            if not prefix:
                child = key
            elif prefix.casefold().startswith("urn:") and _path_type(model, prefix) is None:
                child = f"{prefix}:{key}"  # keys of an extension object
            else:
                child = f"{prefix}.{key}"
            coerced[key] = _coerce_booleans(model, child, item)
        return coerced
    return value


def _manager(value: Any) -> Any:
    """Microsoft Entra sends the enterprise ``manager`` as a bare id string.

    Its provisioning docs show ``"manager": "<id>"`` in PATCH values; RFC 7643 §4.3
    makes it a complex attribute with ``value`` and ``$ref``. The reference is
    filled relative to the SCIM root, since RFC 7643 requires it and clients
    rarely send it.
    """
    if isinstance(value, str):
        value = {"value": value}
    if isinstance(value, dict) and isinstance(value.get("value"), str) and "$ref" not in value:
        value = {**value, "$ref": f"Users/{value['value']}"}
    return value


def _fix_enterprise(resource: dict[str, Any]) -> None:
    for key, ext in resource.items():
        if (
            isinstance(key, str)
            and key.casefold() == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user"
            and isinstance(ext, dict)
        ):
            for name in list(ext):
                if name.casefold() == "manager":
                    ext[name] = _manager(ext[name])
        elif isinstance(key, str) and key.casefold().endswith("enterprise:2.0:user:manager"):
            resource[key] = _manager(ext)


def normalize_resource(kind: Kind, payload: Any, model: type[Resource[Any]]) -> Any:
    """Normalise a POST or PUT body; ``model`` is the class the server validates it as
    (the User with its registered extensions, or the Group)."""
    if not isinstance(payload, dict):
        return payload
    payload = json.loads(json.dumps(payload))  # private deep copy
    schemas = payload.get("schemas")
    if kind is Kind.GROUP and isinstance(schemas, list):
        payload["schemas"] = [s for s in schemas if not _is_adscim(s)]
    if kind is Kind.USER:
        _fix_enterprise(payload)
    return _coerce_booleans(model, "", payload)


def normalize_replacement(kind: Kind, resource_id: str, payload: Any,
                          model: type[Resource[Any]]) -> Any:
    """Normalise a PUT body.

    Okta, for custom SCIM apps, updates with PUT and sends back the whole user as
    it last read it, ``id`` and ``meta`` included (Okta SCIM 2.0 guide, "Update a
    specific User (PUT)"). Both are read-only (RFC 7643 §3.1): ``id`` is ignored
    when it designates the target and refused otherwise, ``meta`` is ignored.
    """
    payload = normalize_resource(kind, payload, model)
    if not isinstance(payload, dict):
        return payload
    for key in [k for k in payload if isinstance(k, str) and k.casefold() in ("id", "meta")]:
        if key.casefold() == "id" and payload[key] != resource_id:
            raise Mutability("'id' is read-only and cannot be changed")
        del payload[key]
    return payload


def _split_member_removal(operation: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Microsoft Entra removes group members with a value array.

    Its docs show ``{"op": "Remove", "path": "members", "value": [{"value": "<id>"}]}``;
    RFC 7644 §3.5.2.2 puts the selection in the path. Each entry becomes
    ``{"op": "remove", "path": "members[value eq \\"<id>\\"]"}`` so backends see one form.
    """
    path, value = operation.get("path"), operation.get("value")
    if not (isinstance(path, str) and path.strip().casefold() == "members"):
        return None
    entries = value if isinstance(value, list) else [value]
    # Entra's examples carry "$ref": null next to the value; display/type may come too.
    if not entries or not all(
        isinstance(e, dict)
        and isinstance(e.get("value"), str)
        and set(e) <= {"value", "$ref", "display", "type"}
        for e in entries
    ):
        return None
    return [
        {"op": "remove", "path": f"members[value eq {json.dumps(e['value'])}]"} for e in entries
    ]


@functools.lru_cache(maxsize=1024)
def _names_members(path: str) -> bool:
    """Whether a PATCH path designates a Group's ``members`` (``members``,
    ``members[value eq "<id>"]``, behind the Group URN or not), not one of its
    sub-attributes such as ``members.display``, which a client names on purpose.
    Resolved by scim2-models' path grammar; cached and bounded like :func:`_path_type`."""
    try:
        binding = Path[Group](path).resolve()
    except Exception:  # an invalid path is reported later, by the PATCH itself
        return False
    return binding is not None and binding.target_field_name == "members" and (
        binding.target_model is Group)


def _drop_member_display(entries: Any) -> None:
    """Okta sends member entries with the ``display`` the group should show.

    Its SCIM 2.0 guide adds members as ``{"value": "<id>", "display": "user@x"}``, as
    does RFC 7644 §3.5.2.1's own example. ``members.display`` is computed by this
    server (readOnly, see ``scim.resources.GroupMember``), so the label is ignored, as
    a readOnly value is in POST and PUT (RFC 7644 §3.5.1), rather than refused as a
    change of a readOnly attribute. A path naming ``members.display`` is still refused.
    """
    for entry in entries if isinstance(entries, list) else [entries]:
        if isinstance(entry, dict):
            for key in [k for k in entry if isinstance(k, str) and k.casefold() == "display"]:
                del entry[key]


def _drop_own_id(operation: dict[str, Any], resource_id: str) -> None:
    """Okta puts the resource ``id`` inside path-less PATCH values.

    Okta's SCIM 2.0 guide shows group renames as
    ``{"op": "replace", "value": {"id": "<group id>", "displayName": "..."}}``.
    ``id`` is read-only (RFC 7643 §3.1): it is ignored when it equals the target's
    id, and refused (mutability) otherwise.
    """
    value = operation.get("value")
    if operation.get("path") or not isinstance(value, dict):
        return
    for key in [k for k in value if isinstance(k, str) and k.casefold() == "id"]:
        if value[key] != resource_id:
            raise Mutability("'id' is read-only and cannot be changed")
        del value[key]


def normalize_patch(kind: Kind, resource_id: str, payload: Any,
                    model: type[Resource[Any]]) -> Any:
    """Normalise a PATCH body (RFC 7644 §3.5.2) of a resource validated as ``model``."""
    if not isinstance(payload, dict):
        return payload
    payload = json.loads(json.dumps(payload))
    operations = payload.get("Operations")
    if not isinstance(operations, list):
        return payload
    normalised: list[Any] = []
    for operation in operations:
        if not isinstance(operation, dict):
            normalised.append(operation)
            continue
        op = operation.get("op")
        if not isinstance(op, str):
            raise InvalidValue("Each operation's 'op' is a string: add, remove or replace")
        # Microsoft Entra: "Add", "Replace", "Remove" (capitalised).
        operation["op"] = op.casefold()
        path = operation.get("path")
        if path is not None and not isinstance(path, str):
            # Checked before any quirk walks it: a path is an attribute path (RFC 7644 §3.5.2).
            raise InvalidPath("An operation's 'path' is a string naming an attribute, "
                              'such as "emails[type eq \"work\"].value"')
        _drop_own_id(operation, resource_id)
        if "value" in operation:
            value = operation["value"]
            if kind is Kind.USER:
                if isinstance(path, str) and path.casefold().endswith(
                    "enterprise:2.0:user:manager"
                ):
                    value = _manager(value)
                elif isinstance(value, dict):
                    _fix_enterprise(value)
            operation["value"] = _coerce_booleans(model, path or "", value)
        if kind is Kind.GROUP and operation.get("op") == "remove":
            split = _split_member_removal(operation)
            if split is not None:
                normalised.extend(split)
                continue
        if kind is Kind.GROUP and operation.get("op") in ("add", "replace"):
            value = operation.get("value")
            if isinstance(path, str) and _names_members(path):
                _drop_member_display(value)
            elif path is None and isinstance(value, dict):
                for key, item in value.items():
                    if isinstance(key, str) and _names_members(key):
                        _drop_member_display(item)
        normalised.append(operation)
    payload["Operations"] = normalised
    return payload
