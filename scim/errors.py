"""The SCIM error family (RFC 7644 §3.12).

Every error carries its wire identity (``status``, ``scim_type``) as class
attributes and renders once, through :meth:`ScimError.render`, to a neutral
``(status, body, headers)`` triple that the Flask adapter wraps. Nothing here
imports Flask.

Backends raise these classes. Exceptions of scim2-models (``SCIMException``) and
pydantic ``ValidationError`` are translated by :func:`from_exception` at the
protocol boundary, so a backend reusing scim2-models helpers need not catch them.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import ValidationError
from scim2_models import Error, SCIMException

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """Base of every error the SCIM layer turns into a SCIM Error response."""

    status: ClassVar[int] = 400
    scim_type: ClassVar[str | None] = None
    default_detail: ClassVar[str] = "The request could not be processed"

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        """Extra HTTP headers the response carries."""
        return {}

    def body(self) -> dict[str, Any]:
        """The SCIM Error body (RFC 7644 §3.12): status is a JSON string."""
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        body["detail"] = self.detail
        return body

    def render(self) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Render once to ``(status, body, headers)``."""
        return self.status, self.body(), self.headers()


# -- 400 with a scimType (RFC 7644 §3.12, table 9) -----------------------------


class InvalidFilter(ScimError):
    status, scim_type = 400, "invalidFilter"
    default_detail = "The filter syntax is invalid or the comparison is not supported"


class TooMany(ScimError):
    """A filter yields more results than the server will compute (400, RFC 7644 §3.12)."""

    status, scim_type = 400, "tooMany"
    default_detail = "The request yields more results than the server will process"


class Uniqueness(ScimError):
    status, scim_type = 409, "uniqueness"
    default_detail = "One or more attribute values are already in use"


class Mutability(ScimError):
    status, scim_type = 400, "mutability"
    default_detail = "The modification is incompatible with the attribute's mutability"


class InvalidSyntax(ScimError):
    status, scim_type = 400, "invalidSyntax"
    default_detail = "The request body is not valid SCIM"


class InvalidPath(ScimError):
    status, scim_type = 400, "invalidPath"
    default_detail = "The path attribute is invalid or malformed"


class NoTarget(ScimError):
    status, scim_type = 400, "noTarget"
    default_detail = "The path did not yield an attribute or value to operate on"


class InvalidValue(ScimError):
    status, scim_type = 400, "invalidValue"
    default_detail = "A required value is missing or a value is not compatible"


class InvalidVersion(ScimError):
    status, scim_type = 400, "invalidVers"
    default_detail = "The SCIM protocol version is not supported"


class Sensitive(ScimError):
    status, scim_type = 400, "sensitive"
    default_detail = "Sensitive information must not be passed in the request URI"


# -- statuses without a scimType ------------------------------------------------


class BadRequest(ScimError):
    status = 400


class Unauthorized(ScimError):
    status = 401
    default_detail = "Authorization failure: the bearer token is missing or invalid"

    def headers(self) -> dict[str, str]:
        # RFC 7644 §2 / RFC 6750 §3: a 401 names the scheme the client must use.
        return {"WWW-Authenticate": 'Bearer realm="SCIM"'}


class Forbidden(ScimError):
    status = 403
    default_detail = "The operation is not permitted for this client"


class NotFound(ScimError):
    status = 404
    default_detail = "Resource not found"


class MethodNotAllowed(ScimError):
    status = 405
    default_detail = "Method not allowed on this endpoint"


class Conflict(ScimError):
    status = 409
    default_detail = "The request conflicts with the current state of the resource"


class PreconditionFailed(ScimError):
    status = 412
    default_detail = "Failed to update: the resource has changed on the server"


class PayloadTooLarge(ScimError):
    """413 without scimType: the bulk payload exceeds maxPayloadSize (RFC 7644 §3.7.4)."""

    status = 413
    default_detail = "The request exceeds the maximum payload size"


class TooManyOperations(PayloadTooLarge):
    """413 with scimType tooMany: the bulk request exceeds maxOperations."""

    scim_type = "tooMany"
    default_detail = "The bulk request exceeds the maximum number of operations"


class UnsupportedMediaType(ScimError):
    status = 415
    default_detail = "The request body must be application/scim+json"


class NotImplementedOperation(ScimError):
    status = 501
    default_detail = "The service provider does not support this operation"


class BackendUnavailable(ScimError):
    """The storage behind the SCIM layer cannot be reached; the client should retry."""

    status = 503
    default_detail = "The service is temporarily unavailable, retry later"

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


_BY_SCIM_TYPE: dict[str, type[ScimError]] = {
    cls.scim_type: cls
    for cls in (
        InvalidFilter,
        TooMany,
        Uniqueness,
        Mutability,
        InvalidSyntax,
        InvalidPath,
        NoTarget,
        InvalidValue,
        InvalidVersion,
        Sensitive,
    )
    if cls.scim_type
}
_BY_STATUS: dict[int, type[ScimError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    501: NotImplementedOperation,
}


_PYDANTIC_NOISE = re.compile(r"\s*\[type=[^\]]*\]|\n\s*For further information visit \S+")


def _clean(detail: str | None) -> str | None:
    """Strip pydantic's ``[type=…, input_value=…]`` trailers: they echo the input
    (a password, say) and name library internals."""
    if detail is None:
        return None
    return _PYDANTIC_NOISE.sub("", detail).strip() or None


def from_error(error: Error) -> ScimError:
    """Translate a scim2-models :class:`Error` into our family."""
    status = int(error.status or 400)
    detail = _clean(error.detail)
    if status == 413 and error.scim_type == "tooMany":
        return TooManyOperations(detail)
    cls = _BY_SCIM_TYPE.get(error.scim_type or "") or _BY_STATUS.get(status) or BadRequest
    return cls(detail)


def from_exception(exc: BaseException) -> ScimError | None:
    """Translate scim2-models and pydantic exceptions; ``None`` for anything else."""
    if isinstance(exc, ScimError):
        return exc
    if isinstance(exc, SCIMException):
        return from_error(exc.to_error())
    if isinstance(exc, ValidationError):
        errors = Error.from_validation_errors(exc)
        return from_error(errors[0]) if errors else InvalidValue()
    return None
