"""``/api/v1`` on a real Keycloak does what its OpenAPI document says: a bounded, seeded
schemathesis run (``tests/support/conformance.py``) with a real administrator's access token
from a login, real users in reach and out of reach, real invitations and mails."""

from __future__ import annotations

from bridge.catalog.model import Assignment
from bridge.local.mailsink import MailSink
from tests.conftest import RealmUnderTest
from tests.integration.test_invitations import _bridge
from tests.support import conformance


def test_schemathesis_finds_no_mismatch_and_no_5xx_on_keycloak(
        fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge = _bridge(fresh_realm, "004-accounting-portal")
    bridge.person("anna.admin", Assignment.of("external", "client-user", "administrator",
                                              tenants=["dossier-acme"]))
    dora = bridge.person("dora", Assignment.of("external", "client-user", "document-processing",
                                               tenants=["dossier-acme"]))
    olga = bridge.person("olga", Assignment.of("external", "client-user", "document-delivery",
                                               tenants=["dossier-bakery"]))
    token = bridge.token("anna.admin")
    pending = bridge.call("POST", "/invitations", token, {
        "email": bridge.email("pending"), "status": "client-user",
        "profile": "document-delivery", "tenants": ["dossier-acme"]})
    assert pending.status_code == 201, pending.get_json()
    invitation = pending.get_json()["invitation"]["id"]
    known = [
        ("POST", "/invitations", {"body": {
            "email": bridge.email("new.acme"), "status": "client-user", "language": "fr",
            "profile": "document-delivery", "tenants": ["dossier-acme"]}}),
        ("GET", "/invitations", {"query": {"max": 10, "state": "pending"}}),
        ("GET", "/invitations/{id}", {"path_parameters": {"id": invitation}}),
        ("POST", "/invitations/{id}/resend", {"path_parameters": {"id": invitation},
                                              "body": {"lifespan": 600}}),
        ("GET", "/users/{id}", {"path_parameters": {"id": dora}}),
        ("PATCH", "/users/{id}", {"path_parameters": {"id": dora},
                                  "body": {"profile": "full-access", "first_name": "Dora"}}),
        ("POST", "/users/{id}/deactivate", {"path_parameters": {"id": dora}}),
        ("POST", "/users/{id}/reactivate", {"path_parameters": {"id": dora}}),
        ("GET", "/me/perimeter", {}),
        ("GET", "/me/access", {}),
        ("DELETE", "/invitations/{id}", {"path_parameters": {"id": invitation}}),
    ]
    figures = conformance.run(bridge.http.application,
                              lambda: {"Authorization": f"Bearer {token}"}, examples=10,
                              path_ids=[dora, olga, invitation], known=known)
    print(figures.summary())
    assert figures.cases > 150
    assert {200, 201, 204, 400, 403, 404, 409} <= set(figures.statuses)
    assert figures.distinct() == [], "\n\n".join(figures.mismatches[:5])
    assert figures.server_errors == 0
