"""A brokered login end to end, on the production example: a second realm of the test
Keycloak is a company's own OpenID Provider, declared as code
(realm-config/examples/company-idp). Staff the HR system provisioned over SCIM sign in to
``portal`` through it: the first broker login links the HR account by its e-mail, and the
portal's token carries the catalog's claims for that person. Someone the HR system does not
know gets no account by signing in upstream."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import expected_claims, user_state
from bridge.catalog.model import Assignment, Catalog
from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway
from bridge.keycloak.errors import NotFound
from bridge.local.mailsink import MailSink
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from bridge.provisioning.catalog_access import CatalogAccess
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, KeycloakUnderTest, RealmUnderTest, realm_env
from tests.integration.test_scim_support import Scim, make_app
from tests.support.login import Browserless, LoginError

PRODUCTION = REALM_CONFIG / "examples" / "production"
COMPANY_IDP = REALM_CONFIG / "examples" / "company-idp"
CLAIMS = ("user_type", "status", "profile", "permissions", "roles", "tenants", "perimeter",
          "perimeter_ref")
UPSTREAM_PASSWORD = "Upstream-pass-" + secrets.token_hex(4)


def production_env(keycloak: KeycloakUnderTest, product: str, upstream: str,
                   mail_sink: MailSink) -> dict[str, str]:
    """Every variable the production example and the company IdP ask for."""
    issuer = f"{keycloak.url}/realms/{upstream}"
    return {**realm_env(mail_sink),
            "BRIDGE_REALM": product, "COMPANY_IDP_REALM": upstream,
            "STAFF_IDP_ISSUER": issuer,
            "STAFF_IDP_AUTHORIZATION_URL": f"{issuer}/protocol/openid-connect/auth",
            "STAFF_IDP_TOKEN_URL": f"{issuer}/protocol/openid-connect/token",
            "STAFF_IDP_JWKS_URL": f"{issuer}/protocol/openid-connect/certs",
            "STAFF_IDP_CLIENT_ID": "access-broker",
            "STAFF_IDP_CLIENT_SECRET": secrets.token_urlsafe(24),
            "STAFF_IDP_REDIRECT_URI": f"{keycloak.url}/realms/{product}/broker/staff/endpoint"}


@dataclass
class Brokered:
    product: RealmUnderTest
    upstream: RealmUnderTest
    catalog: Catalog
    scim: Scim

    def upstream_user(self, username: str, email: str) -> str:
        return str(self.upstream.admin.post(f"/{self.upstream.name}/users", {
            "username": username, "email": email, "emailVerified": True, "enabled": True,
            "firstName": "Jane", "lastName": "Doe",
            "credentials": [{"type": "password", "value": UPSTREAM_PASSWORD,
                             "temporary": False}]}))

    def hr_provisions(self, user_name: str, email: str, **access: Any) -> str:
        """The HR system's SCIM create (no password: staff sign in upstream)."""
        response = self.scim.post("/Users", {
            "schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": user_name,
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": email, "primary": True}], ACCESS_SCHEMA: access})
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def staff_sign_in(self, username: str) -> dict[str, Any]:
        client = Browserless()
        client.authorize(self.product.issuer)
        upstream_page = client.choose_identity_provider("staff")
        assert f"/realms/{self.upstream.name}/" in upstream_page.url
        return client.login(username, UPSTREAM_PASSWORD).access_claims


@pytest.fixture
def brokered(keycloak: KeycloakUnderTest, admin: AdminGateway,
             mail_sink: MailSink) -> Iterator[Brokered]:
    suffix = uuid.uuid4().hex[:10]
    product, upstream = f"t-{suffix}", f"t-{suffix}-co"
    env = production_env(keycloak, product, upstream, mail_sink)
    company = RealmUnderTest(upstream, COMPANY_IDP, env, keycloak, admin)
    realm = RealmUnderTest(product, PRODUCTION, env, keycloak, admin)
    try:
        company.apply()
        realm.apply()
        catalog = load_catalog(PRODUCTION)
        backend = KeycloakScimBackend(keycloak.admin(), product, domain=CatalogAccess(catalog))
        yield Brokered(realm, company, catalog, Scim(make_app(backend).test_client()))
    finally:
        for name in (product, upstream):
            with contextlib.suppress(NotFound):  # a realm never made
                kc_realm.delete(admin, name)


def test_staff_sign_in_through_the_company_idp_with_the_catalogs_claims(
        brokered: Brokered) -> None:
    assert brokered.product.plan().empty and brokered.upstream.plan().empty
    email = "jane.doe@company.example"
    brokered.upstream_user("jdoe", email)
    user_id = brokered.hr_provisions("jane.doe", email, userType="internal", status="employee",
                                     profile="operations")
    claims = brokered.staff_sign_in("jdoe")
    # The HR system's account, linked; not a new one.
    assert claims["sub"] == user_id
    assert claims["azp"] == "portal"
    assert {k: v for k, v in claims.items() if k in CLAIMS} == expected_claims(
        brokered.catalog, user_state(brokered.catalog, Assignment.of(
            "internal", "employee", profile="operations")))
    assert "interventions.write" in claims["permissions"]
    assert "users.manage" not in claims["permissions"]
    base = f"/{brokered.product.name}/users/{user_id}"
    [link] = brokered.product.admin.get(f"{base}/federated-identity")
    assert (link["identityProvider"], link["userName"]) == ("staff", "jdoe")
    # The IdP mapper kept which upstream account this is.
    upstream_id = brokered.upstream.admin.get(f"/{brokered.upstream.name}/users",
                                              username="jdoe", exact="true")[0]["id"]
    assert brokered.product.admin.get(base)["attributes"]["staff_idp_subject"] == [upstream_id]
    # A second sign-in (a new browser) goes straight through: the account is linked.
    assert brokered.staff_sign_in("jdoe")["sub"] == user_id


def test_someone_hr_does_not_know_gets_no_account(brokered: Brokered) -> None:
    brokered.upstream_user("intruder", "intruder@company.example")
    with pytest.raises(LoginError, match="User intruder authenticated with identity provider "
                                         "staff does not exist"):
        brokered.staff_sign_in("intruder")
    assert brokered.product.admin.get(f"/{brokered.product.name}/users",
                                      email="intruder@company.example") == []
