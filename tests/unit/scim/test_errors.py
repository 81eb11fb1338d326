"""Every failure is a SCIM Error with the right status and scimType (RFC 7644 §3.12)."""

import logging
from typing import Any

import pytest
from scim2_models import (
    ConflictException,
    Error,
    InvalidFilterException,
    NotFoundException,
    PathNotFoundException,
    PayloadTooLargeException,
    SCIMException,
    UnauthorizedException,
    UniquenessException,
)
from scim_helpers import (
    AUTH,
    BASE,
    ERROR,
    PATCH_OP,
    USER_SCHEMA,
    Scim,
    assert_error,
    make_app,
)

from scim import errors
from scim.memory import MemoryBackend

pytestmark = pytest.mark.unit


@pytest.fixture
def user(scim: Scim) -> dict[str, Any]:
    return scim.create_user("err", emails=[{"value": "e@example.com", "type": "work"}])


def test_missing_or_wrong_token_is_401_with_challenge(app: Any) -> None:
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
        response = client.get(f"{BASE}/Users", headers=headers)
        assert_error(response, 401)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_invalid_filter(scim: Scim) -> None:
    assert_error(scim.get("/Users?filter=userName eq"), 400, "invalidFilter")
    assert_error(scim.get('/Users?filter=nosuch eq "x"'), 400, "invalidFilter")
    assert_error(scim.get('/Users?filter=active gt "x"'), 400, "invalidFilter")


def test_invalid_path(scim: Scim, user: dict[str, Any]) -> None:
    path = f"/Users/{user['id']}"
    assert_error(
        scim.patch(path, [{"op": "replace", "path": "nosuch", "value": 1}]), 400, "invalidPath"
    )
    assert_error(
        scim.patch(path, [{"op": "replace", "path": "emails[type eq", "value": 1}]),
        400,
        "invalidPath",
    )
    assert_error(scim.get("/Users?sortBy=nosuch"), 400, "invalidPath")


def test_no_target(scim: Scim, user: dict[str, Any]) -> None:
    path = f"/Users/{user['id']}"
    assert_error(scim.patch(path, [{"op": "remove"}]), 400, "noTarget")
    assert_error(
        scim.patch(
            path, [{"op": "replace", "path": 'emails[value sw "zzz"].type', "value": "home"}]
        ),
        400,
        "noTarget",
    )


def test_mutability(scim: Scim, user: dict[str, Any]) -> None:
    path = f"/Users/{user['id']}"
    assert_error(
        scim.patch(path, [{"op": "replace", "path": "id", "value": "x"}]), 400, "mutability"
    )
    assert_error(scim.patch(path, [{"op": "replace", "value": {"id": "other"}}]), 400, "mutability")
    assert_error(
        scim.put(path, {"schemas": [USER_SCHEMA], "id": "other", "userName": "e"}),
        400,
        "mutability",
    )


def test_invalid_value(scim: Scim, user: dict[str, Any]) -> None:
    path = f"/Users/{user['id']}"
    assert_error(scim.post("/Users", {"schemas": [USER_SCHEMA]}), 400, "invalidValue")
    assert_error(
        scim.patch(path, [{"op": "replace", "path": "active", "value": "maybe"}]),
        400,
        "invalidValue",
    )
    assert_error(
        scim.patch(path, [{"op": "frobnicate", "path": "active", "value": True}]),
        400,
        "invalidValue",
    )
    assert_error(scim.get("/Users?count=many"), 400, "invalidValue")
    assert_error(
        scim.get("/Users?attributes=userName&excludedAttributes=emails"), 400, "invalidValue"
    )


def test_invalid_value_never_echoes_the_input(scim: Scim) -> None:
    body = assert_error(
        scim.post(
            "/Users",
            {
                "schemas": [USER_SCHEMA],
                "userName": "p",
                "emails": [{"value": "s3cr3t-not-an-email"}],
            },
        ),
        400,
        "invalidValue",
    )
    assert "s3cr3t" not in body["detail"]
    assert "pydantic" not in body["detail"]


def test_invalid_syntax(scim: Scim) -> None:
    response = scim.client.post(
        f"{BASE}/Users", headers=AUTH, data="{not json", content_type="application/scim+json"
    )
    assert_error(response, 400, "invalidSyntax")
    assert_error(scim.post("/Users", [1, 2]), 400, "invalidSyntax")
    assert_error(
        scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "x", "bogus": 1}),
        400,
        "invalidSyntax",
    )


def test_invalid_version(scim: Scim) -> None:
    assert_error(
        scim.post("/Users", {"schemas": ["urn:scim:schemas:core:1.0"], "userName": "x"}),
        400,
        "invalidVers",
    )


def test_uniqueness(scim: Scim, user: dict[str, Any]) -> None:
    assert_error(
        scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": "ERR"}), 409, "uniqueness"
    )


def test_not_found_and_method_not_allowed(scim: Scim) -> None:
    assert_error(scim.get("/Pets"), 404)
    assert_error(scim.get("/Users/a/b"), 404)
    assert_error(scim.patch("/Users/ghost", [{"op": "replace", "path": "title", "value": 1}]), 404)
    assert_error(scim.delete("/Users"), 405)
    assert_error(scim.put("/ServiceProviderConfig", {}), 405)


def test_unsupported_media_type(scim: Scim) -> None:
    response = scim.client.post(
        f"{BASE}/Users", headers=AUTH, data="<user/>", content_type="application/xml"
    )
    assert_error(response, 415)


def test_stale_etag_is_412(scim: Scim, user: dict[str, Any]) -> None:
    path = f"/Users/{user['id']}"
    version = user["meta"]["version"]
    ok = scim.patch(
        path, [{"op": "replace", "path": "title", "value": "A"}], **{"If-Match": version}
    )
    assert ok.status_code == 200
    new_version = ok.get_json()["meta"]["version"]
    assert new_version != version
    # the old version is now stale for PATCH, PUT and DELETE
    assert_error(
        scim.patch(
            path, [{"op": "replace", "path": "title", "value": "B"}], **{"If-Match": version}
        ),
        412,
    )
    assert_error(
        scim.put(path, {"schemas": [USER_SCHEMA], "userName": "err"}, **{"If-Match": version}), 412
    )
    assert_error(scim.delete(path, **{"If-Match": version}), 412)
    assert scim.get(path).get_json()["title"] == "A"
    # the current version (weak or strong form) and "*" are accepted
    strong = new_version.removeprefix("W/")
    assert (
        scim.put(
            path, {"schemas": [USER_SCHEMA], "userName": "err"}, **{"If-Match": strong}
        ).status_code
        == 200
    )
    assert scim.delete(path, **{"If-Match": "*"}).status_code == 204


def test_backend_unavailable_is_503_with_retry_after(scim: Scim, backend: MemoryBackend) -> None:
    backend.unavailable = True
    response = scim.get("/Users")
    assert_error(response, 503)
    assert response.headers["Retry-After"] == "5"


class ExplodingBackend(MemoryBackend):
    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("password=hunter2 at /srv/secret.py line 3")


def test_unexpected_error_is_generic_500_with_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = make_app(ExplodingBackend()).test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get(f"{BASE}/Users/x", headers=AUTH)
    body = assert_error(response, 500)
    request_id = response.headers["X-Request-Id"]
    assert body["detail"] == f"Internal server error (request id {request_id})"
    assert "hunter2" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert any(request_id in record.getMessage() for record in caplog.records)


def test_error_schema_on_every_error(scim: Scim) -> None:
    body = scim.get("/Users/ghost").get_json()
    assert body == {"schemas": [ERROR], "status": "404", "detail": "User 'ghost' not found"}


def test_patch_body_needs_operations(scim: Scim, user: dict[str, Any]) -> None:
    response = scim._call("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP]})
    assert_error(response, 400, "invalidValue")


# -- the family is scim2-models' own (issue 11) -------------------------------------------

# Each class, what it answers with no detail of its own: (status, scimType, detail). These
# are the answers the server gave before its errors became scim2-models' exceptions.
WIRE = {
    errors.InvalidFilter: (400, "invalidFilter",
                           "The filter syntax is invalid or the comparison is not supported"),
    errors.TooMany: (400, "tooMany", "The request yields more results than the server will "
                                     "process"),
    errors.Uniqueness: (409, "uniqueness", "One or more attribute values are already in use"),
    errors.Mutability: (400, "mutability",
                        "The modification is incompatible with the attribute's mutability"),
    errors.InvalidSyntax: (400, "invalidSyntax", "The request body is not valid SCIM"),
    errors.InvalidPath: (400, "invalidPath", "The path attribute is invalid or malformed"),
    errors.NoTarget: (400, "noTarget",
                      "The path did not yield an attribute or value to operate on"),
    errors.InvalidValue: (400, "invalidValue",
                          "A required value is missing or a value is not compatible"),
    errors.InvalidVersion: (400, "invalidVers", "The SCIM protocol version is not supported"),
    errors.Sensitive: (400, "sensitive",
                       "Sensitive information must not be passed in the request URI"),
    errors.BadRequest: (400, None, "The request could not be processed"),
    errors.Unauthorized: (401, None,
                          "Authorization failure: the bearer token is missing or invalid"),
    errors.Forbidden: (403, None, "The operation is not permitted for this client"),
    errors.NotFound: (404, None, "Resource not found"),
    errors.MethodNotAllowed: (405, None, "Method not allowed on this endpoint"),
    errors.Conflict: (409, None, "The request conflicts with the current state of the resource"),
    errors.PreconditionFailed: (412, None,
                                "Failed to update: the resource has changed on the server"),
    errors.PayloadTooLarge: (413, None, "The request exceeds the maximum payload size"),
    errors.TooManyOperations: (413, "tooMany",
                               "The bulk request exceeds the maximum number of operations"),
    errors.UnsupportedMediaType: (415, None, "The request body must be application/scim+json"),
    errors.NotRun: (429, None,
                    "The operation was not run: the bulk request used up its time budget"),
    errors.NotImplementedOperation: (501, None,
                                     "The service provider does not support this operation"),
    errors.BackendUnavailable: (503, None, "The service is temporarily unavailable, retry later"),
}


def _family(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_family(sub)}
    return found


def test_every_scim_error_is_a_scim2_models_exception_that_answers_as_before() -> None:
    served = {cls for cls in _family(errors.ScimError) if cls.__module__ == errors.__name__}
    assert served == set(WIRE) | {errors.InternalError}
    for cls, (status, scim_type, detail) in WIRE.items():
        error = cls()
        assert isinstance(error, SCIMException)
        assert (error.status, error.scim_type, error.detail) == (status, scim_type, detail)
        body = {"schemas": [ERROR], "status": str(status), "detail": detail}
        if scim_type:
            body["scimType"] = scim_type
        assert error.render()[:2] == (status, body)
        assert error.body() == error.to_error().model_dump()
        assert cls("said otherwise").render()[1]["detail"] == "said otherwise"


def test_status_and_scim_type_are_the_library_s() -> None:
    """Where scim2-models has the class, ours is a thin subclass of it: the library's
    ``from_error`` and ours pick the same class, the wire identity is the library's."""
    pairs = {errors.InvalidFilter: InvalidFilterException, errors.NotFound: NotFoundException,
             errors.Uniqueness: UniquenessException, errors.Unauthorized: UnauthorizedException,
             errors.PayloadTooLarge: PayloadTooLargeException}
    for ours, library in pairs.items():
        assert issubclass(ours, library)
        assert (ours.status, ours.scim_type or "") == (library.status, library.scim_type)
        error = library(detail="from the library").to_error()
        translated = errors.from_error(error)
        assert type(translated) is ours and translated.detail == "from the library"
    assert isinstance(errors.Uniqueness(), ConflictException)


def test_an_exception_scim2_models_raises_is_answered_in_our_family() -> None:
    raised = PathNotFoundException(field="nosuch")
    translated = errors.from_exception(raised)
    assert type(translated) is errors.InvalidPath
    assert translated.render()[:2] == (400, {"schemas": [ERROR], "status": "400",
                                             "scimType": "invalidPath",
                                             "detail": "Field not found: nosuch"})
    unknown = errors.from_error(Error(status=400, scim_type="invalidCursor", detail="c"))
    assert (type(unknown), unknown.status, unknown.scim_type) == (errors.BadRequest, 400, None)
    bulk = errors.from_error(Error(status=413, scim_type="tooMany", detail="n"))
    assert type(bulk) is errors.TooManyOperations
