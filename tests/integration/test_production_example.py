"""The production example (realm-config/examples/production) on a real Keycloak: it applies,
the next plan is empty and a no-change apply writes nothing; clients sign in with a password
and get exactly their perimeter; technicians cannot sign in without a one-time code. (Staff
signing in through the company's IdP: test_brokered_login.py, on the same fixture.)"""

from __future__ import annotations

import subprocess
import sys

import pytest

from bridge.catalog.mapping import expected_claims, user_state
from bridge.catalog.model import Assignment
from bridge.realm import engine
from tests.integration.test_brokered_login import (  # noqa: F401 - the fixture
    CLAIMS,
    PRODUCTION,
    Brokered,
    brokered,
)
from tests.support.login import Browserless, FlowError

PASSWORD = "A-long-enough-pass-1"


def _person(realms: Brokered, name: str, assignment: Assignment) -> str:
    """A user with a password and the catalog's groups and attributes, made directly in
    Keycloak (as an invitation leaves them once accepted)."""
    state = user_state(realms.catalog, assignment)
    user_id = realms.product.admin.post(f"/{realms.product.name}/users", {
        "username": name, "email": f"{name}@client.example", "enabled": True,
        "emailVerified": True, "firstName": "Test", "lastName": name,
        "attributes": state.attribute_lists(), "groups": sorted(state.groups),
        "credentials": [{"type": "password", "value": PASSWORD, "temporary": False}]})
    assert user_id
    return str(user_id)


def test_production_applies_and_a_no_change_apply_writes_nothing(
        brokered: Brokered) -> None:  # noqa: F811
    realm = brokered.product
    gateway = realm.keycloak.admin()
    plan = engine.plan(gateway, realm.load(), realm.name)
    assert plan.empty, [(c.kind, c.key, c.fields) for c in plan.changes]
    engine.apply(gateway, plan)
    assert not [k for k in gateway.calls.by_kind if not k.startswith("GET ")]
    kinds = {kind for kind, keys in plan.managed.items() if keys}
    assert {"identity-provider", "identity-provider-mapper", "realm-default-scopes", "flow",
            "client", "group", "mapper"} <= kinds
    result = subprocess.run(
        [sys.executable, "-m", "bridge", "realm", "apply", str(PRODUCTION), "--realm",
         realm.name], capture_output=True, text=True, env=realm.cli_env(), timeout=120,
        check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes" in result.stdout
    for secret in ("BRIDGE_CLIENT_SECRET", "HR_SCIM_CLIENT_SECRET", "STAFF_IDP_CLIENT_SECRET"):
        assert realm.env[secret] not in result.stdout + result.stderr


def test_a_client_signs_in_with_a_password_and_sees_its_perimeter(
        brokered: Brokered) -> None:  # noqa: F811
    assignment = Assignment.of("external", "client",
                               perimeter={"project": ["p1"], "site": ["s1", "s2"]})
    _person(brokered, "claire.client", assignment)
    claims = Browserless().sign_in(brokered.product.issuer, "claire.client",
                                   PASSWORD).access_claims
    assert {k: v for k, v in claims.items() if k in CLAIMS} == expected_claims(
        brokered.catalog, user_state(brokered.catalog, assignment))
    assert claims["perimeter"] == {"project": ["p1"], "site": ["s1", "s2"]}
    assert not [p for p in claims["permissions"] if p.endswith((".write", ".manage"))]


def test_a_technician_needs_a_one_time_code(brokered: Brokered) -> None:  # noqa: F811
    _person(brokered, "tom.tech", Assignment.of("external", "external-technician",
                                                profile="external-technician"))
    client = Browserless()
    tokens = client.sign_in(brokered.product.issuer, "tom.tech", PASSWORD)  # enrols OTP
    assert "login-login-config-totp" in client.seen
    assert sorted(tokens.access_claims["permissions"]) == ["boards.manage", "doors.manage"]
    with pytest.raises(FlowError, match="one-time code"):
        Browserless().sign_in(brokered.product.issuer, "tom.tech", PASSWORD)
    assert client.totp is not None
    again = Browserless().sign_in(brokered.product.issuer, "tom.tech", PASSWORD,
                                  totp=client.totp)
    assert again.access_claims["sub"] == tokens.access_claims["sub"]
