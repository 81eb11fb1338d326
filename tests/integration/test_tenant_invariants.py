"""Seed 004's tenant invariant and default on the real Keycloak (issue 14): a dossier's
last active Administrator cannot be deactivated, deleted, demoted or removed from it
(SCIM 409 and API 409, the rule named first; the CLI exits 1); with two Administrators one
may go; the first user invited into a dossier made at runtime, without a profile, is its
Administrator (its token says so); and two replicas deactivating the last two
Administrators at once, on one PostgreSQL lock server, leave one."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bridge.app import create_app
from bridge.catalog.load import load as load_catalog
from bridge.catalog.model import Assignment
from bridge.config import Settings
from bridge.local.mailsink import MailSink
from bridge.local.postgres import LocalPostgres
from bridge.locks import LockTimeout, PostgresLocks
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from bridge.provisioning.catalog_access import CatalogAccess
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_catalog_scim import EXAMPLES, _scim, _user
from tests.integration.test_invitations import (
    NEW_PASSWORD,
    _activation_link,
    _bridge,
)
from tests.integration.test_scim_support import PATCH_OP, Scim, authenticate, make_app
from tests.support.concurrency import together
from tests.support.login import Browserless

SEED = "004-accounting-portal"
ADMIN = {"userType": "external", "status": "client-user", "profile": "administrator"}
RULE = "tenant.invariant: invariant 'one-administrator': dossier 'dossier-acme' must keep"



def _deactivate(scim: Scim, user_id: str) -> Any:
    return scim.call("PATCH", f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [
        {"op": "replace", "value": {"active": False}}]})


def _refused_409(response: Any) -> None:
    assert response.status_code == 409, response.get_json()
    body = response.get_json()
    assert "scimType" not in body
    assert body["detail"].startswith(RULE), body["detail"]


# -- SCIM -------------------------------------------------------------------------------------

def test_scim_refuses_to_take_the_last_administrator_from_a_dossier(
        fresh_realm: RealmUnderTest) -> None:
    scim, _ = _scim(fresh_realm, SEED)
    anna = scim.post("/Users", _user("anna.admin", **ADMIN, tenants=["dossier-acme"]))
    assert anna.status_code == 201, anna.get_json()
    anna_id = anna.get_json()["id"]

    _refused_409(_deactivate(scim, anna_id))
    demoted = _user("anna.admin", **{**ADMIN, "profile": "full-access"},
                    tenants=["dossier-acme"])
    _refused_409(scim.call("PUT", f"/Users/{anna_id}", demoted))
    _refused_409(scim.call("PATCH", f"/Users/{anna_id}", {"schemas": [PATCH_OP],
                 "Operations": [{"op": "replace", "path": f"{ACCESS_SCHEMA}:tenants",
                                 "value": ["dossier-bakery"]}]}))
    _refused_409(scim.call("DELETE", f"/Users/{anna_id}"))
    bulk = scim.call("POST", "/Bulk", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": [
            {"method": "PATCH", "path": f"/Users/{anna_id}", "data": {
                "schemas": [PATCH_OP], "Operations": [
                    {"op": "replace", "value": {"active": False}}]}}]})
    assert bulk.status_code == 200, bulk.get_json()
    (operation,) = bulk.get_json()["Operations"]
    assert operation["status"] == "409"
    assert operation["response"]["detail"].startswith(RULE)
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{anna_id}")
    assert stored["enabled"] is True
    assert stored["attributes"]["profiles"] == ["administrator"]
    assert stored["attributes"]["tenants"] == ["dossier-acme"]

    # With a second Administrator, one may go; then the other is the last.
    bob = scim.post("/Users", _user("bob.admin", **ADMIN, tenants=["dossier-acme"]))
    bob_id = bob.get_json()["id"]
    assert _deactivate(scim, anna_id).status_code == 200
    _refused_409(_deactivate(scim, bob_id))
    # A user holding no Administrator profile goes freely.
    carl = scim.post("/Users", _user("carl.viewer", **{**ADMIN, "profile": "full-access"},
                                     tenants=["dossier-acme"]))
    assert scim.call("DELETE", f"/Users/{carl.get_json()['id']}").status_code == 204


def test_an_administrator_whose_tenants_moved_behind_the_access_ref_still_counts(
        fresh_realm: RealmUnderTest) -> None:
    """A user past the catalog's ``access_budget`` keeps its tenants in
    ``access_overflow.tenants`` (the token carries ``access_ref``): it is still its dossier's
    Administrator, so it cannot go while it is the last one, and with it a second one may."""
    fresh_realm.apply([REALM_CONFIG, EXAMPLES / SEED])
    # A budget of 0 moves every user's tenants behind the reference, as hundreds would.
    catalog = load_catalog(EXAMPLES / SEED).model_copy(update={"access_budget": 0})
    backend = KeycloakScimBackend(fresh_realm.keycloak.admin(), fresh_realm.name,
                                  domain=CatalogAccess(catalog))
    scim = Scim(make_app(backend).test_client())
    anna = scim.post("/Users", _user("anna.admin", **ADMIN, tenants=["dossier-acme"]))
    assert anna.status_code == 201, anna.get_json()
    anna_id = anna.get_json()["id"]
    stored = fresh_realm.admin.get(f"/{fresh_realm.name}/users/{anna_id}")["attributes"]
    assert "tenants" not in stored and stored["access_overflow.tenants"] == ["dossier-acme"]

    _refused_409(_deactivate(scim, anna_id))
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users/{anna_id}")["enabled"] is True
    bob = scim.post("/Users", _user("bob.admin", **ADMIN, tenants=["dossier-acme"]))
    assert bob.status_code == 201, bob.get_json()
    assert _deactivate(scim, anna_id).status_code == 200
    _refused_409(_deactivate(scim, bob.get_json()["id"]))


def test_admin_calls_of_a_holder_deactivation(fresh_realm: RealmUnderTest) -> None:
    """The invariant costs a holder's deactivation two ``GET /users/count`` (its dossier's
    holders inline and behind the access reference; its lock was free) over a non-holder's,
    and nothing to any other write; a refused one counts instead of writing."""
    fresh_realm.apply([REALM_CONFIG, EXAMPLES / SEED])
    backend = KeycloakScimBackend(fresh_realm.keycloak.admin(), fresh_realm.name,
                                  domain=CatalogAccess(load_catalog(EXAMPLES / SEED)))
    scim = Scim(make_app(backend).test_client())
    ids = [scim.post("/Users", _user(name, **ADMIN, tenants=["dossier-acme"])
                     ).get_json()["id"] for name in ("anna.admin", "bob.admin")]
    viewer, warm = (scim.post("/Users", _user(name, **{**ADMIN, "profile": "full-access"},
                                              tenants=["dossier-acme"])).get_json()["id"]
                    for name in ("carl.viewer", "dana.viewer"))
    # The first write resolves the admin client's id once (cached): measure warm writes.
    assert _deactivate(scim, warm).status_code == 200
    count = "GET /{realm}/users/count"

    def calls(user_id: str, status: int) -> dict[str, int]:
        backend.gw.calls.reset()
        answer = _deactivate(scim, user_id)
        assert answer.status_code == status, answer.get_json()
        return dict(backend.gw.calls.by_kind)

    plain = calls(viewer, 200)
    assert count not in plain
    # (GET, the admin-role check, PUT: the budget of bench/scim_calls.py; with a catalog's
    # tenancy the write also reads its dossier live.)
    assert {k: v for k, v in plain.items() if "organizations" not in k} == {
        "GET /{realm}/users/{id}": 1,
        "GET /{realm}/users/{id}/role-mappings/clients/{id}/composite": 1,
        "PUT /{realm}/users/{id}": 1}
    holder = calls(ids[0], 200)
    assert holder == {**plain, count: 2}
    refused = calls(ids[1], 409)
    put = "PUT /{realm}/users/{id}"
    assert refused == {**{k: v for k, v in plain.items() if k != put}, count: 2}


# -- API and CLI ------------------------------------------------------------------------------

def test_api_and_cli_refuse_to_take_the_last_administrator_from_a_dossier(
        fresh_realm: RealmUnderTest) -> None:
    bridge = _bridge(fresh_realm, SEED)
    bridge.person("sam.staff", Assignment.of("internal", "firm-staff"))
    anna = bridge.person("anna.admin", Assignment.of(
        "external", "client-user", "administrator", tenants=["dossier-acme"]))
    token = bridge.token("sam.staff")

    for method, path, body in (
            ("POST", f"/users/{anna}/deactivate", None),
            ("PATCH", f"/users/{anna}", {"profile": "full-access"}),
            ("PATCH", f"/users/{anna}", {"tenants": ["dossier-bakery"]}),
            ("DELETE", f"/users/{anna}", None)):
        answer = bridge.call(method, path, token, body)
        assert answer.status_code == 409, (method, path, answer.get_json())
        refused = answer.get_json()
        assert refused["error"] == "tenant.invariant"
        assert (refused["invariant"], refused["tenant"]) == ("one-administrator",
                                                             "dossier-acme")
        assert refused["detail"].startswith(RULE.removeprefix("tenant.invariant: "))
    stored = bridge.user(anna)
    assert stored["enabled"] is True and stored["attributes"]["profiles"] == [
        "administrator"]

    run = bridge.cli("user", "deactivate", anna)
    assert run.exit_code == 1
    assert "tenant.invariant" in run.output and "one-administrator" in run.output
    assert bridge.user(anna)["enabled"] is True

    # A second Administrator: one may go (through the API), the other then stays.
    bob = bridge.person("bob.admin", Assignment.of(
        "external", "client-user", "administrator", tenants=["dossier-acme"]))
    assert bridge.call("POST", f"/users/{anna}/deactivate", token).status_code == 200
    assert bridge.call("DELETE", f"/users/{bob}", token).status_code == 409
    assert bridge.user(bob)["enabled"] is True


def test_the_first_user_invited_into_a_dossier_without_profile_is_its_administrator(
        fresh_realm: RealmUnderTest, mail_sink: MailSink) -> None:
    bridge = _bridge(fresh_realm, SEED)
    # A dossier made at runtime (an organization), with no member yet.
    added = bridge.cli("tenant", "add", "dossier-new", "--label", "Nouveau SA")
    assert added.exit_code == 0, added.output
    bridge.person("sam.staff", Assignment.of("internal", "firm-staff"))
    token = bridge.token("sam.staff")
    email = bridge.email("first.user")
    answer = bridge.call("POST", "/invitations", token, {
        "email": email, "status": "client-user", "tenants": ["dossier-new"],
        "first_name": "First", "last_name": "User"})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["invitation"]["profiles"] == ["administrator"]
    # The dossier has a member now: the next one invited without profile gets none.
    second = bridge.call("POST", "/invitations", token, {
        "email": bridge.email("second.user"), "status": "client-user",
        "tenants": ["dossier-new"]})
    assert second.status_code == 201, second.get_json()
    assert second.get_json()["invitation"]["profiles"] == []

    outcome = Browserless().follow_action_link(_activation_link(mail_sink.wait_for(email)),
                                               new_password=NEW_PASSWORD)
    assert outcome.page is not None
    claims = Browserless().sign_in(fresh_realm.issuer, email, NEW_PASSWORD).access_claims
    assert claims["profile"] == "administrator"
    assert claims["tenants"] == ["dossier-new"]
    assert "users.manage" in claims["permissions"]

    # Through SCIM likewise: the first user of dossier-carpentry.
    scim, _ = _scim(fresh_realm, SEED)
    created = scim.post("/Users", _user("carla.first", userType="external",
                                        status="client-user", tenants=["dossier-carpentry"]))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()[ACCESS_SCHEMA]["profiles"] == ["administrator"]
    later = scim.post("/Users", _user("carlo.later", userType="external",
                                      status="client-user", tenants=["dossier-carpentry"]))
    assert "profiles" not in later.get_json()[ACCESS_SCHEMA]


# -- two replicas, one lock server ----------------------------------------------------------

def test_two_replicas_deactivating_the_last_two_administrators_leave_one(
        fresh_realm: RealmUnderTest, lock_server: LocalPostgres) -> None:
    directory = EXAMPLES / SEED
    fresh_realm.apply([REALM_CONFIG, directory])

    def replica() -> Scim:
        settings = Settings(keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name,
                            client_id="bridge",
                            client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"],
                            lock_url=lock_server.dsn, lock_timeout=20.0,
                            catalog_path=str(directory))
        return Scim(create_app(settings, authenticate=authenticate).test_client())

    a, b = replica(), replica()
    for round_ in range(2):  # twice: whichever replica is first, one stays
        ids = [a.post("/Users", _user(f"admin{round_}.{n}", **ADMIN,
                                      tenants=[f"dossier-{'acme' if round_ else 'bakery'}"])
                      ).get_json()["id"] for n in ("one", "two")]
        first, second = ids
        answers = together([lambda i=first: _deactivate(a, i),
                             lambda i=second: _deactivate(b, i)])
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200, 409], [r.get_json() for r in answers]
        enabled = [fresh_realm.admin.get(f"/{fresh_realm.name}/users/{i}")["enabled"]
                   for i in ids]
        assert sorted(enabled) == [False, True]


def test_a_lock_taken_without_waiting_is_refused_at_once_when_held(
        lock_server: LocalPostgres) -> None:
    """What a write holding a user's lock does for a tenant's: never waits for it."""
    a = PostgresLocks(lock_server.dsn, timeout=5)
    b = PostgresLocks(lock_server.dsn, timeout=5)
    try:
        with a.hold("r/tenant/dossier-acme"):
            started = time.monotonic()
            with pytest.raises(LockTimeout), b.hold("r/tenant/dossier-acme", wait=False):
                pass
            assert time.monotonic() - started < 2  # not the 5 s timeout
            with b.hold("r/user/1"), b.hold("r/tenant/dossier-bakery", wait=False):
                pass  # free: taken at once, while holding another key
        with b.hold("r/tenant/dossier-acme", wait=False):
            pass
    finally:
        a.close()
        b.close()
