"""The access-request use-cases over Keycloak, as the server and the CLI build them."""

from __future__ import annotations

from bridge.access_requests.keycloak import KeycloakPeople, OrganizationTenants
from bridge.access_requests.mail import RealmSmtp
from bridge.access_requests.service import AccessRequests
from bridge.access_requests.web import PREFIX
from bridge.config import Settings
from bridge.invitations import AccessAdministration
from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway
from bridge.tenants.store import TenantStore


def access_requests(administration: AccessAdministration, gateway: AdminGateway,
                    settings: Settings) -> AccessRequests:
    def realm_settings() -> dict[str, object]:
        return kc_realm.get(gateway, settings.realm)

    def product() -> str:
        return str(realm_settings().get("displayName") or settings.realm)

    return AccessRequests(
        administration,
        OrganizationTenants(TenantStore.of(gateway, settings.realm, administration.catalog)),
        KeycloakPeople(gateway, settings.realm), RealmSmtp(realm_settings, settings.smtp_password),
        review_url=lambda request_id: f"{settings.public_url}{PREFIX}/{request_id}",
        product=product)
