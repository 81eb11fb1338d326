"""The seed rules, checked on tokens of real logins where the first reading found them open
(issue 9, finding 11): sessions end when a change raises MFA or removes rights, no claim
shows more than ``permissions``, nothing is removed silently (a profile "for one dossier",
an IdP's GET then PUT), a restricted perimeter is never empty, and the client status of
seed 000 forbids every write.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from bridge.catalog.load import load as load_catalog
from bridge.catalog.model import Assignment
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_catalog_reconcile import _bridge as _bridge_cli
from tests.integration.test_catalog_tokens import PASSWORD, Seed
from tests.integration.test_invitations import _accounting
from tests.support.login import Browserless, FlowError, TokenError, Tokens

EXAMPLES = REALM_CONFIG / "examples"


def _edited(tmp_path: Path, example: str, edit: Any) -> str:
    """A copy of a seed's directory with ``edit(catalog_dict)`` applied; its name."""
    target = tmp_path / example
    shutil.copytree(EXAMPLES / example, target)
    path = target / "catalog.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(document["catalog"])
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return str(target)


def _refused(client: Browserless, tokens: Tokens) -> bool:
    try:
        client.refresh(tokens)
    except TokenError:
        return True
    return False


def _signed_out(client: Browserless, issuer: str) -> bool:
    """The browser's SSO session is gone: authorize shows the login page again."""
    try:
        client.authorize(issuer)
    except FlowError:
        return False
    return True


# -- seed 003: a change that raises MFA ends the sessions --------------------------------

def test_003_employee_made_technician_through_scim_must_log_in_again_with_otp(
        fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "003-childcare-technician")
    user_id = seed.user("emma.emp", userType="internal", status="employee",
                        profile="educator")
    browser = Browserless()
    before = browser.sign_in(fresh_realm.issuer, "emma.emp", PASSWORD)
    assert "login-login-config-totp" not in browser.seen  # password only

    patched = seed.scim.patch(f"/Users/{user_id}", [
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:userType", "value": "external"},
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:status", "value": "external-technician"},
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:profile",
         "value": "external-technician"}])
    assert patched.status_code == 200, patched.get_json()

    # The refresh token issued at the password-only level no longer gives any token...
    assert _refused(Browserless(), before)
    # ...and the browser's SSO session is gone: the next token needs OTP enrolment.
    assert _signed_out(browser, fresh_realm.issuer)
    after = browser.login("emma.emp", PASSWORD)
    assert "login-login-config-totp" in browser.seen
    assert after.access_claims["permissions"] == ["boards.manage", "doors.manage",
                                                  "tv.manage"]


def test_003_employee_made_technician_through_the_cli_must_log_in_again(
        fresh_realm: RealmUnderTest) -> None:
    from tests.integration.test_invitations import _bridge

    bridge = _bridge(fresh_realm, "003-childcare-technician")
    bridge.person("eve.emp", Assignment.of("internal", "employee", "educator"))
    before = Browserless().sign_in(fresh_realm.issuer, "eve.emp", PASSWORD)
    # A widening change keeps the session: the rule costs nothing when it does not fire.
    widened = bridge.cli("user", "set", bridge.email("eve.emp"), "--profile", "educator",
                         "--profile", "self-service")
    assert widened.exit_code == 0, widened.output
    before = Browserless().refresh(before)
    assert "self-service.use" in before.access_claims["permissions"]

    changed = bridge.cli("user", "set", bridge.email("eve.emp"), "--status",
                         "external-technician", "--profile", "external-technician")
    assert changed.exit_code == 0, changed.output
    assert _refused(Browserless(), before)
    browser = Browserless()
    browser.sign_in(fresh_realm.issuer, "eve.emp", PASSWORD)
    assert "login-login-config-totp" in browser.seen


def test_002_rights_removed_through_the_api_and_by_reconcile_end_the_sessions(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    from tests.integration.test_invitations import _bridge

    bridge = _bridge(fresh_realm, "002-crm-roles-toggles")
    bridge.person("pia.primary", Assignment.of("internal", "staff", "primary-administrator"))
    user_id = bridge.person("ulf.user", Assignment.of("internal", "staff", "user"))
    admin = bridge.token("pia.primary")
    before = Browserless().sign_in(fresh_realm.issuer, "ulf.user", PASSWORD)
    assert "payments.view" in before.access_claims["permissions"]

    answer = bridge.call("PATCH", f"/users/{user_id}", admin, {"toggles": ["no-payments"]})
    assert answer.status_code == 200, answer.get_json()
    assert _refused(Browserless(), before)

    # The catalog loses a permission: reconcile rewrites the user and ends its sessions.
    before = Browserless().sign_in(fresh_realm.issuer, "ulf.user", PASSWORD)
    assert "documents.view" in before.access_claims["permissions"]

    def drop_documents(catalog: dict[str, Any]) -> None:
        profile = next(p for p in catalog["profiles"] if p["name"] == "user")
        profile["grants"].remove("documents.view")

    edited = _edited(tmp_path, "002-crm-roles-toggles", drop_documents)
    applied = _bridge_cli(fresh_realm, "realm", "apply", str(REALM_CONFIG), edited)
    assert applied.exit_code == 0, applied.output
    assert "documents.view" in applied.output
    assert _refused(Browserless(), before)
    fresh = Browserless().sign_in(fresh_realm.issuer, "ulf.user", PASSWORD).access_claims
    assert "documents.view" not in fresh["permissions"]


# -- seeds 000, 002, 004: no claim shows more than the effective permissions --------------

def _no_wider_than_permissions(tokens: Tokens) -> None:
    for claims in (tokens.access_claims, tokens.id_claims):
        permissions = set(claims.get("permissions") or ())
        assert set(claims.get("roles") or ()) <= permissions, claims
        for client, access in (claims.get("resource_access") or {}).items():
            assert set(access.get("roles") or ()) <= permissions, (client, claims)


def test_000_002_004_roles_claims_never_exceed_permissions(
        fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "004-accounting-portal")
    seed.user("full.one", userType="external", status="client-user", profile="full-access",
              tenants=["dossier-bakery"])  # bakery enables no payments
    tokens = Browserless().sign_in(fresh_realm.issuer, "full.one", PASSWORD)
    assert not [p for p in tokens.access_claims["permissions"] if p.startswith("payments.")]
    _no_wider_than_permissions(tokens)


def test_002_toggle_removal_is_not_shown_by_any_claim(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "002-crm-roles-toggles")
    seed.user("staff.toggled", userType="internal", status="staff", profile="user",
              toggles=["no-payments"])
    tokens = Browserless().sign_in(fresh_realm.issuer, "staff.toggled", PASSWORD)
    assert "payments.view" not in tokens.access_claims["permissions"]
    _no_wider_than_permissions(tokens)


def test_000_removal_toggle_is_not_shown_by_any_claim(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "000-field-services")
    seed.user("client.nodl", userType="external", status="client",
              toggles=["no-report-download"],
              perimeter=[{"dimension": "project", "value": "p1"}])
    tokens = Browserless().sign_in(fresh_realm.issuer, "client.nodl", PASSWORD)
    assert "reports.download" not in tokens.access_claims["permissions"]
    _no_wider_than_permissions(tokens)


# -- seed 004: a profile "for one dossier" never drops the others -------------------------

def test_004_profile_for_one_dossier_is_refused_and_removes_nothing(
        fresh_realm: RealmUnderTest) -> None:
    bridge, admin = _accounting(fresh_realm)
    two = bridge.person("tom.two", Assignment.of(
        "external", "client-user", "document-delivery",
        tenants=["dossier-acme", "dossier-bakery"]))
    one = bridge.person("oli.one", Assignment.of(
        "external", "client-user", "document-delivery", tenants=["dossier-acme"]))

    cli = bridge.cli("user", "set", bridge.email("tom.two"), "--profile", "full-access",
                     "--tenant", "dossier-acme")
    assert cli.exit_code == 1, cli.output
    assert "profile.per-tenant" in cli.output
    kept = bridge.user(two)["attributes"]
    assert sorted(kept["tenants"]) == ["dossier-acme", "dossier-bakery"]
    assert kept["profiles"] == ["document-delivery"]

    api = bridge.call("PATCH", f"/users/{one}", admin, {"tenant": "dossier-acme",
                                                          "profile": "full-access"})
    assert api.status_code == 200, api.get_json()  # acme is its only dossier: allowed
    assert api.get_json()["user"]["tenants"] == ["dossier-acme"]

    # --tenant names the dossiers the change is for: they are added, none is removed.
    added = bridge.cli("user", "set", bridge.email("tom.two"), "--tenant", "dossier-carpentry")
    assert added.exit_code == 0, added.output
    assert sorted(bridge.user(two)["attributes"]["tenants"]) == [
        "dossier-acme", "dossier-bakery", "dossier-carpentry"]
    # Removing one is said explicitly.
    removed = bridge.cli("user", "set", bridge.email("tom.two"), "--remove-tenant",
                         "dossier-bakery")
    assert removed.exit_code == 0, removed.output
    assert sorted(bridge.user(two)["attributes"]["tenants"]) == [
        "dossier-acme", "dossier-carpentry"]
    # The profile for all its dossiers at once is what seed 004 allows.
    everywhere = bridge.cli("user", "set", bridge.email("tom.two"), "--profile",
                            "full-access")
    assert everywhere.exit_code == 0, everywhere.output
    claims = Browserless().sign_in(fresh_realm.issuer, "tom.two", PASSWORD).access_claims
    assert claims["profile"] == "full-access"
    assert claims["tenants"] == ["dossier-acme", "dossier-carpentry"]


# -- seed 003: SCIM carries every profile, and never drops facts a request does not name ---

def test_003_scim_get_then_put_keeps_every_profile(fresh_realm: RealmUnderTest) -> None:
    seed = Seed(fresh_realm, "003-childcare-technician")
    user_id = seed.user("multi.role", userType="internal", status="employee",
                        profiles=["educator", "self-service"])
    got = seed.scim.get(f"/Users/{user_id}").get_json()
    assert got[ACCESS_SCHEMA]["profiles"] == ["educator", "self-service"]

    body = {k: v for k, v in got.items() if k not in ("meta", "id", "groups")}
    put = seed.scim.put(f"/Users/{user_id}", body)
    assert put.status_code == 200, put.get_json()
    assert put.get_json()[ACCESS_SCHEMA]["profiles"] == ["educator", "self-service"]

    # A PUT without the extension does not assert it (RFC 7644 §3.5.1): facts are kept.
    core_only = {"schemas": [USER_SCHEMA], "userName": "multi.role",
                 "name": {"givenName": "Test", "familyName": "Renamed"},
                 "emails": [{"value": "multi.role@example.com", "primary": True}]}
    put = seed.scim.put(f"/Users/{user_id}", core_only)
    assert put.status_code == 200, put.get_json()
    assert put.get_json()[ACCESS_SCHEMA]["profiles"] == ["educator", "self-service"]
    assert put.get_json()[ACCESS_SCHEMA]["status"] == "employee"

    claims = seed.login("multi.role")
    assert sorted(claims["profile"]) == ["educator", "self-service"]
    assert {"attendance.manage", "self-service.use"} <= set(claims["permissions"])


# -- seed 000: a restricted status never has an empty perimeter ---------------------------

def test_000_client_without_perimeter_is_refused(fresh_realm: RealmUnderTest) -> None:
    from tests.integration.test_invitations import _bridge

    bridge = _bridge(fresh_realm, "000-field-services")
    bridge.person("ada.admin", Assignment.of("internal", "administrator"))
    admin = bridge.token("ada.admin")
    refused = bridge.call("POST", "/invitations", admin, {
        "email": bridge.email("nowhere"), "status": "client"})
    assert refused.status_code == 400, refused.get_json()
    assert refused.get_json()["error"] == "perimeter.required"

    seed = Seed(fresh_realm, "000-field-services")
    answer = seed.scim.post("/Users", {
        "schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": "no.perimeter",
        ACCESS_SCHEMA: {"userType": "external", "status": "client"}})
    assert answer.status_code == 400, answer.get_json()
    assert answer.get_json()["scimType"] == "invalidValue"
    assert "perimeter.required" in answer.get_json()["detail"]
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users", username="no.perimeter",
                                 exact="true") == []


# -- seed 000: the client status forbids every write, also those nothing grants it today ---

def test_000_client_never_holds_intervention_or_incident_writes(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    client = load_catalog(EXAMPLES / "000-field-services").status_by_name["client"]
    assert {"interventions.write", "incidents.write"} <= set(client.forbids)

    def future_toggle(catalog: dict[str, Any]) -> None:
        catalog["toggles"].append({"name": "handle-incidents", "label": "Handles incidents",
                                   "adds": ["incidents.write", "interventions.write"]})

    directory = _edited(tmp_path, "000-field-services", future_toggle)
    seed = Seed(fresh_realm, directory)  # an absolute path: the edited copy
    answer = seed.scim.post("/Users", {
        "schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": "client.writer",
        ACCESS_SCHEMA: {"userType": "external", "status": "client",
                        "toggles": ["handle-incidents"],
                        "perimeter": [{"dimension": "project", "value": "p1"}]}})
    assert answer.status_code == 400, answer.get_json()
    assert "status.forbidden-permission" in answer.get_json()["detail"]



# -- the cost: one logout call, only when the rule fires -----------------------------------

def test_catalog_scim_writes_keep_their_budgets(fresh_realm: RealmUnderTest) -> None:
    from bridge.provisioning import KeycloakScimBackend
    from bridge.provisioning.catalog_access import CatalogAccess
    from tests.integration.test_scim_support import Scim, make_app

    seed = Seed(fresh_realm, "003-childcare-technician")
    gateway = fresh_realm.keycloak.admin()
    scim = Scim(make_app(KeycloakScimBackend(gateway, fresh_realm.name,
                                             domain=CatalogAccess(seed.catalog))).test_client())
    user_id = seed.user("budget.one", userType="internal", status="employee",
                        profile="educator")

    gateway.calls.reset()
    off = scim.patch(f"/Users/{user_id}", [{"op": "replace", "path": "active",
                                            "value": False}])
    assert off.status_code == 200, off.get_json()
    # One read and one PUT, as without a catalog: no group call, no logout. (Reads that
    # recognise protected accounts are the access rules' cost, counted by bench/.)
    writes = {k: n for k, n in gateway.calls.by_kind.items() if not k.startswith("GET ")}
    assert writes == {"PUT /{realm}/users/{id}": 1}, gateway.calls.by_kind
    assert gateway.calls.by_kind["GET /{realm}/users/{id}"] == 1, gateway.calls.by_kind
    assert off.get_json()[ACCESS_SCHEMA]["profiles"] == ["educator"]

    gateway.calls.reset()
    wider = scim.patch(f"/Users/{user_id}", [{"op": "add", "path": f"{ACCESS_SCHEMA}:profiles",
                                              "value": ["self-service"]}])
    assert wider.status_code == 200, wider.get_json()
    assert wider.get_json()[ACCESS_SCHEMA]["profiles"] == ["educator", "self-service"]
    assert not [k for k in gateway.calls.by_kind if k.endswith("/logout")], \
        gateway.calls.by_kind

    gateway.calls.reset()
    narrower = scim.patch(f"/Users/{user_id}", [
        {"op": "replace", "path": f"{ACCESS_SCHEMA}:profiles", "value": ["self-service"]}])
    assert narrower.status_code == 200, narrower.get_json()
    assert sum(n for k, n in gateway.calls.by_kind.items() if k.endswith("/logout")) == 1, \
        gateway.calls.by_kind
