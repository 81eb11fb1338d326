"""Each seed's rules, read from tokens of real logins (auth code + PKCE on the portal)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import expected_claims, user_state
from bridge.catalog.model import Assignment
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from bridge.provisioning.catalog_access import CatalogAccess
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_scim_support import Scim, make_app
from tests.support.login import Browserless, FlowError

PASSWORD = "A-long-enough-pass-1"
CLAIMS = ("user_type", "status", "profile", "permissions", "roles", "tenants", "perimeter",
          "perimeter_ref")


class Seed:
    """A fresh realm with one seed's catalog, users made through SCIM."""

    def __init__(self, realm: RealmUnderTest, example: str) -> None:
        directory = REALM_CONFIG / "examples" / example
        realm.apply([REALM_CONFIG, directory])
        self.realm = realm
        self.catalog = load_catalog(directory)
        backend = KeycloakScimBackend(realm.keycloak.admin(), realm.name,
                                      domain=CatalogAccess(self.catalog))
        self.scim = Scim(make_app(backend).test_client())

    def user(self, name: str, **access: Any) -> str:
        response = self.scim.post("/Users", {
            "schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
            "name": {"givenName": "Test", "familyName": name.title()},
            "emails": [{"value": f"{name}@example.com", "primary": True}],
            ACCESS_SCHEMA: access})
        assert response.status_code == 201, response.get_json()
        user_id = response.get_json()["id"]
        self.realm.admin.put(f"/{self.realm.name}/users/{user_id}/reset-password",
                             {"type": "password", "value": PASSWORD, "temporary": False})
        self.realm.admin.put(f"/{self.realm.name}/users/{user_id}", {"emailVerified": True})
        return user_id

    def login(self, name: str) -> dict[str, Any]:
        tokens = Browserless().sign_in(self.realm.issuer, name, PASSWORD)
        return tokens.access_claims

    def expected(self, assignment: Assignment) -> dict[str, object]:
        return expected_claims(self.catalog, user_state(self.catalog, assignment))


def _catalog_claims(claims: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k in CLAIMS}


def test_000_client_sees_exactly_its_perimeter(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "000-field-services")
    seed.user("client.one", userType="external", status="client", perimeter=[
        {"dimension": "project", "value": "p1"}, {"dimension": "project", "value": "p2"},
        {"dimension": "team", "value": "t1"}])
    claims = seed.login("client.one")
    assert claims["perimeter"] == {"project": ["p1", "p2"], "team": ["t1"]}
    assert claims["status"] == "client" and claims["user_type"] == "external"
    writes = [p for p in claims["permissions"] if p.endswith(".write")]
    assert writes == []
    assert sorted(claims["roles"]) == sorted(claims["permissions"])
    assert _catalog_claims(claims) == seed.expected(Assignment.of(
        "external", "client", perimeter={"project": ["p1", "p2"], "team": ["t1"]}))


def test_003_technician_holds_only_its_role_and_needs_otp(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "003-childcare-technician")
    seed.user("tech.one", userType="external", status="external-technician",
              profile="external-technician")
    client = Browserless()
    tokens = client.sign_in(fresh_realm.issuer, "tech.one", PASSWORD)  # enrols OTP
    assert "login-login-config-totp" in client.seen
    claims = tokens.access_claims
    assert sorted(claims["roles"]) == ["boards.manage", "doors.manage", "tv.manage"]
    assert claims["permissions"] == ["boards.manage", "doors.manage", "tv.manage"]
    # A later login without the code issues no token.
    with pytest.raises(FlowError):
        Browserless().sign_in(fresh_realm.issuer, "tech.one", PASSWORD)


def test_004_document_delivery_has_no_figures_or_reports(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "004-accounting-portal")
    seed.user("delivery.one", userType="external", status="client-user",
              profile="document-delivery", tenants=["dossier-acme"])
    claims = seed.login("delivery.one")
    assert claims["profile"] == "document-delivery"
    assert not [p for p in claims["permissions"]
                if p.split("@")[0] in ("figures.view", "reports.view")]
    assert claims["tenants"] == ["dossier-acme"]


def test_004_payments_widen_full_access_only_in_the_enabling_dossier(
        fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "004-accounting-portal")
    seed.user("full.one", userType="external", status="client-user", profile="full-access",
              tenants=["dossier-acme", "dossier-bakery"])
    claims = seed.login("full.one")
    assert "payments.use@dossier-acme" in claims["permissions"]
    assert "payments.use" not in claims["permissions"]
    assert "payments.use@dossier-bakery" not in claims["permissions"]
    assert "figures.view" in claims["permissions"]  # enabled in both dossiers


def test_001_contact_with_basic_access(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "001-project-management")
    seed.user("contact.one", userType="external", status="contact", profile="client-basic",
              perimeter=[{"dimension": "company", "value": "acme"},
                         {"dimension": "project", "value": "p7"}])
    claims = seed.login("contact.one")
    assert _catalog_claims(claims) == seed.expected(Assignment.of(
        "external", "contact", "client-basic",
        perimeter={"company": ["acme"], "project": ["p7"]}))
    assert "projects.audit" not in claims["permissions"]


def test_002_toggles_layer_on_the_profile(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "002-crm-roles-toggles")
    seed.user("staff.plain", userType="internal", status="staff", profile="user")
    seed.user("staff.toggled", userType="internal", status="staff", profile="user",
              toggles=["shared-view", "no-payments"])
    plain = seed.login("staff.plain")["permissions"]
    toggled = seed.login("staff.toggled")["permissions"]
    assert "activities.view-shared" not in plain and "activities.view-shared" in toggled
    assert ("payments.view" in plain) and ("payments.view" not in toggled)


def test_000_large_perimeter_goes_by_reference_resolved_by_the_bridge(
        fresh_realm: RealmUnderTest) -> None:
    from bridge.app import create_app
    from bridge.config import Settings

    seed = Seed(fresh_realm, "000-field-services")
    projects = [f"project-{i:04d}" for i in range(1000)]
    seed.user("client.big", userType="external", status="client",
              perimeter=[{"dimension": "project", "value": p} for p in projects])
    tokens = Browserless().sign_in(fresh_realm.issuer, "client.big", PASSWORD)
    claims = tokens.access_claims
    assert "perimeter" not in claims
    assert len(tokens.access_token) < 8 * 1024
    app = create_app(Settings(
        keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name, client_id="bridge",
        client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"],
        catalog_path=str(REALM_CONFIG / "examples" / "000-field-services")))
    response = app.test_client().get(
        "/api/v1/me/perimeter", headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["perimeter"] == {"project": projects}
    assert body["perimeter_ref"] == claims["perimeter_ref"]


def test_changes_through_scim_and_cli_show_in_the_next_token(
        fresh_realm: RealmUnderTest) -> None:
    from tests.integration.test_invitations import _bridge

    seed = Seed(fresh_realm, "004-accounting-portal")
    user_id = seed.user("changing.one", userType="external", status="client-user",
                        profile="document-delivery", tenants=["dossier-acme"])
    first = Browserless().sign_in(fresh_realm.issuer, "changing.one", PASSWORD)
    assert first.access_claims["profile"] == "document-delivery"
    assert first.id_claims["profile"] == "document-delivery"  # ID tokens carry them too

    patched = seed.scim.patch(f"/Users/{user_id}", [
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:profile", "value": "full-feedback"}])
    assert patched.status_code == 200, patched.get_json()
    second = Browserless().sign_in(fresh_realm.issuer, "changing.one", PASSWORD)
    assert second.access_claims["profile"] == "full-feedback"
    assert "figures.view" in second.access_claims["permissions"]

    cli = _bridge(fresh_realm, "004-accounting-portal").cli(
        "user", "set", "changing.one@example.com", "--profile", "full-access",
        "--tenant", "dossier-acme", "--tenant", "dossier-carpentry")
    assert cli.exit_code == 0, cli.output
    third = Browserless().sign_in(fresh_realm.issuer, "changing.one", PASSWORD)
    assert third.access_claims["profile"] == "full-access"
    assert third.access_claims["tenants"] == ["dossier-acme", "dossier-carpentry"]
    assert "financial.view@dossier-carpentry" in third.access_claims["permissions"]

    refused = _bridge(fresh_realm, "004-accounting-portal").cli(
        "user", "set", "changing.one@example.com", "--profile", "owner")
    assert refused.exit_code == 1
    assert "unknown.profile" in refused.output
