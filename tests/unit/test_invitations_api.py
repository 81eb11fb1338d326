"""``/api/v1`` over an in-memory directory: routes, JSON shapes, the error funnel, OpenAPI."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.api import create_api_blueprint
from bridge.api.auth import Caller
from bridge.catalog.load import load
from bridge.catalog.mapping import user_state
from bridge.catalog.model import Assignment
from bridge.invitations import AccessAdministration
from bridge.keycloak import errors as kc
from tests.unit.invitations_memory import MemoryDirectory

CATALOG = load(Path(__file__).resolve().parents[2] / "realm-config" / "examples"
               / "004-accounting-portal" / "catalog.yaml", {})


def _auth(header: str | None) -> Caller | None:
    """``Bearer <user id>`` stands for a valid token of that user."""
    if not header or not header.startswith("Bearer "):
        return None
    return Caller(header.removeprefix("Bearer "), None, "portal")


class Api:
    def __init__(self) -> None:
        self.directory = MemoryDirectory()
        self.service = AccessAdministration(self.directory, CATALOG)
        app = Flask(__name__)
        app.register_blueprint(create_api_blueprint(self.service, _auth, retry_after=7))
        self.app = app
        self.http: FlaskClient = app.test_client()

    def person(self, name: str, profile: str, tenant: str = "dossier-acme",
               **fields: Any) -> str:
        state = user_state(CATALOG, Assignment.of("external", "client-user", profile,
                                                  tenants=[tenant]))
        return self.directory.add(name, f"{name}@example.com", state.attribute_lists(),
                                  set(state.groups), **fields)

    def call(self, method: str, path: str, actor: str | None, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {actor}"} if actor else {}
        return self.http.open(f"/api/v1{path}", method=method, json=body, headers=headers)


@pytest.fixture
def api() -> Api:
    return Api()


def _invite(email: str, tenant: str = "dossier-acme", **extra: Any) -> dict[str, Any]:
    return {"email": email, "status": "client-user", "profile": "document-delivery",
            "tenants": [tenant], **extra}


def test_invite_list_resend_revoke(api: Api) -> None:
    admin = api.person("anna", "administrator")
    created = api.call("POST", "/invitations", admin, _invite("new@example.com",
                                                              language="fr"))
    assert created.status_code == 201
    body = created.get_json()
    invitation_id = body["invitation"]["id"]
    assert created.headers["Location"] == f"/api/v1/invitations/{invitation_id}"
    assert body["outcome"] == "invited"
    assert body["invitation"] | {"sent_at": None, "expires_at": None} == {
        "id": invitation_id, "email": "new@example.com", "state": "pending",
        "language": "fr", "invited_by": "user:anna", "sent_at": None, "expires_at": None,
        "client_id": "portal", "redirect_uri": None, "user_type": "external",
        "status": "client-user", "profiles": ["document-delivery"], "toggles": [],
        "perimeter": {}, "tenants": ["dossier-acme"]}

    again = api.call("POST", "/invitations", admin, _invite("NEW@example.com"))
    assert (again.status_code, again.get_json()["outcome"]) == (200, "already-invited")

    page = api.call("GET", "/invitations?max=10", admin).get_json()
    assert [i["id"] for i in page["items"]] == [invitation_id]
    assert (page["first"], page["max"], page["next"]) == (0, 10, None)
    assert api.call("GET", f"/invitations/{invitation_id}", admin).status_code == 200

    resent = api.call("POST", f"/invitations/{invitation_id}/resend", admin)
    assert (resent.status_code, resent.get_json()["outcome"]) == (200, "resent")
    assert len(api.directory.sent) == 2

    assert api.call("DELETE", f"/invitations/{invitation_id}", admin).status_code == 204
    gone = api.call("DELETE", f"/invitations/{invitation_id}", admin)
    assert (gone.status_code, gone.get_json()["error"]) == (404, "not-found")


def test_lifecycle_routes(api: Api) -> None:
    admin = api.person("anna", "administrator")
    dora = api.person("dora", "document-processing")
    off = api.call("POST", f"/users/{dora}/deactivate", admin)
    assert off.status_code == 200
    assert off.get_json()["outcome"] == "deactivated"
    assert off.get_json()["user"]["enabled"] is False
    on = api.call("POST", f"/users/{dora}/reactivate", admin).get_json()
    assert on["user"]["enabled"] is True
    changed = api.call("PATCH", f"/users/{dora}", admin, {"profile": "full-access"})
    assert changed.get_json()["user"]["profiles"] == ["full-access"]
    assert api.call("GET", f"/users/{dora}", admin).get_json()["profiles"] == ["full-access"]
    assert api.call("DELETE", f"/users/{dora}", admin).status_code == 204
    assert api.call("GET", f"/users/{dora}", admin).status_code == 404
    itself = api.call("POST", f"/users/{admin}/deactivate", admin)
    assert (itself.status_code, itself.get_json()["error"]) == (409, "lifecycle.self")


@pytest.mark.parametrize(("body", "code"), [
    ({"email": "a@example.com", "status": "partner"}, "unknown.status"),
    (_invite("a@example.com") | {"profile": "superuser"}, "unknown.profile"),
    (_invite("a@example.com") | {"colour": "red"}, "invalid-request"),
    (_invite("a@example.com") | {"perimeter": ["p1"]}, "invalid-request"),
    (_invite("a@example.com") | {"lifespan": "soon"}, "invalid-request"),
    (_invite("a@example.com") | {"language": "de"}, "invalid-request"),
    ({"status": "client-user"}, "invalid-request"),
    ([1, 2], "invalid-request"),
])
def test_400_names_the_rule_or_the_field(api: Api, body: Any, code: str) -> None:
    admin = api.person("anna", "administrator")
    answer = api.call("POST", "/invitations", admin, body)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == code
    assert answer.get_json()["detail"]


def test_401_without_a_valid_token_or_for_a_deactivated_actor(api: Api) -> None:
    answer = api.call("GET", "/invitations", None)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert answer.get_json()["error"] == "unauthorized"
    disabled = api.person("dis", "administrator", enabled=False)
    assert api.call("GET", "/invitations", disabled).status_code == 401


def test_403_with_the_reason(api: Api) -> None:
    admin = api.person("anna", "administrator")
    full = api.person("fred", "full-access")
    outsider = api.person("olga", "document-delivery", tenant="dossier-bakery")
    other = api.call("POST", "/invitations", admin, _invite("b@example.com",
                                                            "dossier-bakery"))
    assert other.status_code == 403
    assert other.get_json()["error"] == "delegation.tenant"
    assert "dossier-bakery" in other.get_json()["detail"]
    by_full = api.call("POST", "/invitations", full, _invite("c@example.com"))
    assert (by_full.status_code, by_full.get_json()["error"]) == (
        403, "delegation.not-allowed")
    assert api.call("POST", f"/users/{outsider}/deactivate", admin).status_code == 403


def test_409_already_active_says_what_happened(api: Api) -> None:
    admin = api.person("anna", "administrator")
    api.person("dora", "document-processing")
    answer = api.call("POST", "/invitations", admin, _invite("dora@example.com"))
    assert answer.status_code == 409
    body = answer.get_json()
    assert (body["error"], body["outcome"], body["enabled"]) == (
        "already-active", "already-active", True)


def test_503_with_retry_after_when_keycloak_or_mail_is_down(api: Api) -> None:
    admin = api.person("anna", "administrator")
    api.directory.fail["send_actions"] = kc.GatewayError("x", status=500, detail="smtp")
    mail = api.call("POST", "/invitations", admin, _invite("a@example.com"))
    assert (mail.status_code, mail.get_json()["error"]) == (503, "mail-unavailable")
    assert mail.headers["Retry-After"] == "7"
    api.directory.fail["get"] = kc.Unavailable("Keycloak unreachable")
    down = api.call("GET", "/invitations", admin)
    assert (down.status_code, down.get_json()["error"]) == (503, "keycloak-unavailable")
    assert down.headers["Retry-After"] == "7"


def test_500_carries_no_traceback(api: Api) -> None:
    admin = api.person("anna", "administrator")
    api.directory.fail["find_by_email"] = RuntimeError("secret internals")
    answer = api.call("POST", "/invitations", admin, _invite("a@example.com"))
    assert answer.status_code == 500
    assert answer.get_json()["error"] == "internal"
    assert "secret internals" not in answer.get_data(as_text=True)


def test_without_a_catalog_only_the_document_answers() -> None:
    app = Flask(__name__)
    app.register_blueprint(create_api_blueprint(None, _auth))
    http = app.test_client()
    assert http.get("/api/v1/openapi.json").status_code == 200
    answer = http.get("/api/v1/invitations", headers={"Authorization": "Bearer x"})
    assert (answer.status_code, answer.get_json()["error"]) == (503, "catalog-not-configured")
    # Explained (what to set, and that SCIM does not need it); no retry would help.
    assert "BRIDGE_CATALOG" in answer.get_json()["detail"]
    assert "SCIM works without one" in answer.get_json()["detail"]
    assert "Retry-After" not in answer.headers
    assert http.get("/api/v1/docs").status_code == 200


def test_openapi_describes_exactly_the_routes(api: Api) -> None:
    document = api.http.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    routed = {(re.sub(r"<[^>]+>", "{id}", rule.rule.removeprefix("/api/v1")), method.lower())
              for rule in api.app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
              for method in rule.methods or () if method not in ("HEAD", "OPTIONS")}
    described = {(path, method) for path, item in document["paths"].items()
                 for method in item}
    assert routed == described
    schemas = document["components"]["schemas"]
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', str(document)
                          .replace("'", '"')))
    assert refs <= set(schemas)
    for item in document["paths"].values():
        for operation in item.values():
            assert "operationId" in operation and "responses" in operation


def test_a_catalog_the_realm_lacks_is_a_503_naming_the_missing_groups(api: Api) -> None:
    admin = api.person("anna", "administrator")
    api.directory.fail["create"] = kc.MissingGroups(
        "access", ["/bridge/catalog/tenant/dossier-acme"])
    answer = api.call("POST", "/invitations", admin, _invite("new@example.com"))
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["error"] == "catalog-not-applied"
    assert body["detail"].startswith("realm 'access' has no group "
                                     "/bridge/catalog/tenant/dossier-acme: the access catalog")
    assert "bridge realm apply" in body["detail"]
