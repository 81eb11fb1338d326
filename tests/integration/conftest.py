"""Fixtures several integration modules share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.local.keycloak import free_port
from bridge.local.postgres import LocalPostgres


@pytest.fixture(scope="module")
def lock_server() -> Iterator[LocalPostgres]:
    """A PostgreSQL server on loopback, the lock backend replicas share (``BRIDGE_LOCK_URL``),
    one per test module."""
    server = LocalPostgres(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()
