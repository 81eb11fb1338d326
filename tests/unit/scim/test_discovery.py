"""Discovery endpoints (RFC 7644 §4) tell the truth about what the server does."""

import pytest
from scim_helpers import ACCESS, ENTERPRISE, GROUP_SCHEMA, LIST, USER_SCHEMA, Scim, assert_error

from scim.settings import ScimSettings

pytestmark = pytest.mark.unit


@pytest.fixture
def settings() -> ScimSettings:
    return ScimSettings(max_count=500, bulk_max_operations=50, bulk_max_payload_size=65536)


def test_service_provider_config_advertises_real_capabilities(scim: Scim) -> None:
    response = scim.get("/ServiceProviderConfig")
    assert response.status_code == 200
    body = response.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"] == {"supported": True}
    assert body["bulk"] == {"supported": True, "maxOperations": 50, "maxPayloadSize": 65536}
    assert body["filter"] == {"supported": True, "maxResults": 500}
    assert body["sort"] == {"supported": True}
    assert body["etag"] == {"supported": True}
    assert body["changePassword"] == {"supported": False}
    assert [s["type"] for s in body["authenticationSchemes"]] == ["oauthbearertoken"]
    assert body["meta"]["location"] == "http://localhost/scim/v2/ServiceProviderConfig"


def test_resource_types_list_user_extensions_and_group(scim: Scim) -> None:
    body = scim.get("/ResourceTypes").get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 2
    by_id = {rt["id"]: rt for rt in body["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schema"] == USER_SCHEMA
    assert {e["schema"] for e in by_id["User"]["schemaExtensions"]} == {ENTERPRISE, ACCESS}
    assert by_id["Group"]["schema"] == GROUP_SCHEMA
    single = scim.get("/ResourceTypes/Group")
    assert single.status_code == 200
    assert single.get_json()["endpoint"] == "/Groups"
    assert_error(scim.get("/ResourceTypes/Pet"), 404)


def test_schemas_describe_the_access_extension(scim: Scim) -> None:
    body = scim.get("/Schemas").get_json()
    ids = {s["id"] for s in body["Resources"]}
    assert ids == {USER_SCHEMA, ENTERPRISE, ACCESS, GROUP_SCHEMA}
    access = scim.get(f"/Schemas/{ACCESS}").get_json()
    attributes = {a["name"]: a for a in access["attributes"]}
    assert set(attributes) == {"userType", "status", "profile", "profiles", "toggles",
                               "perimeter", "tenants"}
    assert attributes["toggles"]["multiValued"] is True
    assert attributes["profiles"]["multiValued"] is True  # seed 003: several roles
    assert attributes["profile"]["multiValued"] is False
    assert attributes["tenants"]["type"] == "string"
    perimeter = attributes["perimeter"]
    assert perimeter["type"] == "complex" and perimeter["multiValued"] is True
    assert {s["name"] for s in perimeter["subAttributes"]} == {"dimension", "value"}


def test_group_schema_says_members_display_is_computed(scim: Scim) -> None:
    from scim2_models import Context, Schema

    body = scim.get(f"/Schemas/{GROUP_SCHEMA}").get_json()
    Schema.model_validate(body, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)  # still a Schema
    assert (body["name"], body["description"]) == ("Group", "Group")
    members = {a["name"]: a for a in body["attributes"]}["members"]
    assert members["mutability"] == "readWrite" and members["returned"] == "default"
    sub = {s["name"]: (s["mutability"], s["returned"]) for s in members["subAttributes"]}
    assert sub == {
        "value": ("immutable", "default"),
        "$ref": ("immutable", "default"),
        "type": ("immutable", "default"),
        "display": ("readOnly", "request"),  # RFC 7643 §8.7.1 lists value, $ref, type only
    }


def test_discovery_refuses_filters(scim: Scim) -> None:
    assert_error(scim.get('/Schemas?filter=id eq "x"'), 403)
