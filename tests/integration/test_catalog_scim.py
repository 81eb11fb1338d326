"""The access catalog on the SCIM write path: rules refuse, groups and attributes follow."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.catalog.load import load as load_catalog
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from bridge.provisioning.catalog_access import CatalogAccess
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_scim_support import Scim, make_app

EXAMPLES = REALM_CONFIG / "examples"


def _scim(realm: RealmUnderTest, example: str) -> tuple[Scim, Path]:
    directory = EXAMPLES / example
    realm.apply([REALM_CONFIG, directory])
    backend = KeycloakScimBackend(realm.keycloak.admin(), realm.name,
                                  domain=CatalogAccess(load_catalog(directory)))
    return Scim(make_app(backend).test_client()), directory


def _user(name: str, **access: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
            "emails": [{"value": f"{name}@example.com", "primary": True}],
            ACCESS_SCHEMA: access}


def _groups(realm: RealmUnderTest, user_id: str) -> list[str]:
    found = realm.admin.get(f"/{realm.name}/users/{user_id}/groups")
    return sorted(g["path"] for g in found)


def _organizations(realm: RealmUnderTest, user_id: str) -> list[str]:
    """The aliases of the organizations (tenants) the user is a member of."""
    return sorted(o["alias"] for o in realm.admin.get(
        f"/{realm.name}/organizations/members/{user_id}/organizations"))


def _attributes(realm: RealmUnderTest, user_id: str) -> dict[str, list[str]]:
    return realm.admin.get(f"/{realm.name}/users/{user_id}")["attributes"]


def test_004_profile_and_dossier_become_groups_and_permissions(
        fresh_realm: RealmUnderTest) -> None:
    scim, _ = _scim(fresh_realm, "004-accounting-portal")
    created = scim.post("/Users", _user(
        "delivery.user", userType="external", status="client-user",
        profile="document-delivery", tenants=["dossier-acme"]))
    assert created.status_code == 201, created.get_json()
    user_id = created.get_json()["id"]
    assert created.get_json()[ACCESS_SCHEMA]["profile"] == "document-delivery"
    assert _groups(fresh_realm, user_id) == [
        "/bridge/catalog/profile/document-delivery",
        "/bridge/catalog/status/client-user",
    ]
    assert _organizations(fresh_realm, user_id) == ["dossier-acme"]
    permissions = _attributes(fresh_realm, user_id)["permissions"]
    assert "figures.view" not in permissions and "reports.view" not in permissions
    assert "documents.import" in permissions

    # A change of profile moves the user between groups and recomputes permissions.
    patched = scim.patch(f"/Users/{user_id}", [
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:profile", "value": "full-access"}])
    assert patched.status_code == 200, patched.get_json()
    assert _groups(fresh_realm, user_id) == [
        "/bridge/catalog/profile/full-access",
        "/bridge/catalog/status/client-user",
    ]
    assert _organizations(fresh_realm, user_id) == ["dossier-acme"]
    assert "figures.view" in _attributes(fresh_realm, user_id)["permissions"]


def test_003_technician_gets_otp_required_and_nothing_else(
        fresh_realm: RealmUnderTest) -> None:
    scim, _ = _scim(fresh_realm, "003-childcare-technician")
    created = scim.post("/Users", _user("tech.one", userType="external",
                                        status="external-technician",
                                        profile="external-technician"))
    assert created.status_code == 201, created.get_json()
    user = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{created.get_json()['id']}")
    assert user["requiredActions"] == ["CONFIGURE_TOTP"]
    assert _groups(fresh_realm, user["id"]) == [
        "/bridge/catalog/profile/external-technician",
        "/bridge/catalog/status/external-technician",
    ]


@pytest.mark.parametrize(("example", "access", "rule"), [
    ("004-accounting-portal",
     {"userType": "external", "status": "partner", "profile": "full-access"},
     "unknown.status"),
    ("004-accounting-portal",
     {"userType": "external", "status": "client-user", "profile": "superuser"},
     "unknown.profile"),
    ("003-childcare-technician",
     {"userType": "internal", "status": "employee", "profile": "external-technician"},
     "status.profile"),
    ("003-childcare-technician",
     {"userType": "internal", "status": "external-technician",
      "profile": "external-technician"},
     "status.user-type"),
    ("000-field-services",
     {"userType": "external", "status": "client", "toggles": ["manage-alerts"]},
     "status.forbidden-permission"),
    ("000-field-services",
     {"userType": "external", "status": "client",
      "perimeter": [{"dimension": "building", "value": "b1"}]},
     "unknown.dimension"),
])
def test_rule_violations_are_refused_with_the_rule_named(
        fresh_realm: RealmUnderTest, example: str, access: dict[str, Any], rule: str) -> None:
    scim, _ = _scim(fresh_realm, example)
    response = scim.post("/Users", _user("refused.user", **access))
    assert response.status_code == 400
    body = response.get_json()
    assert body["scimType"] == "invalidValue"
    assert body["detail"].startswith(f"{rule}:"), body["detail"]
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users",
                                 username="refused.user", exact="true") == []
