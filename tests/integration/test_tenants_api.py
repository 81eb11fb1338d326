"""``/api/v1/tenants`` on the real Keycloak with real tokens (seed 004): the firm's staff
manage every dossier, a dossier's Administrator renames its own and may not change caps;
a cap change and a suspension show in the members' next tokens."""

from __future__ import annotations

from bridge.catalog.model import Assignment
from bridge.keycloak import organizations as kc_orgs
from bridge.tenants.store import TenantStore
from tests.conftest import RealmUnderTest
from tests.integration.test_invitations import PASSWORD, _bridge
from tests.support.login import Browserless


def test_tenants_api_delegation_and_next_tokens(fresh_realm: RealmUnderTest) -> None:
    bridge = _bridge(fresh_realm, "004-accounting-portal")
    bridge.person("sam.staff", Assignment.of("internal", "firm-staff"))
    anna_id = bridge.person("anna.admin", Assignment.of(
        "external", "client-user", "administrator", tenants=["dossier-acme"]))
    store = TenantStore.of(fresh_realm.admin, fresh_realm.name, bridge.catalog)
    acme = store.get("dossier-acme")  # a seed tenant, created by the realm apply
    assert acme.id is not None
    kc_orgs.add_member(fresh_realm.admin, fresh_realm.name, acme.id, anna_id)
    staff, anna = bridge.token("sam.staff"), bridge.token("anna.admin")

    def permissions() -> list[str]:
        claims = Browserless().sign_in(fresh_realm.issuer, "anna.admin", PASSWORD)
        return list(claims.access_claims.get("permissions") or [])

    assert "payments.use" in permissions() and "financial.view" not in permissions()

    # A dossier Administrator may not change caps, nor suspend: 403 naming the rule.
    refused = bridge.call("PUT", "/tenants/dossier-acme/caps", anna,
                          {"caps": ["payments.use", "financial.view"]})
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["error"] == "delegation.tenant-manager"
    assert "dossier-administrators-rename" in refused.get_json()["detail"]
    assert bridge.call("POST", "/tenants/dossier-acme/suspend", anna).status_code == 403
    # It renames its own dossier, not another; it lists only its own.
    renamed = bridge.call("PATCH", "/tenants/dossier-acme", anna, {"label": "ACME SA"})
    assert renamed.status_code == 200, renamed.get_json()
    assert renamed.get_json()["label"] == "ACME SA"
    other = bridge.call("PATCH", "/tenants/dossier-bakery", anna, {"label": "Mine"})
    assert other.status_code == 403 and other.get_json()["error"] == "delegation.tenant"
    listed = bridge.call("GET", "/tenants", anna).get_json()
    assert [t["alias"] for t in listed["items"]] == ["dossier-acme"]
    assert bridge.call("GET", "/tenants/dossier-bakery", anna).status_code == 404

    # The firm's staff add a dossier and see them all.
    added = bridge.call("POST", "/tenants", staff, {"alias": "dossier-delta",
                                                    "label": "Delta SA"})
    assert added.status_code == 201, added.get_json()
    assert added.headers["Location"] == "/api/v1/tenants/dossier-delta"
    every = bridge.call("GET", "/tenants?max=10", staff).get_json()
    assert {"dossier-acme", "dossier-bakery", "dossier-carpentry", "dossier-delta"} <= {
        t["alias"] for t in every["items"]}
    assert bridge.call("POST", "/tenants", staff, {"alias": "dossier-delta",
                                                   "label": "Again"}).status_code == 409

    # A cap change recomputes the members: the next token shows it.
    changed = bridge.call("PUT", "/tenants/dossier-acme/caps", staff,
                          {"caps": ["payments.use", "financial.view"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["members_written"] == 1
    assert "financial.view" in permissions()
    outside = bridge.call("PUT", "/tenants/dossier-acme/caps", staff, {"caps": ["nope.x"]})
    assert outside.status_code == 400 and outside.get_json()["error"] == "tenant.caps"

    # Suspended: its permissions leave the next token; resumed: they come back.
    suspended = bridge.call("POST", "/tenants/dossier-acme/suspend", staff)
    assert suspended.get_json()["state"] == "suspended"
    assert "payments.use" not in permissions()
    assert bridge.call("GET", "/tenants/dossier-acme", staff).get_json()["enabled"] == []
    bridge.call("POST", "/tenants/dossier-acme/resume", staff)
    assert "payments.use" in permissions()

    # A dossier with members is not deleted without remove_members; an empty one is.
    busy = bridge.call("DELETE", "/tenants/dossier-acme", staff)
    assert busy.status_code == 409 and busy.get_json()["error"] == "tenant.has-members"
    assert bridge.call("DELETE", "/tenants/dossier-delta", staff).status_code == 204
    assert bridge.call("GET", "/tenants/dossier-delta", staff).status_code == 404
