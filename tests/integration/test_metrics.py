"""``/metrics`` on real requests: ``bridge serve`` (gunicorn) on a realm of the real Keycloak,
a SCIM create and a write the catalog refuses, then what a scraper reads."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import requests

from bridge.provisioning.access_schema import ACCESS_SCHEMA
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.support.metrics import samples
from tests.support.serve import serving

EXAMPLE = REALM_CONFIG / "examples" / "000-field-services"
TOKEN = "metrics-test-static-token"
SCIM = "application/scim+json"


def _env(realm: RealmUnderTest) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BRIDGE_", "GUNICORN_", "PROMETHEUS_"))}
    return {**env, "KEYCLOAK_URL": realm.keycloak.url, "BRIDGE_REALM": realm.name,
            "BRIDGE_CLIENT_SECRET": realm.env["BRIDGE_CLIENT_SECRET"],
            "BRIDGE_CATALOG": str(EXAMPLE),
            "BRIDGE_SCIM_STATIC_TOKENS": f"hr={hashlib.sha256(TOKEN.encode()).hexdigest()}"}


def _user(name: str, **access: str) -> dict[str, object]:
    return {"schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
            "emails": [{"value": f"{name}@example.com", "primary": True}],
            ACCESS_SCHEMA: access}


def test_a_scim_create_shows_in_metrics(fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    fresh_realm.apply([REALM_CONFIG, EXAMPLE])
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": SCIM}
    with serving(_env(fresh_realm), tmp_path / "bridge.log") as (url, _):
        created = requests.post(f"{url}/scim/v2/Users", headers=headers, timeout=30, json=_user(
            "metrics.admin", userType="internal", status="administrator"))
        assert created.status_code == 201, created.text
        refused = requests.post(f"{url}/scim/v2/Users", headers=headers, timeout=30,
                                json=_user("metrics.wizard", userType="internal",
                                           status="wizard"))
        assert refused.status_code == 400, refused.text
        text = requests.get(f"{url}/metrics", timeout=10).text
    found = samples(text)

    def value(name: str, **labels: str) -> float:
        return found.get((name, tuple(sorted(labels.items()))), 0)

    assert value("bridge_http_requests_total", route="/scim/v2/Users", method="POST",
                 status="201") == 1
    assert value("bridge_http_requests_total", route="/scim/v2/Users", method="POST",
                 status="400") == 1
    assert value("bridge_http_request_duration_seconds_count", route="/scim/v2/Users",
                 method="POST") == 2
    # The create's admin call, by kind (the user and its catalog groups in one call); the
    # refused write reached no admin call.
    assert value("bridge_keycloak_admin_calls_total", method="POST",
                 route="/{realm}/users") == 1
    assert value("bridge_catalog_refusals_total", rule="unknown.status") == 1
    # Nothing of the user, the realm or a secret.
    user_id = created.json()["id"]
    for private in (user_id, "metrics.admin", "example.com", fresh_realm.name, TOKEN,
                    fresh_realm.env["BRIDGE_CLIENT_SECRET"]):
        assert private not in text, private
