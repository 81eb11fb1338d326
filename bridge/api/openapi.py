"""The OpenAPI 3.1 document of ``/api/v1``, generated from the routes and their models.

Each route is declared once, as an :class:`Operation` (its Flask rule, its request body and
query models, its replies' models); :mod:`bridge.api.blueprint` registers it and validates
with the same models, and :func:`document` renders every operation into the document. The
schemas are pydantic's own JSON Schema (draft 2020-12, which is OpenAPI 3.1's dialect), so
there is nothing to translate. No Flask here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from bridge.api.models import Error

VERSION = "1.0.0"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Reply:
    """One answer of an operation: a JSON body of ``model``, or ``media_type`` with
    ``schema`` (the document itself, the docs page), or nothing (204)."""

    description: str
    model: type[BaseModel] | None = None
    media_type: str = "application/json"
    schema: Mapping[str, Any] | None = None
    headers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"},
                               "description": "seconds to wait before retrying"}}


def refused(description: str, *, retry: bool = False) -> Reply:
    return Reply(description, Error, headers=RETRY_AFTER if retry else {})


ERRORS: Mapping[int, Reply] = {
    400: refused("Invalid request (`invalid-request`, `detail` names the field; also a body "
                 "that is not UTF-8 JSON or nests deeper than 32), a value the directory would "
                 "refuse (`invalid-value`, e.g. an e-mail address Keycloak's rule refuses), "
                 "or a catalog rule refuses it (`error` names the rule, e.g. "
                 "`status.profile`, `exclusive.profile`)"),
    401: refused("No valid access token of the realm, or the actor is deactivated"),
    403: refused("Delegation refused (`delegation.not-allowed`, `delegation.tenant`, "
                 "`delegation.rank`, `delegation.perimeter`); `detail` gives the reason"),
    404: refused("No such user or invitation"),
    413: refused("`payload-too-large`: the body exceeds 1 MiB (every route)"),
    500: refused("An unexpected error; `detail` carries the request id the log line has"),
    503: refused("Keycloak or its mail server unavailable (retry after `Retry-After`); or "
                 "`catalog-not-configured`: the bridge runs without an access catalog "
                 "(`BRIDGE_CATALOG`), no retry helps", retry=True),
}
"""What every authenticated operation may answer besides its own replies."""
NOT_PUBLIC = frozenset({400, 401, 403, 404, 503})
"""The answers of :data:`ERRORS` that come from the token, the catalog or Keycloak: a public
operation (the document, its page) never gives them; it may still give the others (a body
over the size limit, an unexpected error)."""


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    """The Flask rule under the blueprint's prefix, e.g. ``/invitations/<id>``."""
    operation_id: str
    summary: str
    replies: Mapping[int, Reply]
    description: str = ""
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    path_description: str = ""
    """What ``{id}`` is, for a rule with one."""
    public: bool = False
    """Served without a token (and without the authenticated operations' errors)."""

    @property
    def path(self) -> str:
        return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", self.rule)


class _Schemas(GenerateJsonSchema):
    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # the property's name says it


def _allows_null(schema: Mapping[str, Any]) -> bool:
    return (schema.get("type") == "null"
            or any(_allows_null(s) for s in schema.get("anyOf", ())))


def _tidy(schemas: dict[str, Any]) -> None:
    """``default: null`` on a field that refuses null means "absent: unchanged", not a
    value to send: it is dropped, so no client sends the null that would be refused."""
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            if "default" in prop and prop["default"] is None and not _allows_null(prop):
                del prop["default"]


def _components(operations: Iterable[Operation]) -> dict[str, Any]:
    models: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {(Error, "serialization"): None}
    for op in operations:
        if op.body is not None:
            models[(op.body, "validation")] = None
        for reply in op.replies.values():
            if reply.model is not None:
                models[(reply.model, "serialization")] = None
    _, top = models_json_schema(list(models), ref_template=REF, schema_generator=_Schemas)
    schemas = dict(top.get("$defs", {}))
    _tidy(schemas)
    return schemas


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _reply(reply: Reply) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": reply.description}
    schema = _ref(reply.model) if reply.model is not None else reply.schema
    if schema is not None:
        answer["content"] = {reply.media_type: {"schema": dict(schema)}}
    if reply.headers:
        answer["headers"] = {name: dict(h) for name, h in reply.headers.items()}
    return answer


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"},
                   "description": op.path_description}
                  for name in re.findall(r"{([^}]+)}", op.path)]
    if op.query is not None:
        schema = op.query.model_json_schema(schema_generator=_Schemas)
        for name, prop in schema.get("properties", {}).items():
            description = prop.pop("description", "")
            parameters.append({"name": name, "in": "query", "required": False,
                               "schema": prop, "description": description})
    return parameters


def _operation(op: Operation) -> dict[str, Any]:
    errors = {s: r for s, r in ERRORS.items() if not (op.public and s in NOT_PUBLIC)}
    replies = {**errors, **op.replies}
    rendered: dict[str, Any] = {
        "operationId": op.operation_id, "summary": op.summary,
        "responses": {str(status): _reply(reply) for status, reply in sorted(replies.items())},
    }
    if op.description:
        rendered["description"] = op.description
    parameters = _parameters(op)
    if parameters:
        rendered["parameters"] = parameters
    if op.body is not None:
        rendered["requestBody"] = {"required": op.body_required, "content": {
            "application/json": {"schema": _ref(op.body)}}}
    if op.public:
        rendered["security"] = []
    return rendered


def document(operations: Iterable[Operation]) -> dict[str, Any]:
    """The document describing exactly ``operations``."""
    operations = list(operations)
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Access bridge: invitations and lifecycle",
            "version": VERSION,
            "description": (
                "Invite people, list, resend and revoke pending invitations, deactivate, "
                "reactivate, delete and change users. Callers are users of the product "
                "authenticated by a Keycloak access token of the realm; the access catalog "
                "checks every change and says who may invite or change whom. Every error "
                'reads `{"error": code, "detail": text}`.'),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "An access token of the realm from the catalog's client "
                               "(`portal`), after a login"}},
            "schemas": _components(operations),
        },
    }
