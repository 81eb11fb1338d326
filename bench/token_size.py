"""Access-token size for perimeters of 10, 1,000 and 10,000 entries, from real logins.

Seed 000's catalog is applied to a throwaway realm; one client user per size is created
through SCIM (so through the catalog) with that many project entries, logs in on the
portal (auth code + PKCE, scripted), and the tokens are measured. Target: access token
<= 8 KB at 10,000 entries (docs/access-catalog.md explains the strategy: inline below the
catalog's perimeter budget, a ``perimeter_ref`` the app resolves through the bridge above).

Run: python bench/token_size.py   (KEYCLOAK_URL + KEYCLOAK_ADMIN_* to use a running server,
else a local one is started and stopped)
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bridge.catalog.load import load as load_catalog  # noqa: E402
from bridge.keycloak import realm as kc_realm  # noqa: E402
from bridge.keycloak import users as kc_users  # noqa: E402
from bridge.keycloak.client import AdminGateway  # noqa: E402
from bridge.local.keycloak import LocalKeycloak, free_port  # noqa: E402
from bridge.provisioning import KeycloakScimBackend  # noqa: E402
from bridge.provisioning.access_schema import ACCESS_SCHEMA  # noqa: E402
from bridge.provisioning.catalog_access import CatalogAccess  # noqa: E402
from bridge.realm import desired, engine  # noqa: E402
from scim.resources import USER_SCHEMA  # noqa: E402
from tests.integration.test_scim_support import Scim, make_app  # noqa: E402
from tests.support.login import Browserless  # noqa: E402

SIZES = (10, 1_000, 10_000)
LIMIT = 8 * 1024
PASSWORD = "A-long-enough-pass-1"
EXAMPLE = ROOT / "realm-config" / "examples" / "000-field-services"


def measure(url: str, admin: AdminGateway) -> list[tuple[int, int, int, str]]:
    realm = f"bench-tokens-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(16),
           "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(16)}
    config = desired.load([ROOT / "realm-config", EXAMPLE], env)
    engine.apply(admin, engine.plan(admin, config, realm))
    rows = []
    try:
        backend = KeycloakScimBackend(admin, realm,
                                      domain=CatalogAccess(load_catalog(EXAMPLE)))
        scim = Scim(make_app(backend).test_client())
        for size in SIZES:
            name = f"client-{size}"
            perimeter = [{"dimension": "project", "value": f"project-{i:05d}"}
                         for i in range(size)]
            response = scim.post("/Users", {
                "schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
                "name": {"givenName": "Bench", "familyName": "Client"},
                "emails": [{"value": f"{name}@example.com", "primary": True}],
                ACCESS_SCHEMA: {"userType": "external", "status": "client",
                                "perimeter": perimeter}})
            assert response.status_code == 201, response.get_json()
            user_id = response.get_json()["id"]
            kc_users.reset_password(admin, realm, user_id, PASSWORD)
            kc_users.update(admin, realm, user_id, {"emailVerified": True})
            tokens = Browserless().sign_in(f"{url}/realms/{realm}", name, PASSWORD)
            claims = tokens.access_claims
            how = ("inline" if "perimeter" in claims
                   else f"perimeter_ref={claims.get('perimeter_ref')}")
            rows.append((size, len(tokens.access_token), len(tokens.id_token or ""), how))
    finally:
        kc_realm.delete(admin, realm)
    return rows


def main() -> int:
    url = os.environ.get("KEYCLOAK_URL")
    local = None
    if url:
        admin = AdminGateway.with_password(url, os.environ["KEYCLOAK_ADMIN_USERNAME"],
                                           os.environ["KEYCLOAK_ADMIN_PASSWORD"])
    else:
        local = LocalKeycloak(Path(tempfile.mkdtemp()), http_port=free_port(),
                              management_port=free_port())
        password = secrets.token_urlsafe(12)
        local.start("admin", password)
        url = local.url
        admin = AdminGateway.with_password(url, "admin", password)
    began = time.perf_counter()
    try:
        rows = measure(url, admin)
    finally:
        if local:
            local.stop()
    print(f"{'perimeter entries':>18} {'access token':>13} {'id token':>9}  perimeter")
    for size, access, id_token, how in rows:
        print(f"{size:>18,} {access:>12,}B {id_token:>8,}B  {how}")
    worst = max(access for _, access, _, _ in rows)
    print(f"largest access token {worst:,} bytes (limit {LIMIT:,}): "
          f"{'OK' if worst <= LIMIT else 'OVER'}; {time.perf_counter() - began:.0f}s")
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
