"""Test harness: one real Keycloak per session, one throwaway realm per writing test.

``KEYCLOAK_URL`` (+ ``KEYCLOAK_ADMIN_USERNAME``/``KEYCLOAK_ADMIN_PASSWORD``) points the
session at a Keycloak already running; otherwise the pinned distribution is started on free
loopback ports with a fresh database and stopped at the end. Unit tests never touch it.
"""

from __future__ import annotations

import functools
import os
import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from bridge.keycloak import realm as kc_realm
from bridge.keycloak.client import AdminGateway
from bridge.local.keycloak import VERSION_OVERRIDE, LocalKeycloak, free_port, keycloak_version
from bridge.local.mailsink import MailSink
from bridge.realm import desired, engine
from tests.support.progress import terminal_progress

ROOT = Path(__file__).resolve().parent.parent
REALM_CONFIG = ROOT / "realm-config"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests under tests/integration are integration tests, under tests/cluster the
    production-shape suite, the rest unit tests."""
    for item in items:
        parts = Path(str(item.fspath)).relative_to(ROOT / "tests").parts
        if parts[0] == "integration":
            item.add_marker(pytest.mark.integration)
        elif parts[0] == "cluster":
            item.add_marker(pytest.mark.cluster)
        elif not item.get_closest_marker("integration"):
            item.add_marker(pytest.mark.unit)


@dataclass(frozen=True)
class KeycloakUnderTest:
    url: str
    admin_username: str
    admin_password: str
    local: LocalKeycloak | None = None

    def admin(self) -> AdminGateway:
        return AdminGateway.with_password(self.url, self.admin_username, self.admin_password)

    @functools.cached_property
    def server_info(self) -> dict[str, Any]:
        """The server's own description (``GET /admin/serverinfo``): release, features,
        themes. Read once per session, with a master admin token."""
        token = requests.post(
            f"{self.url}/realms/master/protocol/openid-connect/token",
            data={"grant_type": "password", "client_id": "admin-cli",
                  "username": self.admin_username, "password": self.admin_password},
            timeout=30)
        token.raise_for_status()
        info = requests.get(f"{self.url}/admin/serverinfo", timeout=30, headers={
            "Authorization": f"Bearer {token.json()['access_token']}"})
        info.raise_for_status()
        return info.json()

    @property
    def version(self) -> str:
        """The release the server under test runs (its server info), e.g. "26.7.5"."""
        return str(self.server_info["systemInfo"]["version"])

    @functools.cached_property
    def serves_project_themes(self) -> bool:
        """Whether this server has the project's ``bridge`` login and e-mail themes
        (themes/, given by ``bridge keycloak start``); a server started without them shows
        Keycloak's own pages and mails (realm-config selects ``bridge``, Keycloak falls
        back)."""
        themes = self.server_info.get("themes", {})
        return all(any(t.get("name") == "bridge" for t in themes.get(kind, []))
                   for kind in ("login", "email"))


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory,
             pytestconfig: pytest.Config) -> Iterator[KeycloakUnderTest]:
    url = os.environ.get("KEYCLOAK_URL")
    if url:
        running = KeycloakUnderTest(url.rstrip("/"), os.environ["KEYCLOAK_ADMIN_USERNAME"],
                                    os.environ["KEYCLOAK_ADMIN_PASSWORD"])
        wanted = os.environ.get(VERSION_OVERRIDE)
        if wanted and running.version != keycloak_version():
            pytest.exit(f"{VERSION_OVERRIDE}={wanted} but KEYCLOAK_URL={url} runs "
                        f"{running.version}: unset KEYCLOAK_URL to test {wanted}", returncode=4)
        yield running
        return
    local = LocalKeycloak(state_dir=tmp_path_factory.mktemp("keycloak"),
                          http_port=free_port(), management_port=free_port())
    password = secrets.token_urlsafe(18)
    # The download, the build and the start take from 20 s to minutes: say so on the
    # terminal as it goes (BRIDGE_KEYCLOAK_VERSION picks another release than the pinned).
    say = terminal_progress(pytestconfig, prefix=f"[keycloak {keycloak_version()}] ")
    local.start("admin", password, log=say)
    try:
        yield KeycloakUnderTest(local.url, "admin", password, local)
    finally:
        local.stop()


@pytest.fixture(scope="session")
def admin(keycloak: KeycloakUnderTest) -> AdminGateway:
    return keycloak.admin()


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    with MailSink(smtp_port=0) as sink:
        yield sink


@dataclass
class RealmUnderTest:
    """A fresh realm built from a configuration directory, and the secrets it was given."""

    name: str
    config_dir: Path
    env: dict[str, str]
    keycloak: KeycloakUnderTest
    admin: AdminGateway
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return f"{self.keycloak.url}/realms/{self.name}"

    def load(self, directory: Path | None = None) -> desired.RealmConfig:
        return desired.load(directory or self.config_dir, self.env)

    def plan(self, directory: Path | None = None) -> engine.Plan:
        return engine.plan(self.admin, self.load(directory), self.name)

    def apply(self, directory: Path | None = None) -> engine.Plan:
        the_plan = self.plan(directory)
        engine.apply(self.admin, the_plan)
        return the_plan

    def cli_env(self) -> dict[str, str]:
        """Environment for running ``bridge`` against this realm in a subprocess."""
        return {**os.environ, **self.env, "KEYCLOAK_URL": self.keycloak.url,
                "KEYCLOAK_ADMIN_USERNAME": self.keycloak.admin_username,
                "KEYCLOAK_ADMIN_PASSWORD": self.keycloak.admin_password}


def realm_env(mail_sink: MailSink) -> dict[str, str]:
    return {
        "BRIDGE_CLIENT_SECRET": secrets.token_urlsafe(24),
        "HR_SCIM_CLIENT_SECRET": secrets.token_urlsafe(24),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail_sink.smtp_port),
        "SMTP_FROM": "no-reply@bridge.test",
        "PORTAL_URL": "http://127.0.0.1:3000",
    }


@pytest.fixture
def fresh_realm(keycloak: KeycloakUnderTest, admin: AdminGateway,
                mail_sink: MailSink) -> Iterator[RealmUnderTest]:
    """A throwaway realm applied from realm-config/, deleted afterwards."""
    realm = RealmUnderTest(f"t-{uuid.uuid4().hex[:10]}", REALM_CONFIG, realm_env(mail_sink),
                           keycloak, admin)
    realm.apply()
    try:
        yield realm
    finally:
        kc_realm.delete(admin, realm.name)
