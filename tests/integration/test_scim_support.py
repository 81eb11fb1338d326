"""Shared fixtures and helpers of the SCIM-over-Keycloak integration tests (no tests here).

Each test gets a throwaway realm (``fresh_realm``), its own admin gateway (so that
``gateway.calls`` counts only that test's calls), a :class:`KeycloakScimBackend` and a
Flask app serving it at ``/scim/v2`` with a trivial authenticator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bridge.keycloak.client import AdminGateway
from bridge.provisioning import KeycloakScimBackend
from bridge.provisioning.audited import AuditedScimBackend
from scim.backend import Subject
from scim.blueprint import create_scim_blueprint
from scim.settings import ScimSettings
from tests.conftest import RealmUnderTest
from tests.unit.scim.scim_helpers import (  # noqa: F401 - re-exported to the SCIM tests
    ACCESS,
    AUTH,
    BASE,
    ENTERPRISE,
    ERROR,
    GROUP_SCHEMA,
    PATCH_OP,
    SAMPLES,
    TOKEN,
    USER_SCHEMA,
)
from tests.unit.scim.scim_helpers import Scim as ProtocolScim

TENANT_A = "tenant-a-token"
TENANT_B = "tenant-b-token"


def authenticate(header: str | None) -> Subject | None:
    if header == f"Bearer {TOKEN}":
        return Subject("test-client")
    if header == f"Bearer {TENANT_A}":
        return Subject("tenant-a-client", tenant="tenant-a")
    if header == f"Bearer {TENANT_B}":
        return Subject("tenant-b-client", tenant="tenant-b")
    return None


def make_app(backend: KeycloakScimBackend, settings: ScimSettings | None = None) -> Flask:
    """The SCIM surface as ``create_app`` builds it (every write audited), over ``backend``."""
    app = Flask(__name__)
    app.register_blueprint(create_scim_blueprint(AuditedScimBackend(backend), authenticate,
                                                 settings=settings))
    return app


def sample(name: str, **ids: str) -> Any:
    text = (SAMPLES / name).read_text()
    for key, value in ids.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


class Scim(ProtocolScim):
    """The protocol tests' client, with a token of choice and group attributes."""

    def __init__(self, client: FlaskClient, token: str = TOKEN) -> None:
        super().__init__(client, {"Authorization": f"Bearer {token}"})

    def as_token(self, token: str) -> Scim:
        return Scim(self.client, token)

    def call(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        return self._call(method, path, body, **headers)

    def create_group(self, name: str, **attributes: Any) -> dict[str, Any]:  # type: ignore[override]
        response = self.post("/Groups", {"schemas": [GROUP_SCHEMA], "displayName": name,
                                         **attributes})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


def assert_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


@dataclass
class ScimOnKeycloak:
    realm: RealmUnderTest
    gateway: AdminGateway
    backend: KeycloakScimBackend
    app: Flask
    scim: Scim

    @property
    def base(self) -> str:
        return f"/{self.realm.name}"

    def calls(self) -> int:
        return self.gateway.calls.total


@pytest.fixture
def scim_env(fresh_realm: RealmUnderTest) -> Iterator[ScimOnKeycloak]:
    """Use as ``env = scim_env`` in a test module (a fixture under another name)."""
    gateway = fresh_realm.keycloak.admin()
    # realm-config has editUsernameAllowed: false, under which Keycloak refuses even an
    # administrator's rename; SCIM clients rename users (Entra on a UPN change).
    gateway.put(f"/{fresh_realm.name}", {"editUsernameAllowed": True})
    backend = KeycloakScimBackend(gateway, fresh_realm.name)
    app = make_app(backend)
    yield ScimOnKeycloak(fresh_realm, gateway, backend, app, Scim(app.test_client()))
