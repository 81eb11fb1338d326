"""OTP and WebAuthn policies as code on a real Keycloak: converge, drift reverted, fields
left out of the configuration kept, bad input refused."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import changes, config_with, converged, refused

POLICIES = {
    "otpPolicy": {"type": "totp", "algorithm": "HmacSHA256", "digits": 8, "period": 60,
                  "lookAheadWindow": 2, "codeReusable": False},
    "webAuthnPolicy": {"rpEntityName": "SaaS access", "signatureAlgorithms": ["ES256"],
                       "attestationConveyancePreference": "none",
                       "authenticatorAttachment": "cross-platform",
                       "userVerificationRequirement": "required", "createTimeout": 120},
    "webAuthnPasswordlessPolicy": {"rpEntityName": "SaaS access passkeys",
                                   "userVerificationRequirement": "required"},
}


def _realm(realm: RealmUnderTest) -> dict:
    return realm.admin.get(f"/{realm.name}")


def _by_hand(realm: RealmUnderTest, **changed: object) -> None:
    """An edit in the admin console: Keycloak takes a policy whole, so the console sends
    every field of both policies."""
    live = _realm(realm)
    body = {k: v for k, v in live.items() if k.startswith(("otpPolicy", "webAuthnPolicy"))}
    realm.admin.put(f"/{realm.name}", {**body, **changed})


def test_policies_converge_and_drift_is_reverted(fresh_realm: RealmUnderTest,
                                                 tmp_path: Path) -> None:
    config = config_with(tmp_path, {"policies.yaml": POLICIES})
    converged(fresh_realm, config)
    live = _realm(fresh_realm)
    assert (live["otpPolicyAlgorithm"], live["otpPolicyDigits"], live["otpPolicyPeriod"],
            live["otpPolicyLookAheadWindow"]) == ("HmacSHA256", 8, 60, 2)
    assert live["webAuthnPolicyRpEntityName"] == "SaaS access"
    assert live["webAuthnPolicySignatureAlgorithms"] == ["ES256"]
    assert live["webAuthnPolicyAuthenticatorAttachment"] == "cross-platform"
    assert live["webAuthnPolicyCreateTimeout"] == 120
    assert live["webAuthnPolicyPasswordlessRpEntityName"] == "SaaS access passkeys"
    _by_hand(fresh_realm, otpPolicyDigits=6, webAuthnPolicyRpEntityName="other")
    plan = fresh_realm.plan(config)
    assert sorted((c.kind, c.key, tuple(f.path for f in c.fields)) for c in plan.changes) == [
        ("otp-policy", "otpPolicy", ("digits",)),
        ("webauthn-policy", "webAuthnPolicy", ("rpEntityName",))]
    converged(fresh_realm, config)
    live = _realm(fresh_realm)
    assert live["otpPolicyDigits"] == 8
    assert live["webAuthnPolicyRpEntityName"] == "SaaS access"
    assert live["webAuthnPolicyPasswordlessRpEntityName"] == "SaaS access passkeys"


def test_fields_not_configured_are_kept(fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    config = config_with(tmp_path, {"policies.yaml": {"otpPolicy": POLICIES["otpPolicy"]}})
    converged(fresh_realm, config)
    _by_hand(fresh_realm, otpPolicyInitialCounter=7, webAuthnPolicyRpEntityName="by hand")
    assert changes(fresh_realm, config) == []
    converged(fresh_realm, config)
    live = _realm(fresh_realm)
    assert live["otpPolicyInitialCounter"] == 7
    assert live["webAuthnPolicyRpEntityName"] == "by hand"


def test_invalid_policy_names_file_and_key_and_nothing_is_written(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    policies = {**POLICIES, "otpPolicy": {**POLICIES["otpPolicy"], "digits": 7}}
    refused(fresh_realm, config_with(tmp_path, {"policies.yaml": policies}),
            "policies.yaml: otpPolicy.digits: Input should be 6 or 8")
    live = _realm(fresh_realm)
    assert live["otpPolicyDigits"] == 6 and live["otpPolicyAlgorithm"] == "HmacSHA1"
    assert live["webAuthnPolicyRpEntityName"] == "keycloak"
