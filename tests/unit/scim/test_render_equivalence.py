"""Responses render byte for byte as scim2-models' response serialisation renders them.

``ScimHandlers._render`` takes a shorter path when the response filter would remove
nothing (no ``attributes``/``excludedAttributes``, no attribute returned "never" or on
request held), and a Group PATCH answers without its default ``excludedAttributes=members``
when the group it returns holds no members. :func:`reference_render` is the rendering
every response had before: a copy whose ``meta.location`` is set, dumped in the
response context with the request's parameters. Each varied resource below, under each
set of parameters and each response context, must give the same JSON text.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from scim2_models import Context, ResponseParameters, SearchRequest

from bridge.provisioning.access import AccessAttributes
from bridge.provisioning.access_schema import ACCESS_RESOURCES, AccessUser
from bridge.provisioning.mapping import GroupMapping, UserMapping
from scim.backend import Subject
from scim.handlers import ScimHandlers, ScimRequest
from scim.memory import MemoryBackend
from scim.resources import Kind, ScimGroup
from scim.settings import ScimSettings

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACCESS = "urn:bridge:scim:schemas:extension:access:2.0:User"
BASE_URL = "https://bridge.example/scim/v2"
REQUEST = ScimRequest("GET", "/Users", BASE_URL, Subject("test"))
CONTEXTS = (Context.RESOURCE_CREATION_RESPONSE, Context.RESOURCE_QUERY_RESPONSE,
            Context.RESOURCE_REPLACEMENT_RESPONSE)
META = {"resourceType": "User", "created": "2026-12-01T10:00:00.123+00:00",
        "lastModified": "2026-12-02T11:30:00+00:00", "version": 'W/"a1b2c3"'}


def reference_render(request: ScimRequest, kind: Kind, resource: Any,
                     params: ResponseParameters[Any] | None, context: Context) -> str:
    """The rendering before the shorter path, as JSON text."""
    published = resource.model_copy()
    if published.meta is not None:
        published.meta = published.meta.model_copy(
            update={"location": f"{request.base_url}{kind.endpoint}/{resource.id}"})
    body = published.model_dump(scim_ctx=context, response_parameters=params)
    _absolute(body)
    return json.dumps(body)


def _absolute(body: dict[str, Any]) -> None:
    from scim.handlers import _absolute_references

    _absolute_references(body, BASE_URL)


def _user(**fields: Any) -> dict[str, Any]:
    schemas = [USER] + [urn for urn in (ENTERPRISE, ACCESS) if urn in fields.get("ext", {})]
    data = {"schemas": schemas, "id": fields.pop("id", "2819c223-7f76"),
            "meta": META, "userName": "bjensen", **fields.pop("ext", {}), **fields}
    return data


FULL_CORE = {
    "externalId": "ext-1", "displayName": "Babs Jensen", "nickName": "Babs",
    "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen",
             "middleName": "Jane", "honorificPrefix": "Ms."},
    "profileUrl": "https://login.example.com/bjensen", "title": "Tour Guide",
    "userType": "Employee", "preferredLanguage": "en-US", "locale": "en-US",
    "timezone": "America/Los_Angeles", "active": True,
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True},
               {"value": "babs@jensen.org", "type": "home"}],
    "phoneNumbers": [{"value": "555-555-5555", "type": "work"},
                     {"value": "555-555-4444", "type": "mobile", "primary": True}],
    "addresses": [{"streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
                   "region": "CA", "postalCode": "91608", "country": "US", "type": "work",
                   "primary": True}],
    "ims": [{"value": "someaimhandle", "type": "aim"}],
    "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F",
                "type": "photo"}],
    "entitlements": [{"value": "vip"}], "roles": [{"value": "admin", "primary": True}],
    "groups": [{"value": "e9e30dba", "$ref": "Groups/e9e30dba", "display": "Tour Guides",
                "type": "direct"}],
}
ENTERPRISE_PART = {ENTERPRISE: {"employeeNumber": "701984", "costCenter": "4130",
                                "organization": "Universal Studios", "division": "Theme Park",
                                "department": "Tour Operations",
                                "manager": {"value": "26118915", "$ref": "Users/26118915"}}}
ACCESS_PART = {ACCESS: {"userType": "staff", "status": "active", "profile": "Manager",
                        "profiles": ["Manager", "Viewer"], "toggles": ["mfa"],
                        "perimeter": [{"dimension": "site", "value": "paris"},
                                      {"dimension": "site", "value": "lyon"}],
                        "tenants": ["acme"]}}

USERS = [
    _user(),
    _user(active=False),
    _user(**FULL_CORE),
    _user(ext=ENTERPRISE_PART),
    _user(ext=ACCESS_PART),
    _user(ext={**ENTERPRISE_PART, **ACCESS_PART}, **FULL_CORE),
    _user(ext={ENTERPRISE: {"department": "Sales"}}, emails=[{"value": "x@y.example"}]),
    _user(emails=[], phoneNumbers=[]),
    _user(password="s3cret!"),  # returned "never": the full filter runs
    _user(ext={ACCESS: {"perimeter": []}}),
    _user(id="bulk-free-id", meta={**META, "created": None}),
]

GROUPS = [
    {"schemas": [GROUP], "id": "g1", "displayName": "Sales",
     "meta": {**META, "resourceType": "Group"}},
    {"schemas": [GROUP], "id": "g2", "displayName": "Ops", "externalId": "ext-ops",
     "meta": {**META, "resourceType": "Group"},
     "members": [{"value": "u1", "$ref": "Users/u1", "type": "User"},
                 {"value": "g9", "type": "Group"}, {"value": "u2"}]},
    {"schemas": [GROUP], "id": "g3", "displayName": "Labelled",
     "meta": {**META, "resourceType": "Group"},
     "members": [{"value": "u1", "display": "Babs"}]},  # display: returned on request
    {"schemas": [GROUP], "id": "g4", "displayName": "Empty", "members": [],
     "meta": {**META, "resourceType": "Group"}},
]

USER_PARAMS = [None, {"attributes": "userName"}, {"attributes": "emails,name.givenName"},
               {"excludedAttributes": "emails"}, {"excludedAttributes": "meta"},
               {"excludedAttributes": "meta.location"}, {"excludedAttributes": "department"},
               {"attributes": f"{ENTERPRISE}:manager"}, {"excludedAttributes": ACCESS},
               {"attributes": "groups"}, {"excludedAttributes": "groups,name"},
               {"attributes": "password"}]
GROUP_PARAMS = [None, {"excludedAttributes": "members"}, {"attributes": "members.display"},
                {"attributes": "displayName"}, {"excludedAttributes": "meta,externalId"},
                {"attributes": "members"}]


def _keycloak_users() -> list[Any]:
    """Users as the Keycloak backend builds them (UserMapping.from_keycloak)."""
    mapping = UserMapping(AccessAttributes())
    reps = []
    for payload in (_user(**FULL_CORE), _user(ext={**ENTERPRISE_PART, **ACCESS_PART}),
                    _user(ext=ENTERPRISE_PART, emails=[{"value": "A@B.example"}]),
                    _user(active=False)):
        resource = AccessUser.model_validate(
            {k: v for k, v in payload.items() if k not in ("id", "meta", "groups")},
            scim_ctx=Context.RESOURCE_CREATION_REQUEST)
        rep = mapping.to_keycloak(resource)
        reps.append({**rep, "id": "kc-1", "username": rep["username"].lower(),
                     "createdTimestamp": 1764583200000})
    groups = [{"id": "kg1", "name": "Sales"}, {"id": "kg2", "name": "Ops"}]
    return [mapping.from_keycloak(rep) for rep in reps] + [
        mapping.from_keycloak(rep, groups) for rep in reps]


def _keycloak_groups() -> list[Any]:
    mapping = GroupMapping()
    rep = {"id": "kg1", "name": "Sales", "attributes": {
        "scim.externalId": ["ext-s"], "scim.created": ["2026-12-01T10:00:00.000+00:00"],
        "scim.lastModified": ["2026-12-01T11:00:00.000+00:00"]}}
    return [mapping.from_keycloak(rep), mapping.from_keycloak(
        rep, [{"value": "u1", "$ref": "Users/u1", "type": "User", "display": "Babs"}]),
        mapping.from_keycloak({"id": "kg2", "name": "Bare"})]


@pytest.fixture(scope="module")
def handlers() -> ScimHandlers:
    return ScimHandlers(MemoryBackend(resources=ACCESS_RESOURCES), ScimSettings())


def _cases() -> list[tuple[Kind, Any, Any]]:
    users = [AccessUser.model_validate(u) for u in USERS] + _keycloak_users()
    groups = [ScimGroup.model_validate(g) for g in GROUPS] + _keycloak_groups()
    cases = []
    for user, params in itertools.product(users, USER_PARAMS):
        parsed = None if params is None else ResponseParameters[AccessUser].model_validate(params)
        cases.append((Kind.USER, user, parsed))
    for user in users:  # a ListResponse renders each resource with its SearchRequest
        for search in ({}, {"attributes": "userName"}, {"excludedAttributes": "emails"}):
            cases.append((Kind.USER, user, SearchRequest[AccessUser].model_validate(search)))
    for group, params in itertools.product(groups, GROUP_PARAMS):
        parsed = None if params is None else ResponseParameters[ScimGroup].model_validate(params)
        cases.append((Kind.GROUP, group, parsed))
    return cases


def test_every_resource_renders_as_the_library_renders_it(handlers: ScimHandlers) -> None:
    cases = _cases()
    assert len(cases) > 300
    for (kind, resource, params), context in itertools.product(cases, CONTEXTS):
        before = resource.model_dump()
        expected = reference_render(REQUEST, kind, resource, params, context)
        assert json.dumps(handlers._render(REQUEST, kind, resource, params, context)) == \
            expected, (kind, resource, params, context)
        assert resource.model_dump() == before  # the resource is left as it was


def test_the_filter_still_runs_for_what_a_response_leaves_out(handlers: ScimHandlers) -> None:
    with_password = AccessUser.model_validate(_user(password="s3cret!"))
    body = handlers._render(REQUEST, Kind.USER, with_password, None,
                            Context.RESOURCE_QUERY_RESPONSE)
    assert "password" not in body
    labelled = ScimGroup.model_validate(GROUPS[2])
    body = handlers._render(REQUEST, Kind.GROUP, labelled, None, Context.RESOURCE_QUERY_RESPONSE)
    assert body["members"] == [{"value": "u1", "$ref": f"{BASE_URL}/Users/u1"}]


def test_a_member_patch_answer_is_the_group_without_its_members() -> None:
    """The answer without members is the one ``excludedAttributes=members`` gives, whether
    or not the returned group holds members (RFC 7644 §3.5.2: 200 with the resource)."""
    backend = MemoryBackend(resources=ACCESS_RESOURCES)
    handlers = ScimHandlers(backend, ScimSettings(group_patch_returns_members=False))
    subject = Subject("test")
    user = handlers.handle(ScimRequest(
        "POST", "/Users", BASE_URL, subject, body=json.dumps(
            {"schemas": [USER], "userName": "babs"}).encode()))
    group = handlers.handle(ScimRequest(
        "POST", "/Groups", BASE_URL, subject, body=json.dumps(
            {"schemas": [GROUP], "displayName": "Sales"}).encode()))
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": user.body["id"]}]}]}
    answer = handlers.handle(ScimRequest(
        "PATCH", f"/Groups/{group.body['id']}", BASE_URL, subject,
        body=json.dumps(patch).encode()))
    assert answer.status == 200
    stored = backend.get(subject, Kind.GROUP, group.body["id"])
    assert stored is not None and stored.members
    stored.members = None
    assert json.dumps(answer.body) == reference_render(
        ScimRequest("PATCH", "/Groups", BASE_URL, subject), Kind.GROUP, stored,
        ResponseParameters[ScimGroup].model_validate({"excludedAttributes": "members"}),
        Context.RESOURCE_REPLACEMENT_RESPONSE)
    assert "members" not in answer.body and answer.headers["ETag"] == stored.meta.version
