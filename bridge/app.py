"""The bridge's WSGI application factory (``gunicorn "bridge.app:create_app()"``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from bridge import locks, metrics
from bridge.access_requests import web as review
from bridge.access_requests.setup import access_requests
from bridge.api import create_api_blueprint
from bridge.auth import ActorAuthenticator, RealmKeys, ScimAuthenticator
from bridge.catalog.load import load as load_catalog
from bridge.config import Settings
from bridge.health import health
from bridge.invitations import AccessAdministration, KeycloakDirectory
from bridge.keycloak.client import AdminGateway
from bridge.observability import web as observability
from bridge.observability.context import request_id_or_new
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.audited import AuditedScimBackend
from bridge.provisioning.catalog_access import CatalogAccess
from bridge.tenants.service import TenantService
from scim.blueprint import Authenticator, create_scim_blueprint
from scim.settings import ScimSettings


def create_app(settings: Settings | None = None,
               overrides: Mapping[str, Any] | None = None, *,
               gateway: AdminGateway | None = None,
               authenticate: Authenticator | None = None) -> Flask:
    """Build an app: settings from the environment unless given, then ``overrides``.

    ``gateway`` and ``authenticate`` default to the bridge's service account and to
    Keycloak-token / static-token authentication; tests may pass their own.
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    # First: the request pipeline (one WSGI layer around the app: request id, request line,
    # the observers below), so every hook, log line and Keycloak call of a request knows its id.
    observability.init_app(app)
    app.config["BRIDGE_SETTINGS"] = settings
    app.config.update(overrides or {})
    gateway = gateway or AdminGateway.with_client_credentials(
        settings.keycloak_url, settings.realm, settings.client_id, settings.client_secret)
    app.extensions["bridge.gateway"] = gateway
    # /metrics; request counts and latency (an observer of the pipeline); the gateway's
    # admin-call count, exported.
    metrics.install(app)
    gateway.calls.listeners.append(metrics.AdminCalls())
    # One validator (bridge.auth), one key cache for both surfaces: the same answer per fault.
    realm_keys = RealmKeys.of_realm(settings.keycloak_url, settings.realm,
                                    issuers=settings.token_issuers,
                                    max_age=settings.jwks_max_age)
    if authenticate is None:
        authenticate = ScimAuthenticator(
            None, settings.client_id, settings.static_tokens,
            jwks=realm_keys).scim
    # One lock backend for every writer of users and groups (SCIM and /api/v1): shared by
    # the replicas through BRIDGE_LOCK_URL, in-process otherwise.
    write_locks = locks.from_settings(settings.lock_url, settings.lock_timeout)
    domain = None
    administration = None
    tenants = None
    if settings.catalog_path:
        catalog = load_catalog(settings.catalog_path)
        domain = CatalogAccess(catalog, on_refusal=metrics.catalog_refusal)
        administration = AccessAdministration(KeycloakDirectory(gateway, settings.realm),
                                              catalog, locks=write_locks,
                                              lock_scope=settings.realm)
        if catalog.tenancy is not None:
            # /api/v1/tenants: tenants as data (Keycloak Organizations), same locks.
            tenants = TenantService(gateway, settings.realm, catalog, locks=write_locks)
    backend = KeycloakScimBackend(gateway, settings.realm,
                                  managed_root=settings.scim_managed_root, domain=domain,
                                  group_cache_ttl=settings.group_cache_ttl, locks=write_locks,
                                  max_scan=settings.scim_max_scan)
    app.extensions["bridge.scim_backend"] = backend
    # Member PATCHes on large groups answer without echoing every member (RFC 7644 3.5.2
    # lets the server choose; clients wanting them ask with ``attributes=members``). The scan
    # bound the backend enforces is advertised by the SCIM layer, so both get one value.
    scim_settings = ScimSettings(group_patch_returns_members=False,
                                 max_scan=settings.scim_max_scan,
                                 bulk_time_budget=settings.scim_bulk_time_budget)
    # Every SCIM write (a /Bulk operation included) is one audit event (bridge.audit).
    app.register_blueprint(create_scim_blueprint(AuditedScimBackend(backend), authenticate,
                                                 settings=scim_settings,
                                                 request_id=request_id_or_new))
    requests = None
    if administration is not None and settings.session_secret:
        # Access requests need the review pages' shared session key (BRIDGE_SESSION_SECRET).
        requests = access_requests(administration, gateway, settings)
        review.install(app, requests, secret=settings.session_secret,
                       public_url=settings.public_url, issuer=settings.issuer,
                       client_id=settings.review_client_id)
    clients = [administration.catalog.client] if administration else ["portal"]
    app.register_blueprint(create_api_blueprint(
        administration, ActorAuthenticator(None, clients, jwks=realm_keys).authenticate,
        on_refusal=metrics.catalog_refusal, tenants=tenants, access_requests=requests))
    app.register_blueprint(health)
    return app

