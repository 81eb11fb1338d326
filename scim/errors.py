"""The SCIM errors (RFC 7644 §3.12): scim2-models' exception family, in this server's words.

Every class here is a thin subclass of the scim2-models exception of the same status and
``scimType`` (``InvalidFilter`` is an ``InvalidFilterException``...); the wire identity
comes from there, and the body from its :meth:`~scim2_models.SCIMException.to_error`.
What a subclass adds is only what the library has no place for: a positional detail,
the server's own default wording, the headers a response carries (``WWW-Authenticate``,
``Retry-After``) and the statuses RFC 7644 §3.12 leaves out (405, 415, 429, 500, 503).
Each renders once, through :meth:`ScimError.render`, to a neutral ``(status, body,
headers)`` triple that the Flask adapter wraps. Nothing here imports Flask.

Backends raise these classes. An exception scim2-models raises itself (``SCIMException``)
and a pydantic ``ValidationError`` are translated by :func:`from_exception` at the
protocol boundary, so a backend reusing scim2-models helpers need not catch them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

import scim2_models
from pydantic import ValidationError
from scim2_models import ComplexAttribute, Error, Extension, SCIMException

try:  # the attribute path of a pydantic error location, as scim2-models writes it
    from scim2_models.messages.error import _attribute_path
except ImportError:  # pragma: no cover - a future scim2-models; details then name no path
    def _attribute_path(loc: Any) -> str:
        return ""

ERROR_SCHEMA = str(Error.__schema__)


class ScimError(SCIMException):
    """Base of every error the SCIM layer turns into a SCIM Error response."""

    _default_detail = "The request could not be processed"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # scim2-models writes "no scimType" as ""; this family has always said None
        # (``error.scim_type is None``), and the body leaves the member out either way.
        if not cls.scim_type:
            cls.scim_type = None  # type: ignore[assignment]

    def __init__(self, detail: str | None = None, **context: Any) -> None:
        super().__init__(detail=detail, **context)

    def headers(self) -> dict[str, str]:
        """Extra HTTP headers the response carries."""
        return {}

    def body(self) -> dict[str, Any]:
        """The SCIM Error body (RFC 7644 §3.12): status is a JSON string."""
        return self.to_error().model_dump()

    def render(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Render once to ``(status, body, headers)``."""
        return self.status, self.body(), self.headers()


# -- scim2-models' family: the status and scimType are the library's ------------------


class InvalidFilter(ScimError, scim2_models.InvalidFilterException):
    _default_detail = "The filter syntax is invalid or the comparison is not supported"


class TooMany(ScimError, scim2_models.TooManyException):
    """A filter yields more results than the server will compute (400, RFC 7644 §3.12)."""

    _default_detail = "The request yields more results than the server will process"


class Uniqueness(ScimError, scim2_models.UniquenessException):
    _default_detail = "One or more attribute values are already in use"


class Mutability(ScimError, scim2_models.MutabilityException):
    _default_detail = "The modification is incompatible with the attribute's mutability"


class InvalidSyntax(ScimError, scim2_models.InvalidSyntaxException):
    _default_detail = "The request body is not valid SCIM"


class InvalidPath(ScimError, scim2_models.InvalidPathException):
    _default_detail = "The path attribute is invalid or malformed"


class NoTarget(ScimError, scim2_models.NoTargetException):
    _default_detail = "The path did not yield an attribute or value to operate on"


class InvalidValue(ScimError, scim2_models.InvalidValueException):
    _default_detail = "A required value is missing or a value is not compatible"


class InvalidVersion(ScimError, scim2_models.InvalidVersionException):
    _default_detail = "The SCIM protocol version is not supported"


class Sensitive(ScimError, scim2_models.SensitiveException):
    _default_detail = "Sensitive information must not be passed in the request URI"


class BadRequest(ScimError):
    """400 without a scimType (the library's bare :class:`SCIMException`)."""


class Unauthorized(ScimError, scim2_models.UnauthorizedException):
    _default_detail = "Authorization failure: the bearer token is missing or invalid"

    def headers(self) -> dict[str, str]:
        # RFC 7644 §2 / RFC 6750 §3: a 401 names the scheme the client must use.
        return {"WWW-Authenticate": 'Bearer realm="SCIM"'}


class Forbidden(ScimError, scim2_models.ForbiddenException):
    _default_detail = "The operation is not permitted for this client"


class NotFound(ScimError, scim2_models.NotFoundException):
    _default_detail = "Resource not found"


class Conflict(ScimError, scim2_models.ConflictException):
    _default_detail = "The request conflicts with the current state of the resource"


class PreconditionFailed(ScimError, scim2_models.PreconditionFailedException):
    _default_detail = "Failed to update: the resource has changed on the server"


class PayloadTooLarge(ScimError, scim2_models.PayloadTooLargeException):
    """413 without scimType: the bulk payload exceeds maxPayloadSize (RFC 7644 §3.7.4)."""

    _default_detail = "The request exceeds the maximum payload size"


class TooManyOperations(PayloadTooLarge):
    """413 with scimType tooMany: the bulk request exceeds maxOperations."""

    scim_type = "tooMany"
    _default_detail = "The bulk request exceeds the maximum number of operations"


class NotImplementedOperation(ScimError, scim2_models.NotImplementedException):
    _default_detail = "The service provider does not support this operation"


# -- statuses the library has no class for --------------------------------------------


class MethodNotAllowed(ScimError):
    status = 405
    _default_detail = "Method not allowed on this endpoint"


class UnsupportedMediaType(ScimError):
    status = 415
    _default_detail = "The request body must be application/scim+json"


class NotRun(ScimError):
    """429: a Bulk operation not started because the request used up its time budget;
    it did nothing and may be sent again."""

    status = 429
    _default_detail = "The operation was not run: the bulk request used up its time budget"


class BackendUnavailable(ScimError):
    """The storage behind the SCIM layer cannot be reached; the client should retry."""

    status = 503
    _default_detail = "The service is temporarily unavailable, retry later"

    def __init__(self, detail: str | None = None, *, retry_after: int = 30) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InternalError(ScimError):
    """Never carries the exception text: only a request id to find the log line."""

    status = 500

    def __init__(self, request_id: str) -> None:
        super().__init__(f"Internal server error (request id {request_id})")
        self.request_id = request_id


_OURS: dict[type[SCIMException], type[ScimError]] = {
    library: ours
    for ours in (InvalidFilter, TooMany, Uniqueness, Mutability, InvalidSyntax, InvalidPath,
                 NoTarget, InvalidValue, InvalidVersion, Sensitive, Unauthorized, Forbidden,
                 NotFound, Conflict, PreconditionFailed, PayloadTooLarge,
                 NotImplementedOperation)
    for library in ours.__bases__
    if library is not ScimError
}
"""Our class for each scim2-models class: what :meth:`SCIMException.from_error` picks for
an Error (by scimType, else by status) is answered with ours; anything else is a 400."""


_PYDANTIC_NOISE = re.compile(r"\s*\[type=[^\]]*\]|\n\s*For further information visit \S+")
# Internal names a library message may carry: a parametrised class (``User[EnterpriseUser,
# SomeExtension]``), the model classes of scim2-models, and the complex attributes and
# extensions defined outside it (by this package, or registered by the application).
_GENERIC_CLASS = re.compile(r"\b[A-Z]\w*\[[\w ,|\[\]]*\]")
_LIBRARY_PREFIX = re.compile(r"^(?:Value error|Assertion failed), ", re.IGNORECASE)
_LIBRARY_NAMES = frozenset(
    {name for name, obj in vars(scim2_models).items()
     if isinstance(obj, type) and re.fullmatch(r"[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+", name)}
    | {"Path", "Name", "Email", "Manager", "Meta", "Reference", "Resource", "Extension",
       "Attribute", "Message"})


def _defined_outside_the_library(base: type) -> set[str]:
    names: set[str] = set()
    pending = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if not cls.__module__.startswith("scim2_models") and "[" not in cls.__name__:
            names.add(cls.__name__)
    return names


@functools.lru_cache(maxsize=8)
def _names_pattern(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")


def _model_names() -> re.Pattern[str]:
    """The class names a detail must not show; read when an error is cleaned, so that the
    models an application registers after this module is imported count too."""
    return _names_pattern(_LIBRARY_NAMES | _defined_outside_the_library(ComplexAttribute)
                          | _defined_outside_the_library(Extension))


# scim2-models' "Expected str or Path, got int" (an attribute path of the wrong type), and
# Python's type names in any library message, in JSON's words.
_EXPECTED_PATH = re.compile(r"Expected str or \w+(?: \w+)?, got \w+")
_JSON_TYPES = {"NoneType": "null", "int": "integer", "str": "string", "list": "array",
               "dict": "object", "float": "number", "bool": "boolean", "tuple": "array"}
_PYTHON_TYPES = re.compile(r"\b(?:NoneType|int|str|list|dict|float|bool|tuple)\b")
# A pydantic ValidationError rendered as text inside a library's own exception.
_RENDERED = re.compile(r"^\d+ validation errors? for [^\n]*\n(?P<loc>[^\n]*)\n\s*(?P<msg>[^\n]*)")
_PYDANTIC_MESSAGES = (
    (re.compile(r"valid dictionary|valid object|instance of"), "must be an object"),
    (re.compile(r"valid string"), "must be a string"),
    (re.compile(r"valid (?:list|array|tuple|set)"), "must be an array"),
    (re.compile(r"valid boolean"), "must be a boolean (true or false)"),
    (re.compile(r"valid integer"), "must be an integer"),
    (re.compile(r"valid number"), "must be a number"),
    (re.compile(r"^Field required"), "is required"),
    (re.compile(r"^Extra inputs"), "is not an attribute of this resource"),
    (re.compile(r"^Input should"), "is not a valid value"),
)


def _phrase(message: str) -> str | None:
    for pattern, phrase in _PYDANTIC_MESSAGES:
        if pattern.search(message):
            return phrase
    return None


def _clean(detail: str | None) -> str | None:
    """Strip pydantic's ``[type=…, input_value=…]`` trailers (they echo the input, a
    password say) and internal class names: a detail is in the server's own words."""
    if detail is None:
        return None
    detail = _PYDANTIC_NOISE.sub("", detail).strip()
    rendered = _RENDERED.match(detail)
    if rendered:
        loc = ".".join(p for p in rendered["loc"].split(".") if "[" not in p and "(" not in p)
        what = _phrase(rendered["msg"]) or "is not a valid value"
        detail = f"{loc}: {what}" if loc else what
    elif _phrase(detail) and detail.startswith("Input should"):
        detail = _phrase(detail) or detail
    detail = _LIBRARY_PREFIX.sub("", detail)
    detail = _EXPECTED_PATH.sub("must be a string naming an attribute", detail)
    detail = _PYTHON_TYPES.sub(lambda m: _JSON_TYPES[m.group()], detail)
    detail = _GENERIC_CLASS.sub("the resource", detail)
    detail = _model_names().sub("the value", detail)
    return detail.strip() or None


# What a value must be, by pydantic error type: the detail names the attribute and this.
_MUST_BE = {
    "string_type": "must be a string",
    "string_unicode": "must be a string",
    "bool_type": "must be a boolean (true or false)",
    "bool_parsing": "must be a boolean (true or false)",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "list_type": "must be an array",
    "tuple_type": "must be an array",
    "set_type": "must be an array",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dataclass_type": "must be an object",
    "missing": "is required",
    "extra_forbidden": "is not an attribute of this resource",
    "enum": "is not one of the allowed values",
    "literal_error": "is not one of the allowed values",
    "url_parsing": "must be a URI",
    "url_type": "must be a URI",
    "url_scheme": "must be a URI",
    "datetime_parsing": "must be a date and time (RFC 3339)",
    "datetime_type": "must be a date and time (RFC 3339)",
    "datetime_from_date_parsing": "must be a date and time (RFC 3339)",
    "bytes_type": "must be base64 binary",
    "base64_decode": "must be base64 binary",
    "base64_type": "must be base64 binary",
    "string_too_short": "is too short",
    "string_pattern_mismatch": "must not be blank",
    "string_too_long": "is too long",
    "too_short": "has too few values",
    "too_long": "has too many values",
    "union_tag_invalid": "is not a valid value",
    "union_tag_not_found": "is not a valid value",
    "is_instance_of": "is not a valid value",
    "uuid_parsing": "must be a UUID",
}


def what_is_wrong(error: Mapping[str, Any]) -> str:
    """What one pydantic error says of its value, in the server's words (no library text):
    ``must be a string``, ``must be 'en' or 'fr'``, ``is required``... Also used by
    ``/api/v1``."""
    kind = str(error.get("type") or "")
    expected = (error.get("ctx") or {}).get("expected")
    if kind in ("enum", "literal_error") and isinstance(expected, str):
        return f"must be {expected}"
    bounds = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most"),
              "greater_than": ("gt", "more than"), "less_than": ("lt", "less than")}
    if kind in bounds:
        key, words = bounds[kind]
        return f"must be {words} {(error.get('ctx') or {}).get(key)}"
    return _MUST_BE.get(kind) or _clean(str(error.get("msg") or "")) or "is not a valid value"


def _validation_detail(error: Mapping[str, Any]) -> str:
    """One pydantic error in the server's words: the attribute path and what is wrong."""
    try:
        path = _attribute_path(error.get("loc") or ())
    except Exception:  # a shape of loc this version does not know: name no attribute
        path = ""
    kind = str(error.get("type") or "")
    what = what_is_wrong(error)
    if not path:
        return "The request body must be a JSON object" if kind in (
            "model_type", "model_attributes_type", "dict_type") else what
    return f"{path}: {what}"


def from_validation_error(exc: ValidationError) -> ScimError:
    """A pydantic ``ValidationError`` (the first of its errors) in our family."""
    details = exc.errors(include_url=False, include_input=False)
    if not details:
        return InvalidValue()
    first = details[0]
    mapped = Error.from_validation_error(first)
    kind = _ours(mapped)
    if str(first.get("type") or "").startswith("scim_"):
        return kind(_clean(mapped.detail))
    return kind(_validation_detail(first))


def _ours(error: Error) -> type[ScimError]:
    if int(error.status or 400) == 413 and error.scim_type == "tooMany":
        return TooManyOperations
    return _OURS.get(type(SCIMException.from_error(error)), BadRequest)


def from_error(error: Error) -> ScimError:
    """Translate a scim2-models :class:`Error` into our family."""
    return _ours(error)(_clean(error.detail))


def from_exception(exc: BaseException) -> ScimError | None:
    """Translate scim2-models and pydantic exceptions; ``None`` for anything else."""
    if isinstance(exc, ScimError):
        return exc
    if isinstance(exc, SCIMException):
        return from_error(exc.to_error())
    if isinstance(exc, ValidationError):
        return from_validation_error(exc)
    return None
