"""The protocol layer serves the RFC's schemas only; an application registers its User
extensions through the backend it gives the server (issue 11: ``scim/`` knows no domain)."""

from __future__ import annotations

from typing import Any

import pytest
from scim2_models import Extension
from scim2_models.urn import URN
from scim_helpers import ACCESS, ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Scim, assert_error, make_app

from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.access_schema import ACCESS_RESOURCES
from scim.memory import MemoryBackend
from scim.resources import CORE, ServedResources

pytestmark = pytest.mark.unit

BADGE = "urn:example:params:scim:schemas:extension:badge:2.0:User"


class Badge(Extension):
    """An extension only this test knows: the server must serve it as it serves any."""

    __schema__ = URN(BADGE)

    number: str | None = None
    lanyard: bool | None = None


def _scim(resources: ServedResources | None = None) -> Scim:
    backend = MemoryBackend() if resources is None else MemoryBackend(resources=resources)
    return Scim(make_app(backend).test_client())


def _schema_ids(scim: Scim) -> list[str]:
    return [s["id"] for s in scim.get("/Schemas").get_json()["Resources"]]


def _user_extensions(scim: Scim) -> list[str]:
    user = scim.get("/ResourceTypes/User").get_json()
    return [e["schema"] for e in user["schemaExtensions"]]


def test_a_backend_given_no_extension_serves_the_rfc_schemas_only() -> None:
    scim = _scim()
    assert MemoryBackend().resources is CORE
    assert _schema_ids(scim) == [USER_SCHEMA, ENTERPRISE, GROUP_SCHEMA]
    assert _user_extensions(scim) == [ENTERPRISE]
    assert_error(scim.get(f"/Schemas/{ACCESS}"), 404)
    refused = scim.post("/Users", {"schemas": [USER_SCHEMA, ACCESS], "userName": "a",
                                   ACCESS: {"tenants": ["t"]}})
    assert_error(refused, 400, "invalidSyntax")


def test_a_registered_extension_is_published_validated_and_round_trips() -> None:
    scim = _scim(ServedResources(user_extensions=[Badge]))
    assert _schema_ids(scim) == [USER_SCHEMA, ENTERPRISE, BADGE, GROUP_SCHEMA]
    assert _user_extensions(scim) == [ENTERPRISE, BADGE]
    attributes = {a["name"]: a["type"]
                  for a in scim.get(f"/Schemas/{BADGE}").get_json()["attributes"]}
    assert attributes == {"number": "string", "lanyard": "boolean"}
    # Entra's "True" for a boolean is coerced in the registered extension as in the core.
    created = scim.create_user("badged", schemas=[USER_SCHEMA, BADGE],
                               **{BADGE: {"number": "B-7", "lanyard": "True"}})
    assert created[BADGE] == {"number": "B-7", "lanyard": True}
    found = scim.get(f'/Users?filter={BADGE}:number eq "B-7"').get_json()
    assert [u["id"] for u in found["Resources"]] == [created["id"]]
    patched = scim.patch(f"/Users/{created['id']}",
                         [{"op": "replace", "path": f"{BADGE}:number", "value": "B-8"}])
    assert patched.get_json()[BADGE]["number"] == "B-8"
    wrong = scim.patch(f"/Users/{created['id']}",
                       [{"op": "replace", "path": f"{BADGE}:lanyard", "value": [1]}])
    body: dict[str, Any] = assert_error(wrong, 400, "invalidValue")
    assert "Badge" not in body["detail"]  # an internal class name never reaches a client


def test_the_bridge_registers_the_access_extension_through_its_backend() -> None:
    assert KeycloakScimBackend.resources is ACCESS_RESOURCES
    scim = _scim(KeycloakScimBackend.resources)
    assert _schema_ids(scim) == [USER_SCHEMA, ENTERPRISE, ACCESS, GROUP_SCHEMA]
    assert _user_extensions(scim) == [ENTERPRISE, ACCESS]
