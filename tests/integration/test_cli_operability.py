"""The operator's CLI on a real Keycloak: a catalog the realm lacks is one line naming what
is missing (not Keycloak's bare 500), and a static token made by ``bridge scim token
create`` authenticates SCIM calls, bound to its tenant, once its line is in the settings."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from bridge.app import create_app
from bridge.cli import cli
from bridge.config import Settings
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from scim.resources import USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest

SEED_004 = REALM_CONFIG / "examples" / "004-accounting-portal"


def _cli(realm: RealmUnderTest, *args: str) -> Any:
    env = {"KEYCLOAK_URL": realm.keycloak.url, "BRIDGE_REALM": realm.name,
           "BRIDGE_CLIENT_ID": "bridge",
           "BRIDGE_CLIENT_SECRET": realm.env["BRIDGE_CLIENT_SECRET"],
           "BRIDGE_CATALOG": str(SEED_004)}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _settings(realm: RealmUnderTest, **fields: Any) -> Settings:
    return Settings(keycloak_url=realm.keycloak.url, realm=realm.name, client_id="bridge",
                    client_secret=realm.env["BRIDGE_CLIENT_SECRET"], **fields)


def _client_user(name: str, tenant: str) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
            "emails": [{"value": f"{name}@example.com", "primary": True}],
            ACCESS_SCHEMA: {"userType": "external", "status": "client-user",
                            "profile": "document-delivery", "tenants": [tenant]}}


def test_a_catalog_the_realm_lacks_is_one_line_naming_the_missing_groups(
        fresh_realm: RealmUnderTest, caplog: pytest.LogCaptureFixture) -> None:
    # realm-config/ only: seed 004's catalog was never applied to this realm.
    invited = _cli(fresh_realm, "invite", "ana@example.com", "--status", "client-user",
                   "--profile", "document-delivery", "--tenant", "dossier-acme")
    assert invited.exit_code == 1, invited.output
    # One line for the person; the refusal's audit event is a JSON line of its own.
    (line,) = [x for x in invited.stderr.splitlines() if not x.startswith("{")]
    [event] = [json.loads(x) for x in invited.stderr.splitlines() if x.startswith("{")]
    assert (event["action"], event["outcome"], event["code"]) == (
        "invitation.create", "failed", "catalog-not-applied"), event
    # The dossier is looked up first (an organization): the realm has none enabled.
    assert line.startswith(f"Error: catalog-not-applied: realm {fresh_realm.name!r} has no "
                           "organizations (the catalog's tenants)"), line
    assert "bridge realm apply realm-config <the catalog's directory>" in line
    assert "500" not in line
    # Nothing half-written: no user was left behind.
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users", email="ana@example.com",
                                 exact="true") == []

    # SCIM, with the same catalog served, names it in the log line; the client gets a 503.
    app = create_app(_settings(fresh_realm, catalog_path=str(SEED_004),
                               scim_static_tokens="hr=" + "0" * 64),
                     authenticate=lambda _header: _subject())
    answer = app.test_client().post("/scim/v2/Users", json=_client_user("sam", "dossier-acme"),
                                    headers={"Authorization": "Bearer x"})
    assert answer.status_code == 503, answer.get_json()
    assert "Traceback" not in answer.get_data(as_text=True)
    assert any(f"realm {fresh_realm.name!r} has organizations disabled"
               in record.getMessage() for record in caplog.records)


def _subject() -> Any:
    from scim.backend import Subject

    return Subject("hr-directory")


def test_a_printed_static_token_line_authenticates_scim_bound_to_its_tenant(
        fresh_realm: RealmUnderTest) -> None:
    fresh_realm.apply([REALM_CONFIG, SEED_004])
    created = _cli(fresh_realm, "scim", "token", "create", "acme-idp", "--tenant",
                   "dossier-acme")
    assert created.exit_code == 0, created.output
    token = created.stdout.splitlines()[0].removeprefix("token: ")
    name, _, value = created.stdout.splitlines()[1].partition("=")
    assert name == "BRIDGE_SCIM_STATIC_TOKENS"
    # The printed line, as the settings read it from the environment.
    settings = Settings.from_env({"KEYCLOAK_URL": fresh_realm.keycloak.url,
                                  "BRIDGE_REALM": fresh_realm.name,
                                  "BRIDGE_CLIENT_SECRET": fresh_realm.env[
                                      "BRIDGE_CLIENT_SECRET"],
                                  "BRIDGE_CATALOG": str(SEED_004), name: value})
    http = create_app(settings).test_client()
    headers = {"Authorization": f"Bearer {token}"}

    assert http.get("/scim/v2/Users", headers=headers).status_code == 200
    assert http.get("/scim/v2/Users", headers={
        "Authorization": f"Bearer {token[:-1]}x"}).status_code == 401

    mine = http.post("/scim/v2/Users", json=_client_user("acme.one", "dossier-acme"),
                     headers=headers)
    assert mine.status_code == 201, mine.get_json()
    assert mine.get_json()[ACCESS_SCHEMA]["tenants"] == ["dossier-acme"]
    # Bound to dossier-acme: another dossier is refused, and nothing is created.
    other = http.post("/scim/v2/Users", json=_client_user("bakery.one", "dossier-bakery"),
                      headers=headers)
    assert other.status_code in (400, 403), other.get_json()
    assert "scim-client.tenant" in str(other.get_json())
    assert fresh_realm.admin.get(f"/{fresh_realm.name}/users", username="bakery.one",
                                 exact="true") == []
