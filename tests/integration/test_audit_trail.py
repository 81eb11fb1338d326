"""The audit trail and the request id, on real requests against a real Keycloak.

The bridge is built as the server builds it (``create_app(Settings(...))``, seed 000's
catalog, a static SCIM token named after the catalog's ``hr-directory`` client); its log
lines are read as the process writes them (``tests.support.logs``: the bridge's own JSON
handler). Every write is one ``bridge.audit`` line with actor, action, target, outcome
(and the rule of a refusal), carrying the request id the caller sent; no secret is ever
written, whatever the flow.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from bridge.app import create_app
from bridge.catalog.load import load as load_catalog
from bridge.catalog.model import Assignment
from bridge.config import Settings
from bridge.local.keycloak import free_port
from bridge.local.processes import stop_group, wait_ready
from bridge.local.replica import BridgeReplica
from bridge.provisioning.access_schema import ACCESS_SCHEMA
from scim.resources import GROUP_SCHEMA, USER_SCHEMA
from tests.conftest import REALM_CONFIG, RealmUnderTest
from tests.integration.test_invitations import PASSWORD, REDIRECT_URI, Bridge
from tests.support.logs import CapturedLogs, captured_logs

EXAMPLE = REALM_CONFIG / "examples" / "000-field-services"
SCIM_CLIENT = "hr-directory"  # the catalog's SCIM client rule names it
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Audited:
    bridge: Bridge
    http: FlaskClient
    logs: CapturedLogs
    scim_token: str
    intruder_token: str

    def scim(self, method: str, path: str, body: Any = None, *, token: str | None = None,
             **headers: str) -> Any:
        return self.http.open(
            f"/scim/v2{path}", method=method,
            data=None if body is None else json.dumps(body),
            headers={"Authorization": f"Bearer {token or self.scim_token}",
                     "Content-Type": "application/scim+json", **headers})

    def audit(self) -> list[dict[str, Any]]:
        return self.logs.audit()


def _user(name: str, **access: Any) -> dict[str, Any]:
    return {"schemas": [USER_SCHEMA, ACCESS_SCHEMA], "userName": name,
            "password": "Never-logged-1!",
            "emails": [{"value": f"{name}@example.com", "primary": True}],
            ACCESS_SCHEMA: access or {"userType": "external", "status": "client",
                                      "perimeter": [{"dimension": "project", "value": "p1"}]}}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def audited(fresh_realm: RealmUnderTest) -> Iterator[Audited]:
    fresh_realm.apply([REALM_CONFIG, EXAMPLE])  # type: ignore[arg-type]
    scim_token, intruder_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    settings = Settings(
        keycloak_url=fresh_realm.keycloak.url, realm=fresh_realm.name, client_id="bridge",
        client_secret=fresh_realm.env["BRIDGE_CLIENT_SECRET"], catalog_path=str(EXAMPLE),
        scim_static_tokens=f"{SCIM_CLIENT}={_digest(scim_token)},"
                           f"intruder={_digest(intruder_token)}@acme")
    # DEBUG: every line any library writes is in the scan for secrets below.
    with captured_logs("DEBUG") as logs:
        http = create_app(settings).test_client()
        bridge = Bridge(fresh_realm, load_catalog(EXAMPLE), EXAMPLE, http)
        yield Audited(bridge, http, logs, scim_token, intruder_token)


def test_a_scim_create_is_one_audit_line_carrying_the_callers_request_id(
        audited: Audited) -> None:
    before = len(audited.logs.lines())
    created = audited.scim("POST", "/Users", _user("ann.audit"), **{"X-Request-Id": "abc-123"})
    assert created.status_code == 201, created.get_json()
    assert created.headers["X-Request-Id"] == "abc-123"
    user_id = created.get_json()["id"]

    [event] = audited.audit()
    assert event["request_id"] == "abc-123"
    assert (event["actor"], event["action"], event["outcome"]) == (
        f"scim:static:{SCIM_CLIENT}", "scim.user.create", "ok")
    assert event["target"] == {"id": user_id, "username": "ann.audit",
                               "email": "ann.audit@example.com"}
    assert {"time", "level", "logger", "message"} <= set(event)
    # Every line of that request carries its id, the request line included.
    request_lines = [line for line in audited.logs.lines() if line["logger"] == "bridge.request"]
    assert [(r["method"], r["path"], r["status"], r["request_id"]) for r in request_lines] == [
        ("POST", "/scim/v2/Users", 201, "abc-123")]
    # Any logger's: the bridge's, python-keycloak's, urllib3's (DEBUG here).
    during = audited.logs.lines()[before:]
    assert len(during) > 2
    assert all(line.get("request_id") == "abc-123" for line in during), during


def test_a_request_id_is_made_when_the_caller_gives_none_or_a_bad_one(
        audited: Audited) -> None:
    bad = "no spaces allowed; " + "x" * 200
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    answers = [audited.scim("GET", "/Users?count=1"),
               audited.scim("GET", "/Users?count=1", **{"X-Request-Id": bad}),
               audited.scim("GET", "/Users?count=1", traceparent=traceparent)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    made, replaced, traced = (a.headers["X-Request-Id"] for a in answers)
    assert len(made) == 32 and made != replaced and bad not in audited.logs.text
    assert len(replaced) == 32
    assert traced == "4bf92f3577b34da6a3ce929d0e0e4736"
    lines = [line for line in audited.logs.lines() if line["logger"] == "bridge.request"]
    assert [line["request_id"] for line in lines] == [made, replaced, traced]


def test_every_scim_write_is_one_audit_event_refusals_name_the_rule(
        audited: Audited) -> None:
    user_id = audited.scim("POST", "/Users", _user("bob.audit")).get_json()["id"]
    group = audited.scim("POST", "/Groups", {"schemas": [GROUP_SCHEMA],
                                             "displayName": "Auditors"})
    assert group.status_code == 201, group.get_json()
    group_id = group.get_json()["id"]
    answers = [
        audited.scim("PATCH", f"/Groups/{group_id}", {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": user_id}]}]}),
        audited.scim("PATCH", f"/Users/{user_id}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "displayName", "value": "Bob"}]}),
        audited.scim("PUT", f"/Users/{user_id}", _user("bob.audit")),
        # Refused by catalog rules: an unknown status (400), a tenant-bound client (403).
        audited.scim("POST", "/Users", _user("carl.audit", userType="external",
                                             status="partner")),
        audited.scim("POST", "/Users", _user("dan.audit"), token=audited.intruder_token),
        audited.scim("POST", "/Bulk", {"schemas": [BULK], "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "e",
             "data": _user("eve.audit")},
            {"method": "DELETE", "path": f"/Groups/{group_id}"}]}),
        audited.scim("DELETE", f"/Users/{user_id}"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 200, 400, 403, 200, 204], [
        a.get_json() for a in answers]

    events = audited.audit()
    assert [(e["action"], e["outcome"], e.get("rule")) for e in events] == [
        ("scim.user.create", "ok", None),
        ("scim.group.create", "ok", None),
        ("scim.group.patch", "ok", None),
        ("scim.user.patch", "ok", None),
        ("scim.user.replace", "ok", None),
        ("scim.user.create", "refused", "unknown.status"),
        ("scim.user.create", "refused", "scim-client.not-allowed"),
        ("scim.user.create", "ok", None),
        ("scim.group.delete", "ok", None),
        ("scim.user.delete", "ok", None),
    ]
    assert events[1]["target"] == {"id": group_id, "display_name": "Auditors"}
    assert events[5]["target"] == {"username": "carl.audit", "email": "carl.audit@example.com"}
    assert events[5]["code"] == "invalidValue"
    assert events[6]["actor"] == "scim:static:intruder"
    assert events[6]["target"]["tenant"] == "acme"
    assert events[9]["target"] == {"id": user_id}
    # One request id per request; the bulk's two operations share theirs.
    ids = [e["request_id"] for e in events]
    assert len(set(ids)) == 9 and ids[7] == ids[8]


def test_api_and_cli_writes_are_audited_and_no_secret_is_ever_logged(
        audited: Audited) -> None:
    bridge = audited.bridge
    bridge.person("ada.admin", Assignment.of("internal", "administrator"))
    access_token = bridge.token("ada.admin")
    email = bridge.email("claire.client")
    invited = audited.http.post("/api/v1/invitations", json={
        "email": email, "user_type": "external", "status": "client",
        "perimeter": {"project": ["p1"]}, "client_id": "portal",
        "redirect_uri": REDIRECT_URI}, headers={"Authorization": f"Bearer {access_token}",
                                                "X-Request-Id": "invite-1"})
    assert invited.status_code == 201, invited.get_json()
    assert invited.headers["X-Request-Id"] == "invite-1"
    user_id = invited.get_json()["invitation"]["id"]
    created = audited.scim("POST", "/Users", _user("fay.audit"))
    assert created.status_code == 201

    [invite] = [e for e in audited.audit() if e["action"] == "invitation.create"]
    assert (invite["actor"], invite["action"], invite["outcome"], invite["result"]) == (
        "user:ada.admin", "invitation.create", "ok", "invited")
    assert invite["target"] == {"id": user_id, "email": email}
    assert invite["request_id"] == "invite-1"

    # The operator CLI: its audit line is a JSON line on its stderr.
    result = bridge.cli("user", "deactivate", email)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stderr.splitlines()
             if line.startswith("{")]
    cli_events = [line for line in lines if line["logger"] == "bridge.audit"]
    assert [(e["actor"], e["action"], e["outcome"], e["target"]["id"]) for e in cli_events] == [
        ("operator:cli:bridge", "user.deactivate", "ok", user_id)]

    written = audited.logs.text + result.stderr + result.stdout
    assert "invitation.create" in written and "scim.user.create" in written
    for secret in (bridge.realm.env["BRIDGE_CLIENT_SECRET"], audited.scim_token,
                   audited.intruder_token, access_token, PASSWORD, "Never-logged-1!"):
        assert secret not in written
    assert "Bearer" not in written


def test_under_gunicorn_every_line_is_json_and_the_audit_line_carries_the_request_id(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    """The production server as the image runs it (``bridge.local.replica``: gunicorn with
    the image's ``--config``): its own lines, the request lines and the audit trail."""
    token = secrets.token_urlsafe(24)
    env = {"KEYCLOAK_URL": fresh_realm.keycloak.url, "BRIDGE_REALM": fresh_realm.name,
           "BRIDGE_CLIENT_ID": "bridge",
           "BRIDGE_CLIENT_SECRET": fresh_realm.env["BRIDGE_CLIENT_SECRET"],
           "BRIDGE_SCIM_STATIC_TOKENS": f"{SCIM_CLIENT}={_digest(token)}"}
    log = tmp_path / "replica.log"
    with BridgeReplica("logs", free_port(), env, log) as replica:
        created = requests.post(f"{replica.url}/scim/v2/Users", json={
            "schemas": [USER_SCHEMA], "userName": "gus.gunicorn"}, timeout=30,
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "abc-123",
                     "Content-Type": "application/scim+json"})
        assert created.status_code == 201, created.text
        assert created.headers["X-Request-Id"] == "abc-123"
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert {"gunicorn.error", "bridge.request", "bridge.audit"} <= loggers, loggers
    [event] = [line for line in lines if line["logger"] == "bridge.audit"]
    assert (event["action"], event["outcome"], event["request_id"], event["actor"]) == (
        "scim.user.create", "ok", "abc-123", f"scim:static:{SCIM_CLIENT}")
    assert event["target"] == {"id": created.json()["id"], "username": "gus.gunicorn"}
    assert token not in log.read_text()
    assert fresh_realm.env["BRIDGE_CLIENT_SECRET"] not in log.read_text()


def test_bridge_serve_as_dev_up_runs_it_writes_json_lines_on_its_output(
        fresh_realm: RealmUnderTest, tmp_path: Path) -> None:
    """``./dev up`` serves the bridge in its own process (``bridge dev`` → the server of
    ``bridge serve``): what the server writes on stderr is what the person reads. The
    request and audit lines are JSON there, with the caller's request id."""
    token = secrets.token_urlsafe(24)
    port = free_port()
    env = {**os.environ, "KEYCLOAK_URL": fresh_realm.keycloak.url,
           "BRIDGE_REALM": fresh_realm.name, "BRIDGE_CLIENT_ID": "bridge",
           "BRIDGE_CLIENT_SECRET": fresh_realm.env["BRIDGE_CLIENT_SECRET"],
           "BRIDGE_SCIM_STATIC_TOKENS": f"dev={_digest(token)}"}
    output = tmp_path / "serve.out"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--port", str(port)], env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{url}/healthz", timeout=2).status_code == 200
        return False

    try:
        wait_ready(process, healthy, what="bridge serve", wait=60, stop=lambda: None,
                   exited=lambda code: f"exited {code}: {output.read_text()[-500:]}")
        created = requests.post(f"{url}/scim/v2/Users", json={
            "schemas": [USER_SCHEMA], "userName": "dev.up"}, timeout=30,
            headers={"Authorization": f"Bearer {token}", "X-Request-Id": "dev-up-1",
                     "Content-Type": "application/scim+json"})
        assert created.status_code == 201, created.text
    finally:
        stop_group(process, signal.SIGTERM, wait=15)
    lines = [json.loads(line) for line in output.read_text().splitlines()
             if line.startswith("{")]
    [event] = [line for line in lines if line["logger"] == "bridge.audit"]
    assert (event["action"], event["outcome"], event["request_id"]) == (
        "scim.user.create", "ok", "dev-up-1")
    assert any(line["logger"] == "bridge.request" and line["request_id"] == "dev-up-1"
               and line["status"] == 201 for line in lines), lines
    assert token not in output.read_text()
