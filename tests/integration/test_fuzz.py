"""Seeded fuzz of ``/scim/v2`` and ``/api/v1`` on the real app over a real Keycloak (issue 9,
"done when"): at least 5,000 malformed requests, none answered 5xx, no trace, internal class
name or Keycloak text in any body, none slower than 5 s.

Hypothesis draws each request (seeded: the same run every time; generation only, no
shrinking, so the time stays bounded; each drawn payload also goes to other routes of its
surface) from mutations of valid SCIM and API requests: values
replaced by arbitrary JSON, wrong types, non-string PATCH paths, deep nesting, oversized and
non-UTF-8 bodies, unpaired surrogates, odd filters, sorts, paths and query parameters. The
run stops drawing after :data:`TIME_BOUND` seconds; it must have sent :data:`AT_LEAST`
requests by then. The counts by status are printed (``-s``) and carried by any failure.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from bridge.app import create_app
from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment
from bridge.config import Settings
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.login import Browserless

EXAMPLE = REALM_CONFIG / "examples" / "004-accounting-portal"
PASSWORD = "A-long-enough-pass-1"
SCIM_TOKEN = "fuzz-scim-token"
TENANT_TOKEN = "fuzz-tenant-token"
AT_LEAST = 5000
MAX_EXAMPLES = 4000
TIME_BOUND = 120.0
SLOW = 5.0

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ACCESS = "urn:bridge:scim:schemas:extension:access:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

# What no body may show: a trace, an internal (library or class) name, a Keycloak text.
LEAKS = re.compile(
    r"Traceback|File \"|\bline \d+, in\b|"
    r"\b(?:EnterpriseUser|AccessExtension|GroupMember|GroupMembership|ComplexAttribute|"
    r"PatchOperation|PatchOp|ScimFilter|ValidationError|"
    r"AttributeError|TypeError|KeyError|RecursionError|ValueError|UnicodeEncodeError|"
    r"UnicodeDecodeError|NoneType|BaseModel)\b|User\[|Group\[|instance of|Input should|"
    r"validation error|Value error|pydantic|"
    r"Keycloak|keycloak|errorMessage|error-[a-z-]+|unknown_error|For more on this error|"
    r"User exists with|Group name is missing")


class Request(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    data: bytes | None
    headers: dict[str, str]
    surface: str


class TimeUp(Exception):
    """The fuzz run used up its time."""


TRACE = re.compile(r"Traceback|File \"|\bline \d+, in\b")


@dataclass
class Target:
    realm: RealmUnderTest
    http: FlaskClient
    api_token: str
    user_ids: list[str]
    group_ids: list[str]
    admin_id: str


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    by_surface: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    sent: int = 0

    def report(self) -> str:
        return (f"{self.sent} requests ({dict(sorted(self.by_surface.items()))}), by status "
                f"{dict(sorted(self.statuses.items()))}, slowest {self.slowest:.2f} s")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def target(fresh_realm: RealmUnderTest) -> Target:
    fresh_realm.apply([REALM_CONFIG, EXAMPLE])
    catalog = load_catalog(EXAMPLE)
    settings = Settings(
        keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name, client_id="bridge",
        client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"], catalog_path=str(EXAMPLE),
        scim_static_tokens=f"fuzz={_digest(SCIM_TOKEN)},"
                           f"acme={_digest(TENANT_TOKEN)}@dossier-acme")
    http = create_app(settings).test_client()
    state = user_state(catalog, Assignment.of("external", "client-user", "administrator",
                                              tenants=["dossier-acme"]))
    admin_id = fresh_realm.admin.post(f"/{fresh_realm.name}/users", {
        "username": "fuzz-admin", "email": f"fuzz-admin@{fresh_realm.name}.example.com",
        "enabled": True, "emailVerified": True, "firstName": "Fuzz", "lastName": "Admin",
        "attributes": state.attribute_lists(), "groups": sorted(state.groups),
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
    assert admin_id
    token = Browserless().sign_in(fresh_realm.issuer, "fuzz-admin", PASSWORD).access_token
    scim = {"Authorization": f"Bearer {SCIM_TOKEN}"}
    user_ids, group_ids = [], []
    for i in range(3):
        created = http.post("/scim/v2/Users", headers=scim, json={
            "schemas": [USER], "userName": f"seed-{i}", "emails": [{"value": f"s{i}@corp.local"}]})
        assert created.status_code == 201, created.get_json()
        user_ids.append(created.get_json()["id"])
    group = http.post("/scim/v2/Groups", headers=scim, json={
        "schemas": [GROUP], "displayName": "Fuzzed", "members": [{"value": user_ids[0]}]})
    assert group.status_code == 201, group.get_json()
    group_ids.append(group.get_json()["id"])
    return Target(fresh_realm, http, token, user_ids, group_ids, admin_id)


# -- strategies -----------------------------------------------------------------------------

# A small alphabet draws fast and still holds what breaks parsers and validators: quotes,
# backslashes, brackets, controls, non-ASCII letters, an emoji (astral), @ and dots.
_TEXT = st.text(st.sampled_from(list("aZ09 @.-_'\"\\/[]{}()*:,\t\n\x00\x7féßü中😀\u200b")),
                max_size=24)
_NAMES = st.sampled_from(["userName", "displayName", "emails", "name", "active", "members",
                          "groups", "externalId", "title", "meta", "id", "schemas", ENTERPRISE,
                          ACCESS, f"{ENTERPRISE}:manager", "emails[type eq \"work\"].value",
                          "members[value eq \"x\"]", "name.givenName", "x509Certificates",
                          "phoneNumbers", "roles", "password", "Operations", "op", "path",
                          "value", "filter", "sortBy", "startIndex", "count"])
_SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
            | st.floats(allow_nan=False, allow_infinity=False) | _TEXT)
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_NAMES | _TEXT, inner, max_size=4), max_leaves=6)
_FILTERS = st.sampled_from([
    'userName eq "seed-1"', 'userName co "seed"', 'title co "x"', 'emails eq "s1@corp.local"',
    'groups.value eq "GID"', 'groups.display eq "Fuzzed"', 'members.value eq "UID"',
    'active eq true and title pr', 'not (userName eq "x")', "userName eq",
    'userName eq "a" or (', 'externalId eq "' + "x" * 300 + '"', "((((((((((",
    'meta.lastModified gt "2020-01-01T00:00:00Z"', 'userName sw "\\u00e9"',
    'emails[type eq "work" and value co "@"]', "displayName eq 3", 'x eq "y"',
    f'{ACCESS}:status eq "client-user"', f'{ENTERPRISE}:department eq "a"',
    "id eq \"" + "-" * 40 + '"', 'userName eq "\\u0000"', "userName gt 2",
]) | _TEXT


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _big(size: int) -> bytes:
    return (b'{"schemas": ["' + USER.encode() + b'"], "userName": "big", "title": "'
            + b"x" * size + b'"}')


_RAW_SCIM = [f'{{"schemas": ["{USER}"], "userName": "s\\ud800"}}'.encode(),
             b'{"filter": "userName eq \\"\\udfff\\""}', b"\xff\xfe\x00", b"{", b"", b"null",
             b"[]", _big(10), _big(1_100_000), _big(2_000_000), b'{"userName": NaN}']
_RAW_API = [b'{"email": "a\\ud800@b.com"}', b"\xff", b"{", b"[1]",
            b'{"email": "' + b"x" * 1_100_000 + b'"}']


@st.composite
def scim_request(draw: Any, t: Target) -> Request:
    uid = draw(st.sampled_from([*t.user_ids, "no-such-id", "..", "%2e%2e", "x" * 300]))
    gid = draw(st.sampled_from([*t.group_ids, "no-such-group", t.user_ids[1]]))
    kind = draw(st.sampled_from(["user", "group", "patch-user", "patch-group", "bulk",
                                 "search", "list", "discovery", "raw", "path"]))
    method, path, body = "GET", "/Users", None
    query: dict[str, str] = {}
    if kind in ("user", "group"):
        template: dict[str, Any] = {"schemas": [USER], "userName": draw(_TEXT),
                                    "emails": [{"value": draw(_TEXT | st.just("a@b.local")),
                                                "primary": draw(st.booleans())}],
                                    "name": {"givenName": draw(_TEXT)},
                                    ENTERPRISE: {"manager": draw(_JSON)},
                                    ACCESS: {"status": draw(_TEXT), "tenants": draw(_JSON)}}
        if kind == "group":
            template = {"schemas": [GROUP], "displayName": draw(_TEXT | st.text(min_size=250,
                                                                                  max_size=300)),
                        "members": [{"value": draw(st.sampled_from([uid, gid]))}],
                        "externalId": draw(_TEXT)}
        for key in draw(st.lists(st.sampled_from(sorted(template)), max_size=3)):
            template[key] = draw(_JSON)
        template.update(draw(st.dictionaries(_NAMES, _JSON, max_size=2)))
        endpoint = "/Users" if kind == "user" else "/Groups"
        method = draw(st.sampled_from(["POST", "PUT"]))
        path = endpoint if method == "POST" else f"{endpoint}/{uid if kind == 'user' else gid}"
        body = template
    elif kind in ("patch-user", "patch-group"):
        operations = draw(st.lists(st.fixed_dictionaries({
            "op": st.sampled_from(["add", "replace", "remove", "Add", "x"]) | _JSON,
            "path": _NAMES | _JSON | st.just(None),
            "value": _JSON}), max_size=4))
        body = draw(st.sampled_from([{"schemas": [PATCH_OP], "Operations": operations},
                                     {"Operations": operations}, {"schemas": [PATCH_OP]}]))
        path = f"/Users/{uid}" if kind == "patch-user" else f"/Groups/{gid}"
        method = "PATCH"
    elif kind == "bulk":
        operations = draw(st.lists(st.fixed_dictionaries({
            "method": st.sampled_from(["POST", "PUT", "PATCH", "DELETE", "GET"]) | _JSON,
            "path": st.sampled_from(["/Users", f"/Users/{uid}", "/Groups", f"/Groups/{gid}",
                                     "/Users/bulkId:a", "Users"]) | _JSON,
            "bulkId": st.sampled_from(["a", "b"]) | _JSON,
            "data": _JSON | st.just({"schemas": [USER], "userName": "bulk-fuzz"})}),
            max_size=5))
        body = {"schemas": [BULK], "Operations": operations,
                "failOnErrors": draw(st.none() | st.integers(-1, 3) | _JSON)}
        method, path = "POST", "/Bulk"
    elif kind == "search":
        body = {"schemas": [SEARCH], "filter": draw(_FILTERS), "sortBy": draw(_NAMES | _TEXT),
                "startIndex": draw(_JSON), "count": draw(st.integers(-5, 5000) | _JSON),
                "attributes": draw(_JSON)}
        method, path = "POST", draw(st.sampled_from(["/Users/.search", "/.search",
                                                     "/Groups/.search"]))
    elif kind == "list":
        path = draw(st.sampled_from(["/Users", "/Groups"]))
        query = {k: str(v) for k, v in draw(st.dictionaries(
            st.sampled_from(["filter", "sortBy", "sortOrder", "startIndex", "count",
                             "attributes", "excludedAttributes", "cursor"]),
            _FILTERS | _TEXT | st.integers(-3, 10**6) | _NAMES, max_size=4)).items()}
        if "filter" in query:
            query["filter"] = query["filter"].replace("GID", gid).replace("UID", uid)
    elif kind == "discovery":
        path = draw(st.sampled_from(["/ServiceProviderConfig", "/ServiceProviderConfig/limits",
                                     "/Schemas", "/ResourceTypes", "/Schemas/x",
                                     f"/Users/{uid}", f"/Groups/{gid}"]))
        method = draw(st.sampled_from(["GET", "DELETE", "GET"]))
        query = {"attributes": draw(_NAMES)} if draw(st.booleans()) else {}
    elif kind == "path":
        method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
        path = "/" + "/".join(draw(st.lists(st.text("aZ09./%.:~-_", max_size=12),
                                            max_size=4)))
        body = draw(_JSON) if method != "GET" else None
    raw: bytes | None = None
    if kind == "raw" or draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["POST", "PUT", "PATCH"]))
        path = draw(st.sampled_from(["/Users", f"/Users/{uid}", "/Groups", "/Bulk",
                                     "/Users/.search", f"/Groups/{gid}"]))
        nested = _deep(draw(st.integers(30, 5000)))
        raw = draw(st.sampled_from([
            f'{{"schemas": ["{USER}"], "userName": "deep", "name": {nested}}}'.encode(),
            *_RAW_SCIM, json.dumps(draw(_JSON)).encode()]))
    token = draw(st.sampled_from([SCIM_TOKEN, SCIM_TOKEN, TENANT_TOKEN]))
    headers = {"Authorization": f"Bearer {token}",
               "Content-Type": draw(st.sampled_from(["application/scim+json",
                                                     "application/json", "text/plain"]))}
    if draw(st.integers(0, 5)) == 0:
        headers["If-Match"] = draw(st.sampled_from(['W/"x"', "*", "", '"' + "a" * 100 + '"']))
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    return Request(method, "/scim/v2" + path, query, data, headers, "scim")


_FACTS = st.fixed_dictionaries({}, optional={
    "status": _TEXT | st.sampled_from(["client-user", "firm-staff"]) | _JSON,
    "profile": _TEXT | st.sampled_from(["administrator", "document-delivery"]) | _JSON,
    "profiles": _JSON, "toggles": _JSON, "perimeter": _JSON,
    "tenants": st.sampled_from([["dossier-acme"], ["dossier-bakery"]]) | _JSON,
    "tenant": _JSON, "user_type": _JSON})


@st.composite
def api_request(draw: Any, t: Target) -> Request:
    uid = draw(st.sampled_from([*t.user_ids, t.admin_id, "nobody", "..", "x" * 300]))
    route = draw(st.sampled_from(["invite", "list", "get", "resend", "revoke", "perimeter",
                                  "user", "patch", "deactivate", "reactivate", "delete",
                                  "openapi", "raw"]))
    method, path, query, body = "GET", "/invitations", {}, None
    if route == "invite":
        body = draw(_FACTS) | {"email": draw(_TEXT | st.sampled_from(
            ["new@corp.local", "a..b@c.com", "é@b.com", "x@[127.0.0.1]"]) | _JSON)}
        body |= draw(st.dictionaries(st.sampled_from(["language", "first_name", "last_name",
                                                      "client_id", "redirect_uri", "lifespan",
                                                      "unknown"]), _JSON, max_size=3))
        method = "POST"
    elif route == "list":
        query = {k: str(v) for k, v in draw(st.dictionaries(
            st.sampled_from(["state", "first", "max"]), _TEXT | st.integers(-5, 10**9),
            max_size=3)).items()}
    elif route in ("get", "revoke"):
        method, path = ("GET" if route == "get" else "DELETE"), f"/invitations/{uid}"
    elif route == "resend":
        method, path = "POST", f"/invitations/{uid}/resend"
        body = draw(st.none() | st.fixed_dictionaries({"lifespan": _JSON}))
    elif route == "perimeter":
        path = "/me/perimeter"
    elif route in ("user", "delete"):
        method, path = ("GET" if route == "user" else "DELETE"), f"/users/{uid}"
    elif route == "patch":
        method, path = "PATCH", f"/users/{uid}"
        body = draw(_FACTS) | draw(st.dictionaries(st.sampled_from(
            ["first_name", "last_name", "language", "email"]), _JSON, max_size=2))
    elif route in ("deactivate", "reactivate"):
        method, path = "POST", f"/users/{uid}/{route}"
    elif route == "openapi":
        path = "/openapi.json"
    data = None if body is None else json.dumps(body).encode()
    if route == "raw":
        method = draw(st.sampled_from(["POST", "PATCH"]))
        path = draw(st.sampled_from(["/invitations", f"/users/{uid}"]))
        data = draw(st.sampled_from([
            b'{"email": "a@b.com", "perimeter": ' + _deep(draw(st.integers(30, 5000))).encode()
            + b"}", *_RAW_API]))
    token = draw(st.sampled_from([t.api_token, t.api_token, "not-a-token", ""]))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    headers["Content-Type"] = draw(st.sampled_from(["application/json", "text/plain"]))
    return Request(method, "/api/v1" + path, query, data, headers, "api")


# -- the run ------------------------------------------------------------------------------------

def _siblings(t: Target, surface: str) -> list[tuple[str, str]]:
    uid, gid = t.user_ids[2], t.group_ids[0]
    if surface == "scim":
        return [("POST", "/scim/v2/Users"), ("POST", "/scim/v2/Groups"),
                ("PUT", f"/scim/v2/Users/{uid}"), ("PATCH", f"/scim/v2/Users/{uid}"),
                ("PATCH", f"/scim/v2/Groups/{gid}"), ("PUT", f"/scim/v2/Groups/{gid}"),
                ("POST", "/scim/v2/Bulk"), ("POST", "/scim/v2/Users/.search"),
                ("POST", "/scim/v2/.search")]
    return [("POST", "/api/v1/invitations"), ("PATCH", f"/api/v1/users/{uid}"),
            ("POST", f"/api/v1/invitations/{uid}/resend"), ("GET", "/api/v1/me/perimeter")]


def _send(t: Target, request: Request, tally: Tally) -> None:
    method, path, query, data, headers, surface = request
    started = time.monotonic()
    response = t.http.open(path, method=method, query_string=query, data=data, headers=headers)
    elapsed = time.monotonic() - started
    text = response.get_data(as_text=True)
    tally.sent += 1
    tally.statuses[response.status_code] += 1
    tally.by_surface[surface] += 1
    tally.slowest = max(tally.slowest, elapsed)
    where = f"{method} {path[:80]} -> {response.status_code}"
    if response.status_code >= 500:
        tally.failures.append(f"5xx: {where}: {text[:300]}")
    if elapsed > SLOW:
        tally.failures.append(f"slower than {SLOW} s ({elapsed:.1f} s): {where}")
    # Error bodies must be in the bridge's words; documents (OpenAPI, /Schemas) may name
    # schemas (EnterpriseUser) and Keycloak, as their readers expect, but never a trace.
    leak = (LEAKS if response.status_code >= 400 else TRACE).search(text)
    if leak:
        tally.failures.append(f"leak {leak.group()!r}: {where}: {text[:300]}")


def test_fuzz_scim_and_api(target: Target) -> None:
    tally = Tally()
    deadline = time.monotonic() + TIME_BOUND

    @seed(20261201)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data: st.DataObject) -> None:
        surface = data.draw(st.sampled_from(["scim", "scim", "scim", "api", "api"]))
        request = data.draw(scim_request(target) if surface == "scim" else api_request(target))
        # The same payload is also sent to another route of its surface: drawing costs more
        # than serving a malformed request, and a body meant for one route is malformed
        # for the others.
        many = 6 if surface == "scim" else 3
        siblings = data.draw(st.lists(st.sampled_from(_siblings(target, surface)),
                                      min_size=many, max_size=many))
        if time.monotonic() > deadline:
            raise TimeUp  # bounded in time: ends the run (caught below), nothing is sent
        _send(target, request, tally)
        for method, path in siblings:
            _send(target, request._replace(method=method, path=path), tally)

    try:
        one()
    except TimeUp:
        pass
    print("\nfuzz:", tally.report())
    assert tally.failures == [], tally.report() + "\n" + "\n".join(tally.failures[:40])
    assert tally.sent >= AT_LEAST, tally.report()
    assert set(tally.by_surface) == {"scim", "api"}

