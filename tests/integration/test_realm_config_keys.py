"""Key providers and other components as code on a real Keycloak: generated keys with
priorities, an imported key whose private key comes from ``${VAR}``, a client registration
policy; tokens are signed by the configured key; drift reverted, hand-made ones kept, the
secret never shown, bad input refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import RealmUnderTest
from tests.integration.realm_kinds import bridge, changes, config_with, converged, refused

POLICY_TYPE = "org.keycloak.services.clientregistration.policy.ClientRegistrationPolicy"
KEYS = [
    {"name": "rsa-signing-2026", "providerId": "rsa-generated",
     "config": {"priority": 200, "keySize": 2048, "algorithm": "RS256"}},
    {"name": "hmac-2026", "providerId": "hmac-generated",
     "config": {"priority": 150, "secretSize": 64, "algorithm": "HS512"}},
    {"name": "rsa-imported", "providerId": "rsa",
     "config": {"priority": 50, "privateKey": "${SIGNING_KEY_PEM}", "active": True}},
]
COMPONENTS = [
    {"name": "Trusted Hosts", "providerType": POLICY_TYPE, "subType": "anonymous",
     "providerId": "trusted-hosts",
     "config": {"trusted-hosts": ["127.0.0.1"],
                "host-sending-registration-request-must-match": True,
                "client-uris-must-match": True}},
]
TRUSTED = f"{POLICY_TYPE}/anonymous/Trusted Hosts"


def _pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _config(tmp_path: Path, keys: list[dict] = KEYS) -> Path:
    return config_with(tmp_path, {"keys.yaml": {"keys": keys, "components": COMPONENTS}})


def _providers(realm: RealmUnderTest) -> dict[str, dict]:
    return {c["name"]: c for c in realm.admin.get(
        f"/{realm.name}/components", type="org.keycloak.keys.KeyProvider")}


def _token_kid(realm: RealmUnderTest) -> str:
    response = requests.post(
        f"{realm.issuer}/protocol/openid-connect/token", timeout=30,
        data={"grant_type": "client_credentials", "client_id": "hr-system",
              "client_secret": realm.env["HR_SCIM_CLIENT_SECRET"]})
    assert response.status_code == 200, response.text
    header = response.json()["access_token"].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _kid_of(realm: RealmUnderTest, provider: str) -> str:
    component = _providers(realm)[provider]["id"]
    keys = realm.admin.get(f"/{realm.name}/keys")["keys"]
    return next(k["kid"] for k in keys if k["providerId"] == component
                and k["algorithm"] == "RS256")


def test_keys_and_components_converge_sign_tokens_and_drift_is_reverted(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    pem = _pem()
    fresh_realm.env["SIGNING_KEY_PEM"] = pem
    config = _config(tmp_path)
    result = bridge(fresh_realm, "realm", "plan", str(config), "--realm", fresh_realm.name)
    assert "BEGIN PRIVATE KEY" not in result.stdout + result.stderr
    converged(fresh_realm, config)
    providers = _providers(fresh_realm)
    assert providers["rsa-signing-2026"]["config"]["priority"] == ["200"]
    assert providers["hmac-2026"]["config"]["secretSize"] == ["64"]
    assert providers["rsa-imported"]["config"]["privateKey"] == ["**********"]
    assert "rsa-generated" in providers  # Keycloak's own, not configured, kept
    # Tokens are signed by the highest-priority RS256 key: the configured one.
    assert _token_kid(fresh_realm) == _kid_of(fresh_realm, "rsa-signing-2026")
    [trusted] = [c for c in fresh_realm.admin.get(f"/{fresh_realm.name}/components",
                                                  type=POLICY_TYPE)
                 if c["name"] == "Trusted Hosts" and c["subType"] == "anonymous"]
    assert trusted["config"]["trusted-hosts"] == ["127.0.0.1"]

    # Drift by hand: the signing key demoted, the policy widened.
    signing = providers["rsa-signing-2026"]
    fresh_realm.admin.put(f"/{fresh_realm.name}/components/{signing['id']}", {
        **signing, "config": {**signing["config"], "priority": ["10"]}})
    fresh_realm.admin.put(f"/{fresh_realm.name}/components/{trusted['id']}", {
        **trusted, "config": {**trusted["config"], "trusted-hosts": ["*"]}})
    assert _token_kid(fresh_realm) != _kid_of(fresh_realm, "rsa-signing-2026")
    plan = fresh_realm.plan(config)
    assert sorted((c.kind, c.key, tuple(f.path for f in c.fields)) for c in plan.changes) == [
        ("component", TRUSTED, ("config.trusted-hosts",)),
        ("key-provider", "rsa-signing-2026", ("config.priority",))]
    converged(fresh_realm, config)
    assert _token_kid(fresh_realm) == _kid_of(fresh_realm, "rsa-signing-2026")
    # The imported key kept its private key through the updates (never read back).
    assert _providers(fresh_realm)["rsa-imported"]["id"] == providers["rsa-imported"]["id"]


def test_hand_made_keys_are_kept_and_only_owned_ones_pruned(fresh_realm: RealmUnderTest,
                                                            tmp_path: Path) -> None:
    fresh_realm.env["SIGNING_KEY_PEM"] = _pem()
    converged(fresh_realm, _config(tmp_path))
    realm_id = fresh_realm.admin.get(f"/{fresh_realm.name}")["id"]
    fresh_realm.admin.post(f"/{fresh_realm.name}/components", {
        "name": "hand-hmac", "providerId": "hmac-generated", "parentId": realm_id,
        "providerType": "org.keycloak.keys.KeyProvider", "config": {"priority": ["5"]}})
    config = _config(tmp_path, keys=[k for k in KEYS if k["name"] != "hmac-2026"])
    assert changes(fresh_realm, config) == [("key-provider", "hmac-2026", "delete")]
    converged(fresh_realm, config)
    providers = _providers(fresh_realm)
    assert "hmac-2026" not in providers
    assert {"hand-hmac", "rsa-generated", "hmac-generated-hs512"} <= set(providers)


def test_invalid_keys_name_file_and_key_and_nothing_is_written(fresh_realm: RealmUnderTest,
                                                               tmp_path: Path) -> None:
    keys = [KEYS[0], {k: v for k, v in KEYS[1].items() if k != "providerId"}, KEYS[2]]
    refused(fresh_realm, _config(tmp_path, keys=keys),
            "keys.yaml: keys[2].config.privateKey: environment variable SIGNING_KEY_PEM "
            "is not set")
    fresh_realm.env["SIGNING_KEY_PEM"] = _pem()
    refused(fresh_realm, _config(tmp_path, keys=keys),
            "keys.yaml: keys[1].providerId: Field required")
    assert "rsa-signing-2026" not in _providers(fresh_realm)
