"""A user of many tenants: the access token stays under 8 KB (issue 14), read from real
logins on seed 004, and the API resolves the ``access_ref`` with the user's own token.

The user's catalog state is :func:`bridge.catalog.mapping.user_state` of an assignment to
500 dossiers, written as one account: what every write path writes, without creating 500
tenants first (the tenants' store has its own tests; the token only copies attributes).
"""

from __future__ import annotations

from typing import Any

import pytest

from bridge.catalog.load import load as load_catalog
from bridge.catalog.mapping import permission_values, user_state
from bridge.catalog.model import Assignment, Catalog, Tenant
from bridge.catalog.rules import effective_permissions
from bridge.keycloak import users as kc_users
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.login import Browserless

PASSWORD = "A-long-enough-pass-1"
EXAMPLE = REALM_CONFIG / "examples" / "004-accounting-portal"
TOKEN_LIMIT = 8 * 1024


def with_dossiers(catalog: Catalog, count: int) -> Catalog:
    """Seed 004 with ``count`` dossiers; every other one enables payments (so a holder of
    all gets one ``payments.use@<dossier>`` per enabling dossier)."""
    assert catalog.tenancy is not None
    tenants = tuple(Tenant(name=f"dossier-client-company-{i:04d}", label=f"Company {i}",
                           enables=("payments.use",) if i % 2 else ())
                    for i in range(count))
    return catalog.model_copy(update={"tenancy": catalog.tenancy.model_copy(
        update={"tenants": tenants})})


class Portal:
    """Seed 004 applied to a fresh realm; users written as their catalog state."""

    def __init__(self, realm: RealmUnderTest) -> None:
        realm.apply([REALM_CONFIG, EXAMPLE])
        self.realm = realm

    def user(self, name: str, catalog: Catalog, assignment: Assignment) -> None:
        state = user_state(catalog, assignment)
        kc_users.create(self.realm.admin, self.realm.name, {
            "username": name, "email": f"{name}@example.com", "firstName": "Many",
            "lastName": "Dossiers", "enabled": True, "emailVerified": True,
            "attributes": state.attribute_lists(),
            "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})

    def me_access(self, access_token: str) -> Any:
        from bridge.app import create_app
        from bridge.config import Settings

        app = create_app(Settings(
            keycloak_url=self.realm.keycloak.url, realm=self.realm.name, client_id="bridge",
            client_secret=self.realm.env["BRIDGE_CLIENT_SECRET"], catalog_path=str(EXAMPLE)))
        return app.test_client().get(
            "/api/v1/me/access", headers={"Authorization": f"Bearer {access_token}"})


def test_a_user_of_500_dossiers_gets_an_access_token_under_8_kb(
        fresh_realm: RealmUnderTest) -> None:
    portal = Portal(fresh_realm)
    catalog = with_dossiers(load_catalog(EXAMPLE), 500)
    dossiers = sorted(t.name for t in catalog.tenancy.tenants)  # type: ignore[union-attr]
    member = Assignment.of("external", "client-user", "full-access", tenants=dossiers)
    portal.user("many.dossiers", catalog, member)

    tokens = Browserless().sign_in(fresh_realm.issuer, "many.dossiers", PASSWORD)
    assert len(tokens.access_token) <= TOKEN_LIMIT, len(tokens.access_token)
    assert len(tokens.id_token or "") <= TOKEN_LIMIT
    claims = tokens.access_claims
    assert "tenants" not in claims and "permissions" not in claims
    assert claims["access_ref"].startswith("sha256:")
    assert claims["profile"] == "full-access" and claims["status"] == "client-user"

    response = portal.me_access(tokens.access_token)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["access_ref"] == claims["access_ref"]
    assert body["tenants"] == dossiers
    permissions = permission_values(effective_permissions(catalog, member))
    assert body["permissions"] == permissions
    assert "payments.use@dossier-client-company-0001" in body["permissions"]
    assert "payments.use@dossier-client-company-0002" not in body["permissions"]


@pytest.mark.parametrize("count", [1, 20])
def test_a_user_of_few_dossiers_carries_them_inline_and_the_api_answers_the_same(
        fresh_realm: RealmUnderTest, count: int) -> None:
    portal = Portal(fresh_realm)
    catalog = with_dossiers(load_catalog(EXAMPLE), count)
    dossiers = sorted(t.name for t in catalog.tenancy.tenants)  # type: ignore[union-attr]
    member = Assignment.of("external", "client-user", "full-access", tenants=dossiers)
    portal.user("few.dossiers", catalog, member)

    tokens = Browserless().sign_in(fresh_realm.issuer, "few.dossiers", PASSWORD)
    claims = tokens.access_claims
    assert claims["tenants"] == dossiers
    assert "access_ref" not in claims
    response = portal.me_access(tokens.access_token)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"tenants": claims["tenants"],
                                   "permissions": claims["permissions"], "access_ref": None}
