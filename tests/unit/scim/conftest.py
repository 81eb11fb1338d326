"""Fixtures for the SCIM protocol tests: a fresh app over the memory backend per test."""

from __future__ import annotations

import pytest
from flask import Flask
from scim_helpers import Scim, make_app

from bridge.provisioning.access_schema import ACCESS_RESOURCES
from bridge.provisioning.tenancy import AccessTenancy
from scim.memory import MemoryBackend
from scim.settings import ScimSettings


@pytest.fixture
def backend() -> MemoryBackend:
    # The protocol layer knows neither the access extension nor a tenancy rule: the
    # bridge registers both, as in production.
    return MemoryBackend(tenancy=AccessTenancy(), resources=ACCESS_RESOURCES)


@pytest.fixture
def settings() -> ScimSettings:
    return ScimSettings()


@pytest.fixture
def app(backend: MemoryBackend, settings: ScimSettings) -> Flask:
    return make_app(backend, settings)


@pytest.fixture
def scim(app: Flask) -> Scim:
    return Scim(app.test_client())
