"""Bad input and unbounded work at the protocol layer (issue 9, findings 5 to 9).

Every limit is enforced with the right SCIM error and advertised in
``/ServiceProviderConfig``; no bad input is ever a 500; error details are in the
server's own words (no library texts, no internal class names).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from scim_helpers import (
    AUTH,
    BASE,
    ENTERPRISE,
    ERROR,
    PATCH_OP,
    USER_SCHEMA,
    Scim,
    make_app,
)

from scim import handlers as scim_handlers
from scim.memory import MemoryBackend
from scim.settings import ScimSettings

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
LIMITS = "urn:bridge:scim:schemas:extension:limits:2.0:ServiceProviderConfig"
# What an error detail must never show: library texts and internal (generic) class names.
INTERNALS = re.compile(
    r"\b[A-Z]\w*\[[A-Za-z][\w ,|]*\]|instance of|Value error|Input should|validation error|"
    r"pydantic|Traceback|"
    r"\b(?:EnterpriseUser|AccessExtension|GroupMember|ComplexAttribute|PatchOp|Path|Name|"
    r"Email|Meta|Manager)\b")


def _error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR]
    assert body.get("scimType") == scim_type, body
    assert not INTERNALS.search(body["detail"]), body["detail"]
    return body


def _raw(scim: Scim, method: str, path: str, data: bytes | str) -> Any:
    return scim.client.open(BASE + path, method=method, headers=AUTH, data=data,
                            content_type="application/scim+json")


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- finding 5: deep JSON and non-string PATCH paths are 400, never 500 ----------------

@pytest.mark.parametrize("depth", [33, 490, 1000, 5000])
@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/Users"), ("PUT", "/Users/x"), ("PATCH", "/Users/x"), ("POST", "/Users/.search"),
    ("POST", "/.search"), ("POST", "/Bulk"), ("POST", "/Groups")])
def test_deeply_nested_json_is_invalid_syntax(scim: Scim, method: str, path: str,
                                              depth: int) -> None:
    body = f'{{"schemas": ["{USER_SCHEMA}"], "userName": "deep", "name": {_nested(depth)}}}'
    detail = _error(_raw(scim, method, path, body), 400, "invalidSyntax")["detail"]
    assert "32" in detail  # the advertised limit is named


def test_json_as_deep_as_the_limit_is_served(scim: Scim) -> None:
    user = scim.create_user("shallow")
    # PatchOp (1) > Operations (2) > operation (3) > value (4) > emails (5) > e-mail (6)
    response = scim.patch(f"/Users/{user['id']}", [
        {"op": "add", "value": {"emails": [{"value": "a@b.com"}]}}])
    assert response.status_code == 200, response.get_json()
    settings = ScimSettings(max_json_depth=6)
    strict = Scim(make_app(MemoryBackend(), settings).test_client())
    created = strict.create_user("shallow")
    assert strict.patch(f"/Users/{created['id']}", [
        {"op": "add", "value": {"emails": [{"value": "a@b.com"}]}}]).status_code == 200
    _error(strict.patch(f"/Users/{created['id']}", [
        {"op": "add", "value": {"emails": [{"value": ["a@b.com"]}]}}]), 400, "invalidSyntax")


@pytest.mark.parametrize("bad_path", [3, ["x"], {"a": 1}, True, 1.5])
@pytest.mark.parametrize("value", ["x", {"active": False}, [{"value": "a@b.com"}]])
def test_patch_path_that_is_not_a_string_is_invalid_path(scim: Scim, bad_path: Any,
                                                         value: Any) -> None:
    user = scim.create_user("pathless")
    group = scim.create_group("g1")
    for resource in (f"/Users/{user['id']}", f"/Groups/{group['id']}"):
        _error(scim.patch(resource, [{"op": "replace", "path": bad_path, "value": value}]),
               400, "invalidPath")
        _error(scim.patch(resource, [{"op": "remove", "path": bad_path}]), 400, "invalidPath")


@pytest.mark.parametrize("bad_op", [3, None, ["add"], {"op": "add"}])
def test_patch_op_that_is_not_a_string_is_invalid_value(scim: Scim, bad_op: Any) -> None:
    user = scim.create_user("opless")
    _error(scim.patch(f"/Users/{user['id']}", [{"op": bad_op, "path": "title", "value": "x"}]),
           400, "invalidValue")


# -- finding 6/7: an oversized body is 413 on every route -------------------------------

@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/Users"), ("PUT", "/Users/x"), ("PATCH", "/Users/x"), ("POST", "/Groups"),
    ("PUT", "/Groups/x"), ("PATCH", "/Groups/x"), ("POST", "/Users/.search"), ("POST", "/.search"),
    ("POST", "/Bulk")])
def test_body_over_the_limit_is_413(method: str, path: str) -> None:
    settings = ScimSettings(max_payload_size=4096, bulk_max_payload_size=4096)
    scim = Scim(make_app(MemoryBackend(), settings).test_client())
    body = json.dumps({"schemas": [USER_SCHEMA], "userName": "big", "title": "x" * 5000})
    response = _error(_raw(scim, method, path, body), 413)
    assert "4096" in response["detail"]


def test_fifty_megabytes_are_refused_without_being_parsed(scim: Scim) -> None:
    body = b'{"schemas": ["%s"], "userName": "huge", "title": "' % USER_SCHEMA.encode()
    body += b"x" * (50 * 1024 * 1024) + b'"}'
    _error(_raw(scim, "POST", "/Users", body), 413)


# -- finding 6: an unpaired surrogate is a value no one can store -------------------------

@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "x\\udc00y", "\\ud800\\ud800"])
def test_unpaired_surrogate_is_refused(scim: Scim, escape: str) -> None:
    scim.create_user("surrogate-target")
    search = f'{{"filter": "userName eq \\"{escape}\\""}}'
    _error(_raw(scim, "POST", "/Users/.search", search), 400, "invalidValue")
    user = f'{{"schemas": ["{USER_SCHEMA}"], "userName": "s{escape}"}}'
    _error(_raw(scim, "POST", "/Users", user), 400, "invalidValue")
    # A well-formed pair is an ordinary character.
    pair = f'{{"schemas": ["{USER_SCHEMA}"], "userName": "pair\\ud83d\\ude00"}}'
    assert _raw(scim, "POST", "/Users", pair).status_code == 201


# -- finding 7: the Bulk time budget ------------------------------------------------------

def test_bulk_stops_at_its_time_budget_and_reports_what_did_not_run(
        backend: MemoryBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    scim = Scim(make_app(backend, ScimSettings(bulk_time_budget=25)).test_client())
    ticks = iter(range(0, 10_000, 10))  # every reading of the clock is 10 s later
    monkeypatch.setattr(scim_handlers, "_clock", lambda: float(next(ticks)))
    operations = [{"method": "POST", "path": "/Users", "bulkId": f"u{i}",
                   "data": {"schemas": [USER_SCHEMA], "userName": f"bulk-{i}"}}
                  for i in range(5)]
    response = scim.post("/Bulk", {"schemas": [BULK], "Operations": operations})
    assert response.status_code == 200
    results = response.get_json()["Operations"]
    assert [r["bulkId"] for r in results] == [f"u{i}" for i in range(5)]
    ran = [r for r in results if r["status"] == "201"]
    skipped = [r for r in results if r["status"] != "201"]
    assert ran and skipped
    for result in skipped:
        assert result["status"] == "429"
        assert "25" in result["response"]["detail"]
    listed = scim.get("/Users").get_json()
    assert listed["totalResults"] == len(ran), listed


# -- every limit is advertised -----------------------------------------------------------

def test_service_provider_config_advertises_every_limit() -> None:
    settings = ScimSettings(max_payload_size=123_456, max_json_depth=17, bulk_time_budget=9,
                            max_scan=4321)
    scim = Scim(make_app(MemoryBackend(), settings).test_client())
    config = scim.get("/ServiceProviderConfig").get_json()
    assert config["bulk"]["maxPayloadSize"] == settings.bulk_max_payload_size
    assert config["bulk"]["maxOperations"] == settings.bulk_max_operations
    assert config["filter"]["maxResults"] == settings.max_count
    # Limits without an RFC 7643 attribute: their own document (an extra attribute in the
    # configuration itself would make strict clients refuse it).
    limits = scim.get("/ServiceProviderConfig/limits").get_json()
    assert limits["schemas"] == [LIMITS]
    assert {k: v for k, v in limits.items() if k not in ("schemas", "meta")} == {
        "maxPayloadSize": 123_456, "maxJsonDepth": 17, "bulkTimeBudgetSeconds": 9,
        "maxScan": 4321, "maxResults": settings.max_count,
        "bulkMaxOperations": settings.bulk_max_operations,
        "bulkMaxPayloadSize": settings.bulk_max_payload_size}
    assert limits["meta"]["location"].endswith("/scim/v2/ServiceProviderConfig/limits")


# -- finding 8: details in the server's own words ------------------------------------------

@pytest.mark.parametrize("body", [
    {"schemas": [USER_SCHEMA], "userName": "x", "name": "a string"},
    {"schemas": [USER_SCHEMA], "userName": "x", "emails": "a string"},
    {"schemas": [USER_SCHEMA], "userName": "x", "emails": ["a string"]},
    {"schemas": [USER_SCHEMA], "userName": 3},
    {"schemas": [USER_SCHEMA], "userName": "x", "active": "maybe"},
    {"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "x", ENTERPRISE: "a string"},
    {"schemas": [USER_SCHEMA, ENTERPRISE], "userName": "x", ENTERPRISE: {"manager": 3}},
    {"schemas": [USER_SCHEMA], "userName": "x", "meta": "a string"},
    {"schemas": [USER_SCHEMA], "userName": "x", "x509Certificates": [{"value": 3}]},
    {"schemas": "a string", "userName": "x"},
])
def test_validation_errors_speak_scim_not_python(scim: Scim, body: dict[str, Any]) -> None:
    response = scim.post("/Users", body)
    assert 400 <= response.status_code < 500
    _error(response, response.status_code, response.get_json().get("scimType"))


def test_patch_errors_speak_scim_not_python(scim: Scim) -> None:
    user = scim.create_user("wording")
    for operations in ([{"op": "add", "path": "name", "value": "a string"}],
                       [{"op": "add", "value": "a string"}],
                       [{"op": "replace", "path": "emails", "value": [3]}],
                       ["a string"]):
        response = scim.patch(f"/Users/{user['id']}", operations)
        _error(response, 400, response.get_json().get("scimType"))
    response = scim._call("PATCH", f"/Users/{user['id']}", {"schemas": [PATCH_OP],
                                                            "Operations": "a string"})
    _error(response, 400, response.get_json().get("scimType"))


# -- finding 9: the protocol layer takes any e-mail a directory may accept -----------------

@pytest.mark.parametrize("address", ["ops@corp.local", "qa@bridge.test", "it@ad.internal",
                                     "demo@acme.example", "root@localhost", "a@[127.0.0.1]"])
def test_special_use_email_domains_are_accepted(scim: Scim, address: str) -> None:
    created = scim.post("/Users", {"schemas": [USER_SCHEMA], "userName": address,
                                   "emails": [{"value": address, "primary": True}]})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["emails"][0]["value"] == address
    user_id = created.get_json()["id"]
    other = "second@" + address.split("@")[1]
    patched = scim.patch(f"/Users/{user_id}", [
        {"op": "add", "path": "emails", "value": [{"value": other, "type": "work"}]}])
    assert patched.status_code == 200, patched.get_json()
    replaced = scim.put(f"/Users/{user_id}", {"schemas": [USER_SCHEMA], "userName": address,
                                               "emails": [{"value": other}]})
    assert replaced.status_code == 200, replaced.get_json()
