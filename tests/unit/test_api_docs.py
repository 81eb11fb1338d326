"""``/api/v1/docs`` (Swagger UI, offline) and the document generated from the models."""

from __future__ import annotations

import re

from flask import Flask

from bridge.api import create_api_blueprint
from bridge.api.models import InvitationBody, MyPerimeter, UserChange
from tests.unit.test_invitations_api import Api, _auth


def test_docs_page_is_swagger_ui_with_nothing_from_a_cdn() -> None:
    app = Flask(__name__)
    app.register_blueprint(create_api_blueprint(None, _auth))
    page = app.test_client().get("/api/v1/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "SwaggerUIBundle(" in text and 'url: "openapi.json"' in text
    # Every script and style is inline: no src= or href= to load at run time.
    assert re.findall(r'<(?:script|link)[^>]*(?:src|href)=', text) == []


def test_the_document_is_the_models_json_schema() -> None:
    document = Api().http.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    for model in (InvitationBody, UserChange, MyPerimeter):
        assert set(schemas[model.__name__]["properties"]) == set(model.model_fields)
    assert schemas["InvitationBody"]["additionalProperties"] is False
    assert schemas["MyPerimeter"]["properties"]["perimeter_ref"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": schemas["MyPerimeter"]["properties"]["perimeter_ref"]["description"]}
    invite = document["paths"]["/invitations"]["post"]
    assert invite["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/InvitationBody"}
    assert document["paths"]["/docs"]["get"]["security"] == []


def test_the_same_models_validate_requests() -> None:
    api = Api()
    admin = api.person("anna", "administrator")
    refused = api.call("PATCH", f"/users/{admin}", admin, {"first_name": 5, "colour": "red"})
    assert refused.status_code == 400
    body = refused.get_json()
    assert body["error"] == "invalid-request"
    assert "first_name" in body["detail"] and "colour: unknown field" in body["detail"]
    both = api.call("PATCH", f"/users/{admin}", admin, {"profile": "a", "profiles": ["a"]})
    assert (both.status_code, both.get_json()["detail"]) == (
        400, "give profile or profiles, not both")
    page = api.call("GET", "/invitations?max=500", admin)
    assert (page.status_code, page.get_json()["error"]) == (400, "invalid-request")
    assert "max" in page.get_json()["detail"]
    unknown = api.call("GET", "/invitations?colour=red", admin)
    assert (unknown.status_code, unknown.get_json()["detail"]) == (400, "colour: unknown field")
