"""SCIM requests → backend calls → SCIM responses (RFC 7644). No Flask, no I/O of its own.

:class:`ScimHandlers` receives a neutral :class:`ScimRequest` (already
authenticated: it carries the :class:`~scim.backend.Subject`) and returns a
:class:`ScimResponse`. It validates with scim2-models, normalises client quirks
(``scim.quirks``), applies paging, sorting, ``attributes``/``excludedAttributes``,
ETags and preconditions, runs ``/Bulk``, and renders every
:class:`~scim.errors.ScimError` as a SCIM Error. Unexpected exceptions propagate to
the adapter, which logs them and answers a generic 500.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from scim2_models import (
    Context,
    PatchOp,
    Resource,
    ResponseParameters,
    Returned,
    SCIMException,
    ScimFilter,
    SearchRequest,
)

from . import errors, quirks, schemas
from .backend import (
    ALL_ATTRIBUTES,
    Precondition,
    Projection,
    Query,
    ScimBackend,
    Subject,
    check_precondition,
)
from .payload import BodyTooLarge, InvalidJson, PayloadError, parse_json
from .resources import ENTERPRISE_SCHEMA, POLICY, Kind
from .settings import ScimSettings

logger = logging.getLogger(__name__)

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"

# SCIM 1.x URNs (e.g. "urn:scim:schemas:core:1.0") or a 1.x message/schema URN.
_OLD_VERSION = re.compile(r"^urn:scim:|^urn:ietf:params:scim:[a-z:]*:1\.\d", re.IGNORECASE)
_JSON_MEDIA = re.compile(r"^application/([a-z0-9.+-]*\+)?json$", re.IGNORECASE)

_clock = time.monotonic
"""The clock of the Bulk time budget (a module attribute, so tests can turn it)."""


@dataclass(frozen=True)
class ScimRequest:
    """One SCIM request, relative to the SCIM root (``path`` like ``/Users/2819c223``)."""

    method: str
    path: str
    base_url: str
    subject: Subject
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    request_id: str = ""

    def header(self, name: str) -> str | None:
        wanted = name.casefold()
        for key, value in self.headers.items():
            if key.casefold() == wanted:
                return value
        return None


@dataclass
class ScimResponse:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def error_response(error: errors.ScimError) -> ScimResponse:
    status, body, headers = error.render()
    return ScimResponse(status, body, headers)


def translate(exc: BaseException) -> errors.ScimError | None:
    """Our error for a SCIM-ish exception; ``None`` for anything unexpected."""
    return errors.from_exception(exc)


class ScimHandlers:
    """The SCIM service over one :class:`~scim.backend.ScimBackend`."""

    def __init__(self, backend: ScimBackend, settings: ScimSettings | None = None) -> None:
        self.backend = backend
        self.settings = settings or ScimSettings()
        self.resources = backend.resources
        group_model: Any = self.resources.group
        self._members_excluded: ResponseParameters[Any] = ResponseParameters[
            group_model].model_validate({"excludedAttributes": "members"})
        """A Group PATCH's answer by default (``group_patch_returns_members`` off); built
        once, read only."""

    # -- entry points ----------------------------------------------------------

    def handle(self, request: ScimRequest) -> ScimResponse:
        """Serve a request; SCIM errors become SCIM Error responses.

        Anything else (a bug, a backend's unexpected exception) propagates.
        """
        try:
            return self.dispatch(request)
        except (errors.ScimError, SCIMException, ValidationError) as exc:
            error = translate(exc)
            assert error is not None
            if error.status >= 500:
                logger.warning("scim request %s failed: %s", request.request_id, error.detail)
            return error_response(error)

    def dispatch(self, request: ScimRequest) -> ScimResponse:
        """Route a request; raises SCIM errors."""
        segments = [s for s in request.path.split("/") if s]
        method = request.method.upper()
        if not segments:
            raise errors.NotFound("No resource at the SCIM root")
        head = segments[0].casefold()
        if head == "serviceproviderconfig" and len(segments) == 1:
            self._allow(method, "GET")
            self._no_filter(request)
            body = schemas.service_provider_config(self.settings, request.base_url)
            return ScimResponse(200, body)
        if head == "serviceproviderconfig" and [s.casefold() for s in segments[1:]] == ["limits"]:
            self._allow(method, "GET")
            self._no_filter(request)
            return ScimResponse(200, schemas.limits(self.settings, request.base_url))
        if head in ("resourcetypes", "schemas") and len(segments) <= 2:
            self._allow(method, "GET")
            self._no_filter(request)
            items = (
                schemas.resource_types(self.resources, request.base_url)
                if head == "resourcetypes"
                else schemas.schemas(self.resources, request.base_url)
            )
            if len(segments) == 2:
                for item in items:
                    if item["id"].casefold() == segments[1].casefold():
                        return ScimResponse(200, item)
                raise errors.NotFound(f"No {segments[0]} entry {segments[1]!r}")
            return ScimResponse(200, _list_body(items, len(items), 1))
        if head == "bulk" and len(segments) == 1:
            self._allow(method, "POST")
            return self.bulk(request)
        if head == ".search" and len(segments) == 1:
            self._allow(method, "POST")
            payload = self._json(request)
            if not isinstance(payload, dict):
                raise errors.InvalidSyntax("A SearchRequest must be a JSON object")
            return self.search_all(request, payload)

        kind = Kind.of_endpoint(segments[0])
        if kind is None or len(segments) > 2:
            raise errors.NotFound(f"No endpoint {request.path!r}")
        if len(segments) == 1:
            if method == "GET":
                return self.search(request, kind, self._query_params(request))
            if method == "POST":
                return self.create(request, kind)
            raise errors.MethodNotAllowed()
        resource_id = segments[1]
        if resource_id == ".search":
            self._allow(method, "POST")
            payload = self._json(request)
            if not isinstance(payload, dict):
                raise errors.InvalidSyntax("A SearchRequest must be a JSON object")
            return self.search(request, kind, payload)
        if method == "GET":
            return self.read(request, kind, resource_id)
        if method == "PUT":
            return self.replace(request, kind, resource_id)
        if method == "PATCH":
            return self.patch(request, kind, resource_id)
        if method == "DELETE":
            return self.delete(request, kind, resource_id)
        raise errors.MethodNotAllowed()

    # -- operations --------------------------------------------------------------

    def create(self, request: ScimRequest, kind: Kind) -> ScimResponse:
        """POST /Users, /Groups (RFC 7644 §3.3): 201 with Location and ETag.

        ``attributes``/``excludedAttributes`` shape the answer, as on any operation
        that returns a resource (RFC 7644 §3.9).
        """
        params = self._response_parameters(request, kind)
        payload = quirks.normalize_resource(kind, self._json(request), self.resources.model(kind))
        self._check_version(payload)
        resource = self._validate(kind, payload, Context.RESOURCE_CREATION_REQUEST)
        created = self.backend.create(request.subject, kind, resource)
        response = self._resource_response(
            request, kind, created, params, Context.RESOURCE_CREATION_RESPONSE, 201
        )
        response.headers["Location"] = self._location(request, kind, created)
        return response

    def read(self, request: ScimRequest, kind: Kind, resource_id: str) -> ScimResponse:
        """GET /Users/{id} (RFC 7644 §3.4.1), with If-None-Match → 304."""
        params = self._response_parameters(request, kind)
        resource = self.backend.get(
            request.subject, kind, resource_id, projection=_projection(params)
        )
        if resource is None:
            raise errors.NotFound(f"{kind.value} {resource_id!r} not found")
        if_none_match = Precondition.parse(request.header("If-None-Match"))
        version = resource.meta.version if resource.meta else None
        if if_none_match is not None and if_none_match.admits(version):
            return ScimResponse(304, None, {"ETag": version} if version else {})
        return self._resource_response(
            request, kind, resource, params, Context.RESOURCE_QUERY_RESPONSE
        )

    def replace(self, request: ScimRequest, kind: Kind, resource_id: str) -> ScimResponse:
        """PUT (RFC 7644 §3.5.1): read-only attributes kept, immutable ones checked."""
        params = self._response_parameters(request, kind)
        payload = quirks.normalize_replacement(
            kind, resource_id, self._json(request), self.resources.model(kind))
        self._check_version(payload)
        replacement = self._validate(kind, payload, Context.RESOURCE_REPLACEMENT_REQUEST)
        if_match = Precondition.parse(request.header("If-Match"))
        current = self.backend.get(request.subject, kind, resource_id)
        if current is None:
            raise errors.NotFound(f"{kind.value} {resource_id!r} not found")
        check_precondition(current, if_match)
        replacement.replace(current)
        stored = self.backend.replace(
            request.subject, kind, resource_id, replacement, if_match=if_match
        )
        return self._resource_response(
            request, kind, stored, params, Context.RESOURCE_REPLACEMENT_RESPONSE
        )

    def patch(self, request: ScimRequest, kind: Kind, resource_id: str) -> ScimResponse:
        """PATCH (RFC 7644 §3.5.2): answers 200 with the resource, never 204."""
        params = self._response_parameters(request, kind)
        default_exclusion = (
            kind is Kind.GROUP and params is None
            and not self.settings.group_patch_returns_members
        )
        if default_exclusion:
            params = self._members_excluded
        payload = quirks.normalize_patch(
            kind, resource_id, self._json(request), self.resources.model(kind))
        self._check_version(payload)
        model: Any = self.resources.model(kind)
        patch = PatchOp[model].model_validate(
            payload, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
        )
        resource = self.backend.patch(
            request.subject,
            kind,
            resource_id,
            patch,
            if_match=Precondition.parse(request.header("If-Match")),
            projection=_projection(params),
        )
        if default_exclusion and not getattr(resource, "members", None):
            # The members this server leaves out by default were not loaded (the
            # projection): excluding them removes nothing (a Group has no extension
            # whose attribute could be named "members"), so render without asking.
            params = None
        return self._resource_response(
            request, kind, resource, params, Context.RESOURCE_REPLACEMENT_RESPONSE
        )

    def delete(self, request: ScimRequest, kind: Kind, resource_id: str) -> ScimResponse:
        """DELETE (RFC 7644 §3.6): 204."""
        self.backend.delete(
            request.subject,
            kind,
            resource_id,
            if_match=Precondition.parse(request.header("If-Match")),
        )
        return ScimResponse(204)

    def search(self, request: ScimRequest, kind: Kind, payload: dict[str, Any]) -> ScimResponse:
        """GET /Users?filter=… and POST /Users/.search (RFC 7644 §3.4.2, §3.4.3)."""
        payload = dict(payload)
        self._check_version(payload)
        payload.setdefault("schemas", [SEARCH_REQUEST])
        model: Any = self.resources.model(kind)
        search = SearchRequest[model].model_validate(
            payload, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY
        )
        if search.cursor is not None:
            raise errors.InvalidValue("Cursor pagination is not supported; use startIndex")
        count = self.settings.default_count if search.count is None else search.count
        count = min(count, self.settings.max_count)
        start_index = search.start_index or 1
        query = Query(
            filter=search.filter,
            sort_by=search.sort_by,
            descending=search.sort_order == SearchRequest.SortOrder.descending,
            start_index=start_index,
            count=count,
            projection=_projection(search),
            request=search,
        )
        result = self.backend.query(request.subject, kind, query)
        page = result.resources[:count]
        resources = [
            self._render(request, kind, resource, search, Context.RESOURCE_QUERY_RESPONSE)
            for resource in page
        ]
        return ScimResponse(200, _list_body(resources, result.total_results, start_index))

    def search_all(self, request: ScimRequest, payload: dict[str, Any]) -> ScimResponse:
        """POST /.search at the SCIM root: Users and Groups as one collection (RFC 7644 §3.4.3).

        An attribute only one type declares matches nothing of the other type
        (RFC 7644 §3.4.2.1). Unsorted, Users come before Groups; sorted, the first
        ``startIndex + count - 1`` of each type are merged, which is exact.
        """
        payload = dict(payload)
        self._check_version(payload)
        payload.setdefault("schemas", [SEARCH_REQUEST])
        union: Any = self.resources.user | self.resources.group
        search = SearchRequest[union].model_validate(
            payload, scim_ctx=Context.SEARCH_REQUEST, scim_policy=POLICY
        )
        if search.cursor is not None:
            raise errors.InvalidValue("Cursor pagination is not supported; use startIndex")
        count = min(
            self.settings.default_count if search.count is None else search.count,
            self.settings.max_count,
        )
        start_index = search.start_index or 1
        descending = search.sort_order == SearchRequest.SortOrder.descending

        def query(kind: Kind, start: int, size: int) -> tuple[list[Resource[Any]], int]:
            model: Any = self.resources.model(kind)
            bound = ScimFilter[model](str(search.filter)) if search.filter else None
            result = self.backend.query(
                request.subject,
                kind,
                Query(bound, search.sort_by, descending, start, size, _projection(search), search),
            )
            return result.resources[:size], result.total_results

        if search.sort_by is None:
            users, user_total = query(Kind.USER, start_index, count)
            group_start = max(1, start_index - user_total)
            groups, group_total = query(Kind.GROUP, group_start, count - len(users))
            page = [*users, *groups]
        else:
            window = start_index - 1 + count
            users, user_total = query(Kind.USER, 1, window)
            groups, group_total = query(Kind.GROUP, 1, window)
            page = search.sort([*users, *groups])[start_index - 1 : window]
        resources = [
            self._render(request, self.resources.kind_of(r), r, search,
                         Context.RESOURCE_QUERY_RESPONSE)
            for r in page
        ]
        return ScimResponse(200, _list_body(resources, user_total + group_total, start_index))

    # -- bulk --------------------------------------------------------------------

    def bulk(self, request: ScimRequest) -> ScimResponse:
        """POST /Bulk (RFC 7644 §3.7): bulkId references, failOnErrors, limits."""
        limit = self.settings.bulk_max_payload_size
        if len(request.body) > limit:
            raise errors.PayloadTooLarge(
                f"The size of the bulk operation exceeds the maxPayloadSize ({limit})."
            )
        body = self._json(request, max_size=limit)
        if not isinstance(body, dict):
            raise errors.InvalidSyntax("A BulkRequest must be a JSON object")
        self._check_version(body)
        operations = body.get("Operations")
        if not isinstance(operations, list) or not operations:
            raise errors.InvalidSyntax("A BulkRequest carries a non-empty 'Operations' array")
        max_ops = self.settings.bulk_max_operations
        if len(operations) > max_ops:
            raise errors.TooManyOperations(
                f"The bulk request holds {len(operations)} operations, "
                f"more than maxOperations ({max_ops})."
            )
        fail_on_errors = body.get("failOnErrors")
        if fail_on_errors is not None and (
            not isinstance(fail_on_errors, int)
            or isinstance(fail_on_errors, bool)
            or fail_on_errors < 1
        ):
            raise errors.InvalidValue("failOnErrors must be a positive integer")
        return ScimResponse(
            200,
            {
                "schemas": [BULK_RESPONSE],
                "Operations": _BulkRun(self, request, operations, fail_on_errors).run(),
            },
        )

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise errors.MethodNotAllowed()

    @staticmethod
    def _no_filter(request: ScimRequest) -> None:
        # RFC 7644 §4: discovery endpoints are not filterable; 403 if asked.
        if "filter" in request.query:
            raise errors.Forbidden("Discovery endpoints do not support filtering")

    def _json(self, request: ScimRequest, *, max_size: int | None = None) -> Any:
        """The body as JSON, within the advertised size and depth (``scim.payload``)."""
        content_type = (request.header("Content-Type") or "").split(";")[0].strip()
        if content_type and not _JSON_MEDIA.match(content_type):
            raise errors.UnsupportedMediaType()
        if not request.body:
            raise errors.InvalidSyntax("The request has no body")
        try:
            return parse_json(
                request.body, max_size=max_size or self.settings.max_payload_size,
                max_depth=self.settings.max_json_depth)
        except BodyTooLarge as exc:
            raise errors.PayloadTooLarge(str(exc)) from None
        except InvalidJson as exc:
            if exc.surrogate:
                raise errors.InvalidValue(str(exc)) from None
            raise errors.InvalidSyntax(str(exc)) from None
        except PayloadError as exc:
            raise errors.InvalidSyntax(str(exc)) from None

    @staticmethod
    def _check_version(payload: Any) -> None:
        """invalidVers (RFC 7644 §3.12): a SCIM 1.x schema URN in the body."""
        schemas_ = payload.get("schemas") if isinstance(payload, dict) else None
        if isinstance(schemas_, list) and any(
            isinstance(s, str) and _OLD_VERSION.match(s) for s in schemas_
        ):
            raise errors.InvalidVersion("Only SCIM 2.0 is supported")

    def _validate(self, kind: Kind, payload: Any, context: Context) -> Resource[Any]:
        if not isinstance(payload, dict):
            raise errors.InvalidSyntax(f"A {kind.value} must be a JSON object")
        return self.resources.model(kind).model_validate(
            payload, scim_ctx=context, scim_policy=POLICY)

    @staticmethod
    def _query_params(request: ScimRequest) -> dict[str, Any]:
        names = (
            "filter",
            "sortBy",
            "sortOrder",
            "startIndex",
            "count",
            "attributes",
            "excludedAttributes",
            "cursor",
        )
        return {name: request.query[name] for name in names if name in request.query}

    def _response_parameters(
        self, request: ScimRequest, kind: Kind
    ) -> ResponseParameters[Any] | None:
        params = {
            key: request.query[key]
            for key in ("attributes", "excludedAttributes")
            if request.query.get(key)
        }
        if not params:
            return None
        model: Any = self.resources.model(kind)
        return ResponseParameters[model].model_validate(params)

    @staticmethod
    def _location(request: ScimRequest, kind: Kind, resource: Resource[Any]) -> str:
        return f"{request.base_url.rstrip('/')}{kind.endpoint}/{resource.id}"

    def _render(
        self,
        request: ScimRequest,
        kind: Kind,
        resource: Resource[Any],
        params: ResponseParameters[Any] | None,
        context: Context,
    ) -> dict[str, Any]:
        published = resource.model_copy()
        if published.meta is not None:
            published.meta = published.meta.model_copy(
                update={"location": self._location(request, kind, resource)}
            )
        if _asks_nothing(params) and not _holds_unreturned(published):
            # The response filter (RFC 7643 §7 returnability, RFC 7644 §3.9) would
            # remove nothing: no attribute was asked for or excluded, and none held
            # is returned "never" or only on request. scim2-models' dump in its
            # default context is then the same body, without the per-attribute
            # filter walk (a third of a response's serialisation).
            body = published.model_dump(scim_ctx=Context.DEFAULT)
        else:
            body = published.model_dump(scim_ctx=context, response_parameters=params)
        _absolute_references(body, request.base_url)
        return body

    def _resource_response(
        self,
        request: ScimRequest,
        kind: Kind,
        resource: Resource[Any],
        params: ResponseParameters[Any] | None,
        context: Context,
        status: int = 200,
    ) -> ScimResponse:
        body = self._render(request, kind, resource, params, context)
        headers = {}
        version = resource.meta.version if resource.meta else None
        if version:
            headers["ETag"] = version
        return ScimResponse(status, body, headers)


def _asks_nothing(params: ResponseParameters[Any] | None) -> bool:
    """Whether ``params`` (or a SearchRequest) names no attributes nor excludedAttributes."""
    return params is None or not (params.attributes or params.excluded_attributes)


@functools.cache
def _unreturned_paths(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    """The attributes of ``model`` (sub-attributes included, as paths of field names)
    that a response leaves out unless asked for: returned "never" or "request"
    (RFC 7643 §7). Computed once per class from its annotations."""
    paths: list[tuple[str, ...]] = []
    for name in model.model_fields:
        if model.get_field_annotation(name, Returned) in (Returned.never, Returned.request):
            paths.append((name,))
            continue
        root = model.get_field_root_type(name)
        if isinstance(root, type) and issubclass(root, BaseModel):
            paths.extend((name, *path) for path in _unreturned_paths(root))
    return tuple(paths)


def _holds_value(value: Any, path: tuple[str, ...]) -> bool:
    if value is None:
        return False
    if isinstance(value, list):
        return any(_holds_value(item, path) for item in value)
    if not path:
        return True
    return _holds_value(getattr(value, path[0], None), path[1:])


def _holds_unreturned(resource: Resource[Any]) -> bool:
    """Whether ``resource`` holds a value a response leaves out unless asked for."""
    return any(_holds_value(resource, path) for path in _unreturned_paths(type(resource)))


def _projection(params: ResponseParameters[Any] | None) -> Projection:
    if params is None:
        return ALL_ATTRIBUTES
    return Projection(
        attributes=tuple(str(a) for a in params.attributes or ()),
        excluded_attributes=tuple(str(a) for a in params.excluded_attributes or ()),
    )


def _list_body(resources: list[dict[str, Any]], total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


def _absolute(base_url: str, reference: str) -> str:
    if "://" in reference or reference.startswith("/"):
        return reference
    return f"{base_url.rstrip('/')}/{reference}"


def _absolute_references(body: dict[str, Any], base_url: str) -> None:
    """Make the references a backend stored relative to the SCIM root absolute.

    A member or group entry without ``$ref`` gets one from its ``value`` and
    ``type`` (RFC 7643 §4.2, §4.1.2).
    """
    for attribute, default_type in (("members", "User"), ("groups", "Group")):
        for entry in body.get(attribute) or []:
            if not isinstance(entry, dict):
                continue
            if "$ref" not in entry and entry.get("value"):
                entry_type = entry.get("type") if attribute == "members" else None
                endpoint = "Groups" if (entry_type or default_type) == "Group" else "Users"
                entry["$ref"] = f"{endpoint}/{entry['value']}"
            if isinstance(entry.get("$ref"), str):
                entry["$ref"] = _absolute(base_url, entry["$ref"])
    enterprise = body.get(ENTERPRISE_SCHEMA)
    manager = enterprise.get("manager") if isinstance(enterprise, dict) else None
    if isinstance(manager, dict) and isinstance(manager.get("$ref"), str):
        manager["$ref"] = _absolute(base_url, manager["$ref"])


# -- bulk ------------------------------------------------------------------------

_BULK_REF = re.compile(r"^bulkId:(.+)$")


class _Unresolved(Exception):
    """An operation references a bulkId whose POST has not run yet."""

    def __init__(self, bulk_id: str) -> None:
        super().__init__(bulk_id)
        self.bulk_id = bulk_id


class _BulkRun:
    """One /Bulk request: operations run in order, an operation referencing a later
    POST's bulkId is deferred until that POST has run (RFC 7644 §3.7.2); references
    that can never resolve (unknown, failed or circular) fail with 409."""

    def __init__(
        self,
        handlers: ScimHandlers,
        request: ScimRequest,
        operations: list[Any],
        fail_on_errors: int | None,
    ) -> None:
        self.handlers = handlers
        self.request = request
        self.operations = operations
        self.fail_on_errors = fail_on_errors
        self.ids: dict[str, str] = {}
        self.declared = {
            op.get("bulkId")
            for op in operations
            if isinstance(op, dict) and isinstance(op.get("bulkId"), str)
        }
        self.failed_bulk_ids: set[str] = set()
        self.errors = 0
        self.started = _clock()
        self.budget = handlers.settings.bulk_time_budget

    def run(self) -> list[dict[str, Any]]:
        results: dict[int, dict[str, Any]] = {}
        pending = list(range(len(self.operations)))
        while pending:
            deferred = []
            progressed = False
            for index in pending:
                if self.fail_on_errors is not None and self.errors >= self.fail_on_errors:
                    return [results[i] for i in sorted(results)]
                if results and _clock() - self.started >= self.budget:
                    # Nothing starts once the budget is spent (the first operation always
                    # runs); each operation not run says so and may be sent again.
                    results[index] = self._not_run(self.operations[index])
                    progressed = True
                    continue
                try:
                    results[index] = self._run_one(self.operations[index])
                    progressed = True
                except _Unresolved as unresolved:
                    if unresolved.bulk_id in self.failed_bulk_ids or (
                        unresolved.bulk_id not in self.declared
                    ):
                        results[index] = self._failure(
                            self.operations[index],
                            errors.Conflict(
                                f"bulkId {unresolved.bulk_id!r} does not designate a "
                                "resource created by this request"
                            ),
                        )
                        progressed = True
                    else:
                        deferred.append(index)
            if deferred and not progressed:
                for index in deferred:
                    results[index] = self._failure(
                        self.operations[index],
                        errors.Conflict("Circular or unresolvable bulkId references"),
                    )
                break
            pending = deferred
        return [results[i] for i in sorted(results)]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            match = _BULK_REF.match(value)
            if match:
                bulk_id = match.group(1)
                if bulk_id not in self.ids:
                    raise _Unresolved(bulk_id)
                return self.ids[bulk_id]
            return value
        if isinstance(value, list):
            return [self._resolve(item) for item in value]
        if isinstance(value, dict):
            return {key: self._resolve(item) for key, item in value.items()}
        return value

    def _resolve_path(self, path: str) -> str:
        return "/".join(self._resolve(segment) for segment in path.split("/"))

    def _not_run(self, operation: Any) -> dict[str, Any]:
        result = self._failure(operation, errors.NotRun(
            f"Not run: the bulk request used up its time budget ({self.budget:g} s); "
            "this operation changed nothing and may be sent again"))
        self.errors -= 1  # not a failure of the operation: failOnErrors does not count it
        return result

    def _failure(self, operation: Any, error: errors.ScimError) -> dict[str, Any]:
        self.errors += 1
        result: dict[str, Any] = {}
        if isinstance(operation, dict):
            if isinstance(operation.get("method"), str):
                result["method"] = operation["method"].upper()
            if isinstance(operation.get("bulkId"), str):
                result["bulkId"] = operation["bulkId"]
                self.failed_bulk_ids.add(operation["bulkId"])
        status, body, _ = error.render()
        result["status"] = str(status)
        result["response"] = body
        return result

    def _run_one(self, operation: Any) -> dict[str, Any]:
        if not isinstance(operation, dict):
            return self._failure(operation, errors.InvalidSyntax("An operation is an object"))
        method = operation.get("method")
        path = operation.get("path")
        bulk_id = operation.get("bulkId")
        if not isinstance(method, str) or method.upper() not in {"POST", "PUT", "PATCH", "DELETE"}:
            return self._failure(operation, errors.InvalidValue("Unknown or missing method"))
        method = method.upper()
        if not isinstance(path, str) or not path.startswith("/"):
            return self._failure(operation, errors.InvalidValue("Missing or invalid path"))
        if method == "POST" and not isinstance(bulk_id, str):
            return self._failure(operation, errors.InvalidValue("POST requires a bulkId"))
        if method in {"POST", "PUT", "PATCH"} and "data" not in operation:
            return self._failure(operation, errors.InvalidValue(f"{method} requires data"))
        path = self._resolve_path(path)
        segments = [s for s in path.split("/") if s]
        kind = Kind.of_endpoint(segments[0]) if segments else None
        if kind is None or len(segments) != (1 if method == "POST" else 2):
            return self._failure(operation, errors.InvalidValue(f"Invalid path {path!r}"))
        headers = {}
        if isinstance(operation.get("version"), str):
            headers["If-Match"] = operation["version"]
        body = b""
        if "data" in operation:
            body = json.dumps(self._resolve(operation["data"])).encode()
        inner = ScimRequest(
            method=method,
            path=path,
            base_url=self.request.base_url,
            subject=self.request.subject,
            headers=headers,
            body=body,
            request_id=self.request.request_id,
        )
        try:
            response = self.handlers.dispatch(inner)
        except (errors.ScimError, SCIMException, ValidationError) as exc:
            error = translate(exc)
            assert error is not None
            return self._failure(operation, error)
        except Exception:
            logger.exception(
                "bulk operation failed unexpectedly (request id %s)", self.request.request_id
            )
            return self._failure(operation, errors.InternalError(self.request.request_id))
        result: dict[str, Any] = {"method": method}
        if isinstance(bulk_id, str):
            result["bulkId"] = bulk_id
        resource_body = response.body or {}
        location = response.headers.get("Location") or (resource_body.get("meta") or {}).get(
            "location"
        )
        if method == "DELETE":
            location = f"{self.request.base_url.rstrip('/')}{path}"
        if location:
            result["location"] = location
        if response.headers.get("ETag"):
            result["version"] = response.headers["ETag"]
        result["status"] = str(response.status)
        if method == "POST" and isinstance(bulk_id, str) and resource_body.get("id"):
            self.ids[bulk_id] = resource_body["id"]
        return result
